"""Who may see and change what (rules the use cases apply; failures are `Problem`s).

hr_admin: everything. hr_regional: cohorts touching one of their regions (others are 404, so they
cannot be probed). service: read. participant (`sub` = employee id): their own profile, proposals and
suggestions only.
"""

from __future__ import annotations

import uuid

from bridge_matching.db import cohorts, participants
from bridge_matching.db.records import Conn
from bridge_matching.domain.rows import CohortRow, ParticipantRow
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.errors import Problem

HR_WRITE = (Role.HR_ADMIN, Role.HR_REGIONAL)
HR_READ = (Role.HR_ADMIN, Role.HR_REGIONAL, Role.SERVICE)
ANYONE = (Role.HR_ADMIN, Role.HR_REGIONAL, Role.SERVICE, Role.PARTICIPANT)


def is_hr(principal: Principal) -> bool:
    return bool(principal.has(*HR_READ))


def is_self(principal: Principal, participant: ParticipantRow) -> bool:
    return bool(principal.has(Role.PARTICIPANT) and principal.subject == participant.employee_id)


def can_see(principal: Principal, cohort: CohortRow) -> bool:
    return is_hr(principal) and bool(principal.can_see_any_region(cohort.regions))


def ensure_cohort_visible(principal: Principal, cohort: CohortRow | None) -> CohortRow:
    if cohort is None or not can_see(principal, cohort):
        # 404 rather than 403, so regional HR cannot probe for other regions' cohorts.
        raise Problem(404, "Cohort not found")
    return cohort


def ensure_can_write(principal: Principal) -> None:
    if not principal.has(*HR_WRITE):
        raise Problem(403, "Forbidden", "This action needs one of the roles: hr_admin, hr_regional.")


def ensure_phase(cohort: CohortRow, phases: frozenset[str], title: str, detail: str) -> None:
    """409 `title` unless the cohort is in one of `phases`; `detail` may name {phase}."""
    if cohort.phase not in phases:
        raise Problem(409, title, detail.format(phase=repr(cohort.phase)), current_phase=cohort.phase)


async def visible_cohort(
    conn: Conn, principal: Principal, cohort_id: uuid.UUID, *, lock: bool = False
) -> CohortRow:
    return ensure_cohort_visible(principal, await cohorts.get(conn, cohort_id, lock=lock))


async def participant_in_view(
    conn: Conn, principal: Principal, cohort_id: uuid.UUID, participant_id: uuid.UUID, *, lock: bool = False
) -> tuple[CohortRow, ParticipantRow]:
    """(cohort, participant) if the caller is HR who sees the cohort, or the participant themself."""
    participant = await participants.get(conn, participant_id, lock=lock)
    cohort = await cohorts.get(conn, cohort_id)
    if participant is None or cohort is None or participant.cohort_id != cohort_id:
        raise Problem(404, "Participant not found")
    if is_self(principal, participant) or can_see(principal, cohort):
        return cohort, participant
    raise Problem(404, "Participant not found")
