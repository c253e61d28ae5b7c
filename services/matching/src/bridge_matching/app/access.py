"""Who may see and change what in matching: the one rule of docs/access.md
(`bridge_shared.auth.scope`), applied by the use cases; failures are `Problem`s.

- A cohort is visible to HR when one of its regions is in scope (others are 404, so they cannot be
  probed); cohort-wide changes (phase, policy, matching runs and their drafts, publishing, imports)
  need every region of the cohort (403 naming the missing ones); creating one needs all its regions.
- A participant (profile, e-mail) is visible to HR whose regions include the participant's home
  region, and to the participant themself; anyone else gets 404, also on change.
- A proposal or pair is visible when one of its two people is (lists are filtered in SQL by
  `regions`: None for hr_admin and service).
- service reads like hr_admin and never writes (routers refuse it; `ensure_can_write` again here).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from bridge_matching.db import cohorts, participants
from bridge_matching.db.records import Conn
from bridge_matching.domain.rows import CohortRow, ParticipantRow
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.errors import Problem

HR_WRITE = (Role.HR_ADMIN, Role.HR_REGIONAL)
HR_READ = (Role.HR_ADMIN, Role.HR_REGIONAL, Role.SERVICE)
ANYONE = (Role.HR_ADMIN, Role.HR_REGIONAL, Role.SERVICE, Role.PARTICIPANT)


def is_hr(principal: Principal) -> bool:
    return scope.is_hr(principal)


def is_self(principal: Principal, participant: ParticipantRow) -> bool:
    return scope.is_self(principal, participant.employee_id)


def regions_filter(principal: Principal) -> list[str] | None:
    """The regions lists are filtered on in SQL (None: every region)."""
    regions = scope.region_filter(principal)
    return None if regions is None else list(regions)


def can_see(principal: Principal, cohort: CohortRow) -> bool:
    """Rule 4: the cohort is visible to HR when one of its regions is in scope."""
    return is_hr(principal) and scope.sees_shared(principal, cohort.regions)


def sees_participant(principal: Principal, participant: ParticipantRow) -> bool:
    """Rule 2: the participant themself, or HR whose regions include the participant's home region."""
    return is_self(principal, participant) or (
        is_hr(principal) and scope.sees_region(principal, participant.region)
    )


def sees_any(principal: Principal, people: Iterable[ParticipantRow]) -> bool:
    """Rule 3: a proposal or pair is visible when one of its people is."""
    return any(sees_participant(principal, p) for p in people)


def ensure_cohort_visible(principal: Principal, cohort: CohortRow | None) -> CohortRow:
    if cohort is None or not can_see(principal, cohort):
        # 404 rather than 403, so regional HR cannot probe for other regions' cohorts.
        raise Problem(404, "Cohort not found")
    return cohort


def ensure_can_write(principal: Principal) -> None:
    scope.ensure_writer(principal)
    if not principal.has(*HR_WRITE):
        raise Problem(403, "Forbidden", "This action needs one of the roles: hr_admin, hr_regional.")


def ensure_manages(principal: Principal, cohort: CohortRow) -> CohortRow:
    """Rule 4: a cohort-wide change needs every region of the cohort (403 names the missing ones)."""
    ensure_can_write(principal)
    scope.ensure_manages_all(principal, cohort.regions, "This cohort-wide change")
    return cohort


def ensure_phase(cohort: CohortRow, phases: frozenset[str], title: str, detail: str) -> None:
    """409 `title` unless the cohort is in one of `phases`; `detail` may name {phase}."""
    if cohort.phase not in phases:
        raise Problem(409, title, detail.format(phase=repr(cohort.phase)), current_phase=cohort.phase)


async def visible_cohort(
    conn: Conn, principal: Principal, cohort_id: uuid.UUID, *, lock: bool = False
) -> CohortRow:
    return ensure_cohort_visible(principal, await cohorts.get(conn, cohort_id, lock=lock))


async def managed_cohort(
    conn: Conn, principal: Principal, cohort_id: uuid.UUID, *, lock: bool = False
) -> CohortRow:
    """The cohort for a cohort-wide change: 404 if not visible, 403 unless every region is in scope."""
    return ensure_manages(principal, await visible_cohort(conn, principal, cohort_id, lock=lock))


async def participant_in_view(
    conn: Conn, principal: Principal, cohort_id: uuid.UUID, participant_id: uuid.UUID, *, lock: bool = False
) -> tuple[CohortRow, ParticipantRow]:
    """(cohort, participant) if the caller is the participant themself or HR for their home region."""
    participant = await participants.get(conn, participant_id, lock=lock)
    cohort = await cohorts.get(conn, cohort_id)
    if participant is None or cohort is None or participant.cohort_id != cohort_id:
        raise Problem(404, "Participant not found")
    if sees_participant(principal, participant):
        return cohort, participant
    raise Problem(404, "Participant not found")
