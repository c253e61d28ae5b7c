"""Privacy rules of matching that need no database (docs/privacy.md): the ledger's keyed hash, what an
erased participant row becomes, who a person is in matching's tables (enrolments and directory
entries), scrubbing them out of stored text, and an export's directory entries and summary page."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import html
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bridge_matching.domain.directory import DirectoryRow
from bridge_matching.domain.rows import ParticipantRow
from bridge_shared.contracts.privacy import ANSWERING_SERVICES
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_ID, ERASED_NAME
from bridge_shared.privacy.redaction import needles_for, redact, redact_json

SERVICES = ("matching", *ANSWERING_SERVICES)
"""Every service that holds personal data: an erasure is complete when each has answered."""

ERASED_EMPLOYEE_PREFIX = "erased-"


def subject_hash(pepper: bytes, employee_id: str) -> str:
    """The erasure ledger's key for a person: HMAC-SHA256(pepper, lower-cased employee id), hex.

    Employee ids compare case-insensitively (`A1` and `a1` are one person), so the ledger
    hashes the lower-cased id: erasing `a1` refuses a later enrolment of `A1`."""
    return hmac.new(pepper, employee_id.lower().encode(), hashlib.sha256).hexdigest()


def erased_employee_id(participant_id: uuid.UUID) -> str:
    """What an erased participant row's employee id becomes (unique per cohort, names nobody)."""
    return f"{ERASED_EMPLOYEE_PREFIX}{participant_id}"


ANONYMOUS_PROFILE = {"display_name": ERASED_NAME, "email": ERASED_EMAIL}


@dataclass(frozen=True, slots=True)
class Identity:
    """What identifies a person in matching's tables: every spelling of their name and e-mail (one
    per cohort enrolment and directory entry), their employee id, and the identity provider's user
    name and id for them (`others`, from their directory entry)."""

    employee_ids: tuple[str, ...]
    names: tuple[str, ...]
    emails: tuple[str, ...]
    others: tuple[str, ...] = ()
    words: bool = True
    """Also each word of a name (a first name alone names the person): right where people know them
    (their cohorts); elsewhere only the full name, e-mail and id, so a common first name is not
    blanked out of everyone's text."""

    @property
    def needles(self) -> list[str]:
        if self.words:
            return needles_for(*self.names, *self.emails, *self.employee_ids, *self.others)
        values = (*self.names, *self.emails, *self.employee_ids, *self.others)
        exact = {v.strip() for v in values if v and v.strip()}
        return sorted(exact, key=len, reverse=True)

    def exact(self) -> Identity:
        return dataclasses.replace(self, words=False)

    def is_actor(self, actor: str | None) -> bool:
        return actor is not None and actor.casefold() in {e.casefold() for e in self.employee_ids}


def identity_of(
    employee_id: str, people: Sequence[ParticipantRow], entries: Sequence[DirectoryRow]
) -> Identity:
    """The person's identity from their enrolments and their directory entries (deleted ones too)."""

    def texts(key: str) -> set[str]:
        return {v for e in entries if isinstance(v := e.record.get(key), str) and v}

    # Given and family name together only: a first name alone is a word of a name (`Identity.words`).
    given_family = {
        f"{given} {family}"
        for e in entries
        if isinstance(given := e.record.get("given_name"), str)
        and isinstance(family := e.record.get("family_name"), str)
        and given
        and family
    }
    return Identity(
        employee_ids=(employee_id,),
        names=tuple(sorted({p.display_name for p in people} | texts("display_name") | given_family)),
        emails=tuple(sorted({p.email for p in people} | texts("email"))),
        others=tuple(sorted(texts("user_name") | texts("external_id"))),
    )


def scrub(value: Any, identity: Identity) -> Any:  # Any: a text, a list of texts or a JSON document
    """`value` with the person's name, e-mail and employee id replaced (`redact`)."""
    needles = identity.needles
    if value is None:
        return None
    if isinstance(value, str):
        return redact(value, needles)
    return redact_json(value, needles)


def scrub_actor(actor: str | None, identity: Identity) -> str | None:
    """An actor column: the person themself becomes `erased`."""
    return ERASED_ID if identity.is_actor(actor) else actor


def like_patterns(identity: Identity) -> list[str]:
    """ILIKE patterns that find every text a needle may be in (a superset; `scrub` is exact)."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    return [f"%{esc(n)}%" for n in identity.needles]


# -- export ---------------------------------------------------------------------------------------


def directory_view(row: DirectoryRow) -> dict[str, Any]:  # Any: JSON values
    """A directory entry as an export shows it: what the company said about the person (the record as
    written) and the entry's state."""
    status = "deleted" if row.deleted_at is not None else "left" if row.left_at is not None else "live"
    return {
        "id": str(row.id),
        "status": status,
        "record": row.record,
        "left_at": iso(row.left_at),
        "left_cause": row.left_cause,
        "deleted_at": iso(row.deleted_at),
        "source": row.source,
        "version": row.version,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def export_status(answered: Sequence[str]) -> str:
    return "complete" if set(ANSWERING_SERVICES) <= set(answered) else "pending"


def summary_html(document: Mapping[str, Any]) -> str:  # Any: the export document (JSON)
    """A readable page of an export: each service's `summary` sentences, everything escaped."""
    person = document.get("person") or {}
    e = html.escape
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Your data in Bridge</title></head><body>',
        "<h1>What Bridge holds about you</h1>",
        f"<p>Export {e(str(document.get('export_id', '')))}, generated "
        f"{e(str(document.get('generated_at', '')))}.</p>",
        f"<p>{e(str(person.get('display_name', '')))} &lt;{e(str(person.get('email', '')))}&gt;, "
        f"employee id {e(str(person.get('employee_id', '')))}</p>",
    ]
    services = document.get("services") or {}
    for name in SERVICES:
        section = services.get(name) or {}
        out.append(f"<h2>{e(name)}</h2>")
        sentences = section.get("summary") or []
        if not isinstance(sentences, list) or not sentences:
            out.append("<p>Nothing held.</p>")
            continue
        out.append("<ul>")
        out.extend(f"<li>{e(str(s))}</li>" for s in sentences)
        out.append("</ul>")
    out.append("<p>The complete, machine-readable document is the JSON export.</p></body></html>")
    return "\n".join(out)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def jsonable(value: Any) -> Any:  # Any: rows as dicts, lists and scalars -> JSON values
    """Rows as JSON: ids as strings, datetimes and dates in ISO 8601."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
