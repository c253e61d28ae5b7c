"""Proposals: created from a published draft or a participant's request; each side accepts or declines;
overdue ones expire. The `*_in` steps run inside the caller's transaction and write their events there.
A decline or an expiry in a cohort with `auto_rematch` on queues its automatic run (app/rematch.py) in
the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bridge_matching.app import rematch
from bridge_matching.app.access import is_self, regions_filter, sees_any, visible_cohort
from bridge_matching.app.pairs import form_pair
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import cohorts, participants, proposals
from bridge_matching.db.records import Conn
from bridge_matching.domain.events import (
    match_cancelled,
    match_declined,
    match_expired,
    match_proposed,
    proposal_subject,
)
from bridge_matching.domain.rows import CohortRow, NewProposal, ProposalRow, Side
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.contracts.matching import MatchAcceptedV1
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.events.registry import EventPayload
from bridge_shared.outbox.writer import Outbox
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import run_once

EXPIRY_JOB = "matching.expire-proposals"
SIDES: tuple[Side, ...] = ("mentor", "mentee")


async def create_in(
    conn: Conn,
    outbox: Outbox,
    cohort: CohortRow,
    rows: Sequence[NewProposal],
    *,
    run_id: uuid.UUID | None,
    source: str,
    requested_by: uuid.UUID | None,
    ttl_hours: int,
    now: datetime,
) -> list[ProposalRow]:
    expires_at = now + timedelta(hours=ttl_hours)
    stored = await proposals.insert_many(conn, cohort.id, run_id, source, requested_by, rows, expires_at, now)
    people = await participants.by_ids(conn, [x for p in stored for x in (p.mentor_id, p.mentee_id)])
    events: list[tuple[EventPayload, str | None]] = [
        (match_proposed(p, people), proposal_subject(p)) for p in stored
    ]
    await outbox.add_many(conn, events, time=now)
    return stored


async def respond_in(
    conn: Conn,
    outbox: Outbox,
    cohort: CohortRow,
    proposal: ProposalRow,
    side: Side,
    accept: bool,
    reason: str | None,
    now: datetime,
) -> ProposalRow:
    """One side answers a (locked, pending) proposal; both accepting forms the pair."""
    participant_id = proposal.participant_id(side)
    if not accept:
        row = await proposals.record_decline(conn, proposal.id, side, participant_id, reason, now)
        await outbox.add(
            conn, match_declined(row, participant_id, reason), subject=proposal_subject(row), time=now
        )
        return row
    row = await proposals.record_acceptance(conn, proposal.id, side, now)
    await outbox.add(
        conn,
        MatchAcceptedV1(
            proposal_id=str(row.id), cohort_id=str(row.cohort_id), participant_id=str(participant_id)
        ),
        subject=proposal_subject(row),
        time=now,
    )
    if row.mentor_response == "accepted" and row.mentee_response == "accepted":
        people = await participants.by_ids(conn, [row.mentor_id, row.mentee_id])
        pair = await form_pair(
            conn,
            outbox,
            cohort,
            mentor=people[row.mentor_id],
            mentee=people[row.mentee_id],
            score=row.score,
            breakdown=row.breakdown,
            summary=row.explanation,
            proposal_id=row.id,
            run_id=row.run_id,
            origin="proposal",
            now=now,
        )
        row = await proposals.mark_accepted(conn, row.id, pair.id, now)
    return row


async def cancel_in(
    conn: Conn,
    outbox: Outbox,
    proposal: ProposalRow,
    by_participant: uuid.UUID,
    reason: str,
    now: datetime,
    *,
    cause: Literal["withdrawn", "erased"],
) -> None:
    """Closes an open proposal because one of its people left (withdrew or was erased): match.cancelled,
    not a decline (neither of them said no to the other)."""
    await proposals.cancel(conn, proposal.id, by_participant, reason, now)
    await outbox.add(
        conn,
        match_cancelled(proposal, by_participant, cause, now),
        subject=proposal_subject(proposal),
        time=now,
    )


@dataclass(frozen=True, slots=True)
class Expired:
    """One expiry tick: how many proposals expired, and the automatic rematch runs it queued."""

    count: int
    queued: list[uuid.UUID] = field(default_factory=list)


async def expire_due_in(conn: Conn, outbox: Outbox, now: datetime) -> Expired:
    """The expiry job's tick (inside its single-instance transaction): pending proposals past expires_at
    become expired, once (the status guards), and match.expired is written for each; each cohort with
    `auto_rematch` on gets its automatic run queued in the same transaction."""
    rows = await proposals.expire_due(conn, now)
    events: list[tuple[EventPayload, str | None]] = [
        (match_expired(r, now), proposal_subject(r)) for r in rows
    ]
    await outbox.add_many(conn, events, time=now)
    by_cohort: dict[uuid.UUID, list[ProposalRow]] = {}
    for r in rows:
        by_cohort.setdefault(r.cohort_id, []).append(r)
    queued = []
    for cohort_id, expired in sorted(by_cohort.items()):
        cohort = await cohorts.get(conn, cohort_id)
        run = None if cohort is None else await rematch.queue_in(conn, cohort, "expired", expired, now)
        if run is not None:
            queued.append(run.id)
    return Expired(len(rows), queued)


def expiry_job(outbox: Outbox) -> Callable[[Conn, Clock], Awaitable[Expired]]:
    """The expiry tick in the shape `bridge_shared.scheduling.singleton` runs (its lock, its transaction)."""

    async def job(conn: Conn, clock: Clock) -> Expired:
        return await expire_due_in(conn, outbox, clock.now())

    return job


async def expire_due(rt: MatchingRuntime) -> int:
    """One expiry tick on one instance (the others skip it), then the automatic runs it queued are
    started here; the number of proposals that expired."""
    ran, expired = await run_once(rt.pool, EXPIRY_JOB, expiry_job(rt.outbox), rt.clock)
    if not ran or expired is None:
        return 0
    rematch.start(rt, expired.queued)
    return expired.count


async def list_for_cohort(
    rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID, status: str | None
) -> list[ProposalRow]:
    async with connection(rt.pool) as conn:
        await visible_cohort(conn, principal, cohort_id)
        return await proposals.list_for_cohort(conn, cohort_id, status, regions=regions_filter(principal))


async def _visible(
    conn: Conn, principal: Principal, proposal_id: uuid.UUID, *, lock: bool = False
) -> tuple[ProposalRow, CohortRow, list[Side]]:
    """(proposal, cohort, the caller's sides) if the caller is HR for the cohort or one of the two people."""
    proposal = await proposals.get(conn, proposal_id, lock=lock)
    if proposal is None:
        raise Problem(404, "Proposal not found")
    cohort = await cohorts.get(conn, proposal.cohort_id)
    if cohort is None:
        raise LookupError(f"the cohort of proposal {proposal_id} is missing")
    people = await participants.by_ids(conn, [proposal.mentor_id, proposal.mentee_id])
    mine = [side for side in SIDES if is_self(principal, people[proposal.participant_id(side)])]
    if mine or sees_any(principal, people.values()):
        return proposal, cohort, mine
    raise Problem(404, "Proposal not found")


def _ensure_participant(principal: Principal) -> None:
    if Role.PARTICIPANT not in principal.roles:
        raise Problem(403, "Forbidden", "Only the two people in a proposal can answer it.")


async def get(rt: MatchingRuntime, principal: Principal, proposal_id: uuid.UUID) -> ProposalRow:
    async with connection(rt.pool) as conn:
        proposal, _, _ = await _visible(conn, principal, proposal_id)
    return proposal


async def answer(
    rt: MatchingRuntime, principal: Principal, proposal_id: uuid.UUID, *, accept: bool, reason: str | None
) -> ProposalRow:
    """Accept or decline as the participant you are; when both sides accept, the pair is formed."""
    _ensure_participant(principal)  # role before record (rule 9): HR gets 403 whatever the proposal
    async with transaction(rt.pool) as conn:
        proposal, cohort, mine = await _visible(conn, principal, proposal_id, lock=True)
        if not mine:
            raise Problem(403, "Forbidden", "Only the two people in a proposal can answer it.")
        now = rt.clock.now()
        if proposal.status == "pending" and proposal.expires_at <= now:
            raise Problem(
                409,
                "Proposal expired",
                "This proposal expired before it was answered.",
                proposal_status="expired",
            )
        if proposal.status != "pending":
            raise Problem(
                409,
                "Proposal closed",
                f"This proposal is already {proposal.status}.",
                proposal_status=proposal.status,
            )
        side = mine[0]
        answered = proposal.response(side)
        if answered is not None:
            raise Problem(409, "Already answered", f"You already {answered} this proposal.")
        row = await respond_in(conn, rt.outbox, cohort, proposal, side, accept, reason, now)
        # A decline frees both people: with auto_rematch on, their run is queued in this transaction.
        run = await rematch.queue_in(conn, cohort, "declined", [row], now) if not accept else None
    if run is not None:
        rematch.start(rt, [run.id])
    return row
