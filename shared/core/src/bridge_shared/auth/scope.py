"""The one region-scoping rule every service applies (docs/access.md), as small pure functions.

1. `hr_admin` sees and changes everything.
2. A **person** is in an `hr_regional`'s scope iff their home region is one of the token's regions
   (`sees_person`); out of scope is 404 on direct access and left out of lists.
3. A **shared record** between people (pair, relationship, sessions, ...) is visible iff at least one
   of its people is in scope (`sees_shared`); the out-of-scope partner is shown redacted.
4. A **cohort** is visible iff one of its regions is in scope; cohort-wide changes need every region
   (`manages_all`, `ensure_manages_all`: 403 naming the missing regions).
5. Aggregates cover only in-scope regions (`region_filter`: the regions to filter on in SQL).
6. A participant sees their own data (`is_self`).
7. `service` is read-only (`is_reader_only`, `ensure_writer`; routers add
   `bridge_shared.auth.roles.refuse_reader_writes`).
8. Secrets are never returned (`secret_view`: `{"set": true, "host": ...}`).

These functions take the `Principal` and plain values and import no web framework, so `domain/`,
`app/` and `api/` can all use them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict
from urllib.parse import urlsplit

from bridge_shared.auth.principal import Principal, Role
from bridge_shared.errors import Problem

__all__ = [
    "READ_METHODS",
    "SERVICE_WRITES",
    "WRITE_ROLES",
    "SecretView",
    "ensure_manages_all",
    "ensure_writer",
    "is_admin",
    "is_hr",
    "is_reader_only",
    "is_regional",
    "is_self",
    "manages_all",
    "missing_regions",
    "reads_globally",
    "region_filter",
    "secret_view",
    "sees_person",
    "sees_region",
    "sees_shared",
    "service_writes",
]

WRITE_ROLES = frozenset({Role.HR_ADMIN, Role.HR_REGIONAL, Role.PARTICIPANT, Role.PRIVACY_OFFICER})
"""Roles that may call a non-GET endpoint at all (the use case still checks scope)."""

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SERVICE_WRITES = "x-bridge-service-writes"
"""OpenAPI extension a route sets (with a sentence saying why) to let `service` tokens write to it."""


def is_admin(p: Principal) -> bool:
    return Role.HR_ADMIN in p.roles


def is_regional(p: Principal) -> bool:
    """Regional HR and nothing broader (an admin who also holds hr_regional is an admin)."""
    return Role.HR_REGIONAL in p.roles and not is_admin(p)


def is_hr(p: Principal) -> bool:
    """HR of any kind, or an internal system reading as HR does."""
    return bool(p.roles & {Role.HR_ADMIN, Role.HR_REGIONAL, Role.SERVICE})


def is_reader_only(p: Principal) -> bool:
    """A `service` token (or any token without a writing role): GET/HEAD only."""
    return not (p.roles & WRITE_ROLES)


def reads_globally(p: Principal) -> bool:
    """hr_admin and service read every region (service only reads)."""
    return is_admin(p) or Role.SERVICE in p.roles


def is_self(p: Principal, employee_id: str | None) -> bool:
    return employee_id is not None and Role.PARTICIPANT in p.roles and p.subject == employee_id


def sees_region(p: Principal, region: str | None) -> bool:
    """Whether `region` is in the caller's HR scope. Rows with no known region: global readers only."""
    if reads_globally(p):
        return True
    return region is not None and Role.HR_REGIONAL in p.roles and region in p.regions


def sees_person(p: Principal, region: str | None, employee_id: str | None = None) -> bool:
    """Rule 2: a person whose home region is `region` (the person themself always sees their own)."""
    return is_self(p, employee_id) or sees_region(p, region)


def sees_shared(p: Principal, regions: Iterable[str | None], employee_ids: Iterable[str | None] = ()) -> bool:
    """Rule 3: a record shared by people with these home regions (and employee ids): visible iff the
    caller is one of them or at least one of them is in the caller's scope. Rule 4 (a cohort is
    visible iff one of its regions is in scope) is the same test over the cohort's regions."""
    return any(is_self(p, e) for e in employee_ids) or any(sees_region(p, r) for r in regions)


def missing_regions(p: Principal, regions: Iterable[str]) -> list[str]:
    """The regions of `regions` the caller does not manage (all of them for service and participants)."""
    if is_admin(p):
        return []
    mine = p.regions if Role.HR_REGIONAL in p.roles else frozenset()
    return sorted({r for r in regions if r not in mine})


def manages_all(p: Principal, regions: Iterable[str]) -> bool:
    """Rule 4: cohort-wide changes need every region in scope (service never writes)."""
    if is_reader_only(p):
        return False
    if is_admin(p):
        return True
    return Role.HR_REGIONAL in p.roles and not missing_regions(p, regions)


def ensure_writer(p: Principal) -> None:
    """Rule 7: 403 for read-only callers (service tokens)."""
    if is_reader_only(p):
        raise Problem(403, "Forbidden", "This token is read-only (role service): it may only read.")


def ensure_manages_all(p: Principal, regions: Iterable[str], what: str = "This change") -> None:
    """403 unless the caller manages every one of `regions` (rule 4), naming the missing ones."""
    ensure_writer(p)
    regions = list(regions)
    if not (is_admin(p) or Role.HR_REGIONAL in p.roles):
        raise Problem(403, "Forbidden", "This action needs one of the roles: hr_admin, hr_regional.")
    missing = missing_regions(p, regions)
    if missing:
        raise Problem(
            403,
            "Forbidden",
            f"{what} affects every region of the cohort; your token does not cover: {', '.join(missing)}.",
            missing_regions=missing,
        )


def region_filter(p: Principal) -> tuple[str, ...] | None:
    """Rule 5, for SQL: None to read every region (hr_admin, service), else the regions to filter on
    (the token's regions for regional HR; none for anyone else)."""
    if reads_globally(p):
        return None
    if Role.HR_REGIONAL in p.roles:
        return tuple(sorted(p.regions))
    return ()


class SecretView(TypedDict):
    set: bool
    host: str | None


def secret_view(value: str | None) -> SecretView:
    """Rule 8: a credential (webhook URL, ...) as whether it is set and its host, never the value."""
    if not value:
        return {"set": False, "host": None}
    return {"set": True, "host": urlsplit(value).hostname}


def service_writes(reason: str) -> dict[str, object]:
    """`openapi_extra` for a non-GET route that `service` tokens may call; `reason` says why."""
    return {SERVICE_WRITES: reason}
