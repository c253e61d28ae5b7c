"""What the pair agreement (app/agreements.py) and the circle agreement (app/circle_agreements.py) share:
versions, of which at most one is in force (`active`) and at most one awaits confirmation (`draft`),
and the same problems when a draft's end date has passed or a version cannot be confirmed. Who must
confirm, and what a version holds, differ and stay in those modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from bridge_shared.errors import Problem


class _Version(Protocol):
    @property
    def status(self) -> str: ...


A = TypeVar("A", bound=_Version)


@dataclass(frozen=True, slots=True)
class AgreementVersions(Generic[A]):
    active: A | None
    pending: A | None
    history: list[A]


def versions_of(rows: list[A]) -> AgreementVersions[A]:
    """`rows`: every version, in the order the history is shown."""
    return AgreementVersions(
        active=next((a for a in rows if a.status == "active"), None),
        pending=next((a for a in rows if a.status == "draft"), None),
        history=rows,
    )


def draftable_end(refusal: str | None) -> None:
    """422 on the `end_date` field when the end date drafted is not after today for everyone."""
    if refusal is not None:
        errors = [{"field": "end_date", "message": refusal}]
        raise Problem(422, "End date in the past", refusal, errors=errors)


def awaiting_confirmation(row: A | None, version: int) -> A:
    """The version; 404 if there is none, 409 unless it is the pending one."""
    if row is None:
        raise Problem(404, "Agreement version not found")
    if row.status != "draft":
        raise Problem(
            409,
            "Not awaiting confirmation",
            f"Version {version} is {row.status}; only the pending version can be confirmed.",
        )
    return row


def confirmable_end(version: int, refusal: str | None) -> None:
    """409 when the pending version's end date has passed since it was drafted (a draft can wait)."""
    if refusal is not None:
        raise Problem(
            409,
            "End date has passed",
            f"Version {version} cannot be confirmed: {refusal}. Draft it again with a later end date.",
        )
