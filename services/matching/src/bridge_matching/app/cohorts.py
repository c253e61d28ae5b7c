"""Cohorts: creation, life-cycle phases and the matching policy."""

from __future__ import annotations

import uuid

from bridge_matching.app.access import (
    ensure_can_write,
    ensure_phase,
    managed_cohort,
    regions_filter,
    visible_cohort,
)
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import cohorts
from bridge_matching.domain.cohort import CohortIn
from bridge_matching.domain.events import cohort_created, cohort_subject
from bridge_matching.domain.phases import POLICY_EDIT_PHASES, TRANSITIONS, can_transition
from bridge_matching.domain.policy import PolicyIn, policy_event_document
from bridge_matching.domain.rows import CohortRow
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.matching import CohortPhaseChangedV1, CohortPolicyUpdatedV1
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem


async def create(rt: MatchingRuntime, principal: Principal, body: CohortIn) -> CohortRow:
    ensure_can_write(principal)
    scope.ensure_manages_all(principal, body.regions, "Creating this cohort")
    async with transaction(rt.pool) as conn:
        row = await cohorts.insert(conn, body, principal.subject, rt.clock.now())
        await rt.outbox.add(conn, cohort_created(row), subject=cohort_subject(row.id), time=row.created_at)
    return row


async def list_visible(rt: MatchingRuntime, principal: Principal) -> list[CohortRow]:
    async with connection(rt.pool) as conn:
        return await cohorts.list_all(conn, regions_filter(principal))


async def get(rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID) -> CohortRow:
    async with connection(rt.pool) as conn:
        return await visible_cohort(conn, principal, cohort_id)


async def change_phase(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, to_phase: str
) -> CohortRow:
    """Moves the cohort one step along draft -> enrolling -> matching -> active -> closing -> closed."""
    async with transaction(rt.pool) as conn:
        cohort = await managed_cohort(conn, principal, cohort_id, lock=True)
        current = cohort.phase
        if not can_transition(current, to_phase):
            raise Problem(
                409,
                "Illegal phase transition",
                f"A cohort in phase {current!r} cannot move to {to_phase!r}.",
                current_phase=current,
                requested_phase=to_phase,
                allowed=sorted(TRANSITIONS[current]),
            )
        now = rt.clock.now()
        row = await cohorts.set_phase(conn, cohort_id, to_phase, now)
        await rt.outbox.add(
            conn,
            CohortPhaseChangedV1(
                cohort_id=str(cohort_id),
                from_phase=current,
                to_phase=to_phase,
                changed_at=now,
                changed_by=principal.subject,
            ),
            subject=cohort_subject(row.id),
            time=now,
        )
    return row


async def get_policy(rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID) -> PolicyIn:
    cohort = await get(rt, principal, cohort_id)
    return PolicyIn.model_validate(cohort.policy or {})


async def put_policy(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, body: PolicyIn
) -> PolicyIn:
    async with transaction(rt.pool) as conn:
        cohort = await managed_cohort(conn, principal, cohort_id, lock=True)
        ensure_phase(
            cohort, POLICY_EDIT_PHASES, "Policy is frozen", "The policy cannot change in phase {phase}."
        )
        now = rt.clock.now()
        policy = body.model_dump()
        await cohorts.set_policy(conn, cohort_id, policy, now)
        await rt.outbox.add(
            conn,
            CohortPolicyUpdatedV1(
                cohort_id=str(cohort_id),
                policy=policy_event_document(body),
                updated_by=principal.subject,
                updated_at=now,
            ),
            subject=cohort_subject(cohort_id),
            time=now,
        )
    return body
