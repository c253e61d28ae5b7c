"""Pairs: forming one (from a proposal or an HR override), dissolving one, ending one when its
relationship closes in sessions, and the audit log."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from bridge_matching.app.access import (
    ensure_can_write,
    ensure_phase,
    regions_filter,
    sees_any,
    visible_cohort,
)
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.app.state import load_state
from bridge_matching.db import audit, pairs, participants
from bridge_matching.db.records import Conn
from bridge_matching.domain import matching
from bridge_matching.domain.events import pair_dissolved, pair_formed, pair_subject
from bridge_matching.domain.phases import OVERRIDE_PHASES
from bridge_matching.domain.rows import AuditRow, CohortRow, PairRow, ParticipantRow
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.sessions import PairClosedV1
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.outbox.writer import Outbox

log = logging.getLogger(__name__)


async def form_pair(
    conn: Conn,
    outbox: Outbox,
    cohort: CohortRow,
    *,
    mentor: ParticipantRow,
    mentee: ParticipantRow,
    score: float,
    breakdown: dict[str, float],
    summary: str,
    proposal_id: uuid.UUID | None,
    run_id: uuid.UUID | None,
    origin: str,
    now: datetime,
) -> PairRow:
    """Inside the caller's transaction: stores the pair and writes pair.formed."""
    pair = await pairs.insert(
        conn,
        cohort_id=cohort.id,
        run_id=run_id,
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        score=score,
        breakdown=breakdown,
        explanation=summary,
        proposal_id=proposal_id,
        origin=origin,
        now=now,
    )
    await outbox.add(
        conn, pair_formed(pair, cohort, mentor, mentee, now), subject=pair_subject(pair), time=now
    )
    return pair


async def dissolve_in(
    conn: Conn,
    outbox: Outbox,
    pair: PairRow,
    reason: str,
    by: str,
    now: datetime,
    *,
    left_participant_id: uuid.UUID | None = None,
) -> PairRow:
    """Inside the caller's transaction: the pair is dissolved and pair.dissolved written
    (`left_participant_id`: the one of the two who left the company)."""
    row = await pairs.dissolve(conn, pair.id, reason, by, now)
    event = pair_dissolved(row, reason, by, left_participant_id=left_participant_id)
    await outbox.add(conn, event, subject=pair_subject(row), time=now)
    return row


async def release(rt: MatchingRuntime, conn: Conn, p: PairClosedV1) -> None:
    """sessions closed the pair's relationship (completed, or ended early): the pair is 'ended' and its
    two people are free again (for a rematch or a later cohort; never re-proposed together). In the
    consumer's transaction, with an audit entry. A pair matching no longer holds as formed (dissolved
    by HR first: sessions closed it because of that) is left as it is."""
    try:
        pair_id = uuid.UUID(p.pair_id)
    except ValueError:
        log.warning("pair.closed for relationship %s names no pair of matching", p.relationship_id)
        return
    row = await pairs.end(conn, pair_id, p.outcome, p.closed_at)
    if row is None:
        return
    await audit.add(
        conn,
        row.cohort_id,
        "sessions",
        "pair.end",
        f"relationship {p.relationship_id} closed: {p.outcome}",
        {"pair_id": str(row.id), "outcome": p.outcome, "sessions_held": p.sessions_held},
        rt.clock.now(),
    )


async def list_for_cohort(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, status: str | None
) -> list[PairRow]:
    async with connection(rt.pool) as conn:
        await visible_cohort(conn, principal, cohort_id)
        return await pairs.list_for_cohort(
            conn, cohort_id, status if status != "all" else None, regions_filter(principal)
        )


