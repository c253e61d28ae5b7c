"""Who may see and change what.

hr_admin: everything. hr_regional: cohorts touching one of their regions (others are 404, so they
cannot be probed). service: read. participant (`sub` = employee id): their own profile, proposals and
suggestions only.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Depends

from bridge_matching.db import repository as repo
from bridge_shared.auth.dependencies import require
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

HR_WRITE = (Role.HR_ADMIN, Role.HR_REGIONAL)
HR_READ = (Role.HR_ADMIN, Role.HR_REGIONAL, Role.SERVICE)
ANYONE = (Role.HR_ADMIN, Role.HR_REGIONAL, Role.SERVICE, Role.PARTICIPANT)

hr_write = require(*HR_WRITE)
hr_read = require(*HR_READ)
anyone = require(*ANYONE)


def get_clock(rt: Runtime = Depends(get_runtime)) -> Clock:
    clock: Clock = rt.clock
    return clock


def is_hr(principal: Principal) -> bool:
    return bool(principal.has(*HR_READ))


def ensure_cohort_visible(principal: Principal, cohort: Any | None) -> Any:
    if cohort is None or not is_hr(principal) or not principal.can_see_any_region(cohort["regions"]):
        # 404 rather than 403, so regional HR cannot probe for other regions' cohorts.
        raise Problem(404, "Cohort not found")
    return cohort


def ensure_can_write(principal: Principal) -> None:
    if not principal.has(*HR_WRITE):
        raise Problem(403, "Forbidden", "This action needs one of the roles: hr_admin, hr_regional.")


def is_self(principal: Principal, participant: Any) -> bool:
    return bool(principal.has(Role.PARTICIPANT) and principal.subject == participant["employee_id"])


async def participant_in_view(
    conn: repo.Conn,
    principal: Principal,
    cohort_id: uuid.UUID,
    participant_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> tuple[Any, Any]:
    """(cohort, participant) if the caller is HR who sees the cohort, or the participant themself."""
    participant = await repo.get_participant(conn, participant_id, for_update=for_update)
    cohort = await repo.get_cohort(conn, cohort_id)
    if participant is None or cohort is None or participant["cohort_id"] != cohort_id:
        raise Problem(404, "Participant not found")
    if is_self(principal, participant):
        return cohort, participant
    if is_hr(principal) and principal.can_see_any_region(cohort["regions"]):
        return cohort, participant
    raise Problem(404, "Participant not found")