async def create_override(
    rt: MatchingRuntime,
    principal: Principal,
    cohort_id: uuid.UUID,
    mentor_id: uuid.UUID,
    mentee_id: uuid.UUID,
    reason: str,
) -> PairRow:
    """HR override: forms a pair directly (no proposal). Hard-constraint breaches are allowed but audited;
    double-booking (capacity) is refused."""
    async with transaction(rt.pool) as conn:
        cohort = await visible_cohort(conn, principal, cohort_id, lock=True)
        ensure_can_write(principal)
        ensure_phase(cohort, OVERRIDE_PHASES, "Overrides not allowed", "Cohort is in phase {phase}.")
        state = await load_state(conn, cohort)
        if mentor_id not in state.by_id or mentee_id not in state.by_id or mentor_id == mentee_id:
            raise Problem(
                404, "Participant not found", "Both must be different, enrolled participants of this cohort."
            )
        mentor, mentee = state.by_id[mentor_id], state.by_id[mentee_id]
        if not sees_any(principal, (mentor, mentee)):  # rule 3: one of the two must be in scope
            raise Problem(
                404, "Participant not found", "Both must be different, enrolled participants of this cohort."
            )
        busy = matching.capacity_problems(state, mentor.employee_id, mentee.employee_id)
        if busy:
            raise Problem(409, "Participant not free", "; ".join(busy), problems=busy)
        a = matching.assess_pair(state, mentor.employee_id, mentee.employee_id)
        now = rt.clock.now()
        pair = await form_pair(
            conn,
            rt.outbox,
            cohort,
            mentor=mentor,
            mentee=mentee,
            score=a.score,
            breakdown=a.breakdown,
            summary=a.explanation,
            proposal_id=None,
            run_id=None,
            origin="hr_override",
            now=now,
        )
        await audit.add(
            conn,
            cohort_id,
            principal.subject,
            "pair.create",
            reason,
            {
                "pair_id": str(pair.id),
                "mentor_id": str(mentor.id),
                "mentee_id": str(mentee.id),
                "hard_violations": a.violations,
                "score": a.score,
            },
            now,
        )
    return pair


async def get_one(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, pair_id: uuid.UUID
) -> PairRow:
    """One pair of a visible cohort; 404 when it is not in that cohort or names no one the caller sees."""
    async with connection(rt.pool) as conn:
        await visible_cohort(conn, principal, cohort_id)
        pair = await pairs.get(conn, pair_id)
        if pair is None or pair.cohort_id != cohort_id:
            raise Problem(404, "Pair not found", "This cohort has no pair with that id.")
        people = await participants.by_ids(conn, [pair.mentor_id, pair.mentee_id])
        if not sees_any(principal, people.values()):  # rule 3: a record out of scope is 404
            raise Problem(404, "Pair not found", "This cohort has no pair with that id.")
    return pair


async def dissolve(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, pair_id: uuid.UUID, reason: str
) -> PairRow:
    """HR override: breaks a formed pair (pair.dissolved); both are free for rematch, never re-paired."""
    async with transaction(rt.pool) as conn:
        await visible_cohort(conn, principal, cohort_id)
        ensure_can_write(principal)
        pair = await pairs.get(conn, pair_id, lock=True)
        if pair is None or pair.cohort_id != cohort_id:
            raise Problem(404, "Pair not found")
        people = await participants.by_ids(conn, [pair.mentor_id, pair.mentee_id])
        if not sees_any(principal, people.values()):  # rule 3
            raise Problem(404, "Pair not found")
        if pair.status != "formed":
            raise Problem(409, "Pair not active", f"This pair is already {pair.status}.")
        now = rt.clock.now()
        row = await dissolve_in(conn, rt.outbox, pair, reason, principal.subject, now)
        await audit.add(
            conn,
            cohort_id,
            principal.subject,
            "pair.dissolve",
            reason,
            {"pair_id": str(pair_id), "mentor_id": str(pair.mentor_id), "mentee_id": str(pair.mentee_id)},
            now,
        )
    return row


async def audit_log(rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID) -> list[AuditRow]:
    async with connection(rt.pool) as conn:
        await visible_cohort(conn, principal, cohort_id)
        return await audit.entries(conn, cohort_id)
