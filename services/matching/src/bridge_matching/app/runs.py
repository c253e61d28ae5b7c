"""Matching runs: queued -> running -> draft (or failed), reviewed by HR (pin, remove, swap, re-solve) and
published as proposals.

Every run is incremental: people in accepted pairs or open proposals are kept as they are (fixed);
declined, expired and dissolved pairs are never proposed again (excluded); partners from earlier
cohorts count as history. A run is a leased job: the runner loads a snapshot of the cohort, solves it
in a worker thread (the engine is CPU-bound) and writes the draft in one short transaction that first
checks it still holds the lease. A run whose owner stopped is claimed again and recomputes the draft
from the current data, so it completes exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bridge_matching.app import proposals as proposal_steps
from bridge_matching.app.access import (
    ensure_cohort_visible,
    ensure_manages,
    ensure_phase,
    managed_cohort,
    regions_filter,
    visible_cohort,
)
from bridge_matching.app.jobs import claim, heartbeat, job_runner, release
from bridge_matching.app.privacy import erased_since_snapshot
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.app.state import load_state
from bridge_matching.db import audit, cohorts, leases, participants, runs
from bridge_matching.db.leases import JobTable
from bridge_matching.db.records import Conn
from bridge_matching.domain import matching
from bridge_matching.domain.engine import QuotaInfeasibleError
from bridge_matching.domain.phases import MATCHING_PHASES
from bridge_matching.domain.rows import CohortRow, DraftPairRow, NewDraftPair, NewProposal, RunRow
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem

log = logging.getLogger(__name__)
TABLE: JobTable = "matching_runs"
FINISHED = ("draft", "failed")


class RunFailed(Exception):
    """The run cannot produce a draft (reported on the run, not retried)."""


@dataclass(frozen=True, slots=True)
class RunView:
    """A run with its (not removed) draft pairs."""

    run: RunRow
    pairs: list[DraftPairRow]


@dataclass(frozen=True, slots=True)
class Published:
    run_id: uuid.UUID
    proposals: int
    expires_at: datetime


async def _view(conn: Conn, run: RunRow, principal: Principal | None = None) -> RunView:
    """The run as `principal` may read it (rules 2-3: draft pairs with one person in scope, unmatched
    people in scope); in full for callers who manage the whole cohort (None)."""
    regions = None if principal is None else regions_filter(principal)
    if regions is None:
        return RunView(run, await runs.draft_pairs(conn, run.id))
    people = await participants.by_ids(conn, [uuid.UUID(u["participant_id"]) for u in run.unmatched])
    unmatched = [
        u for u in run.unmatched if (p := people.get(uuid.UUID(u["participant_id"]))) and p.region in regions
    ]
    return RunView(replace(run, unmatched=unmatched), await runs.draft_pairs(conn, run.id, regions=regions))


def _require_matching_phase(cohort: CohortRow) -> None:
    ensure_phase(
        cohort,
        MATCHING_PHASES,
        "Matching not open",
        "Cohort is in phase {phase}; matching runs need matching or active.",
    )


async def _refuse_if_active(conn: Conn, cohort_id: uuid.UUID) -> None:
    active = await runs.active(conn, cohort_id)
    if active is not None:
        raise Problem(
            409,
            "A matching run is already active",
            f"Run {active.id} is {active.status}; wait for it to finish.",
            active_run_id=str(active.id),
            active_run_status=active.status,
        )


async def _draft(
    conn: Conn, principal: Principal, run_id: uuid.UUID, *, must_be_draft: bool = True
) -> tuple[CohortRow, RunRow]:
    """(cohort, run), both locked when the run must be a draft (lock order: run, then cohort)."""
    run = await runs.get(conn, run_id, lock=must_be_draft)
    if run is None:
        raise Problem(404, "Matching run not found")
    cohort = ensure_cohort_visible(principal, await cohorts.get(conn, run.cohort_id, lock=must_be_draft))
    if must_be_draft:  # reviewing and publishing a draft are cohort-wide changes (rule 4)
        ensure_manages(principal, cohort)
    if must_be_draft and run.status != "draft":
        raise Problem(
            409,
            "Run is not a draft",
            f"This run is {run.status}; start a new run to change it.",
            run_status=run.status,
        )
    return cohort, run


async def submit(rt: MatchingRuntime, run_id: uuid.UUID, *, wait: bool) -> tuple[RunView, bool]:
    """Starts the run on this instance: (the run, whether `wait` saw it finish within `run_wait_seconds`)."""
    task = job_runner(rt).submit(TABLE, run_id)
    if wait:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), rt.settings.run_wait_seconds)
    async with connection(rt.pool) as conn:
        run = await runs.get(conn, run_id)
        if run is None:
            raise LookupError(f"matching run {run_id} is missing")
        view = await _view(conn, run)
    return view, wait and run.status in FINISHED


async def start(rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID) -> RunRow:
    """Queues a run that matches everyone who is free into a new draft (an open draft is superseded when
    it is done). One queued or running run per cohort."""
    async with transaction(rt.pool) as conn:
        cohort = await managed_cohort(conn, principal, cohort_id, lock=True)
        _require_matching_phase(cohort)
        await _refuse_if_active(conn, cohort_id)
        if len(await participants.enrolled(conn, cohort_id)) < 2:
            raise Problem(
                409, "Not enough participants", "A matching run needs at least two enrolled participants."
            )
        return await runs.create(conn, cohort_id, principal.subject, rt.clock.now())


async def list_for_cohort(rt: MatchingRuntime, principal: Principal, cohort_id: uuid.UUID) -> list[RunView]:
    async with connection(rt.pool) as conn:
        await visible_cohort(conn, principal, cohort_id)
        return [await _view(conn, r, principal) for r in await runs.list_for_cohort(conn, cohort_id)]


async def get(rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID) -> RunView:
    async with connection(rt.pool) as conn:
        _, run = await _draft(conn, principal, run_id, must_be_draft=False)
        return await _view(conn, run, principal)


async def _edit_pair(
    rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID, pair_id: uuid.UUID, action: str
) -> RunView:
    """One review edit of a draft pair ("draft.pin", "draft.unpin", "draft.remove"), audited."""
    async with transaction(rt.pool) as conn:
        cohort, run = await _draft(conn, principal, run_id)
        d = await runs.get_draft_pair(conn, run_id, pair_id)
        if d is None:
            raise Problem(404, "Draft pair not found")
        if action == "draft.remove":
            await runs.mark_removed(conn, pair_id)
        else:
            await runs.set_pinned(conn, pair_id, action == "draft.pin")
        details = {
            "run_id": str(run_id),
            "draft_pair_id": str(pair_id),
            "mentor_id": str(d.mentor_id),
            "mentee_id": str(d.mentee_id),
        }
        await audit.add(conn, cohort.id, principal.subject, action, None, details, rt.clock.now())
        return await _view(conn, run)


async def set_pin(
    rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID, pair_id: uuid.UUID, pinned: bool
) -> RunView:
    return await _edit_pair(rt, principal, run_id, pair_id, "draft.pin" if pinned else "draft.unpin")


async def remove_pair(
    rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID, pair_id: uuid.UUID
) -> RunView:
    """Takes a pair out of the draft; a re-solve will not propose it again (both people are free)."""
    return await _edit_pair(rt, principal, run_id, pair_id, "draft.remove")


async def swap(
    rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID, pair_a: uuid.UUID, pair_b: uuid.UUID
) -> RunView:
    """Swaps the mentees of two draft pairs. The new pairs must keep hard constraints; they get pinned."""
    if pair_a == pair_b:
        raise Problem(422, "Invalid request", "pair_a and pair_b must differ.")
    async with transaction(rt.pool) as conn:
        cohort, run = await _draft(conn, principal, run_id)
        a = await runs.get_draft_pair(conn, run_id, pair_a)
        b = await runs.get_draft_pair(conn, run_id, pair_b)
        if a is None or b is None:
            raise Problem(404, "Draft pair not found")
        state = await load_state(conn, cohort)
        if any(x not in state.by_id for x in (a.mentor_id, a.mentee_id, b.mentor_id, b.mentee_id)):
            raise Problem(
                409, "Participant withdrawn", "Someone in these pairs has withdrawn; re-solve first."
            )
        new = [(a.mentor_id, b.mentee_id), (b.mentor_id, a.mentee_id)]
        assessed = [matching.assess_pair(state, state.emp(m), state.emp(e)) for m, e in new]
        problems = {
            f"{state.emp(m)}->{state.emp(e)}": x.violations
            for (m, e), x in zip(new, assessed, strict=True)
            if x.violations
        }
        if problems:
            raise Problem(
                409,
                "Swap breaks hard constraints",
                "The swapped pairs would break hard constraints.",
                violations=problems,
            )
        await runs.delete_draft_pairs(conn, [a.id, b.id])
        await runs.insert_draft_pairs(
            conn,
            run_id,
            [
                NewDraftPair(
                    m, e, x.score, x.breakdown, x.explanation, violations=[], pinned=True, origin="swapped"
                )
                for (m, e), x in zip(new, assessed, strict=True)
            ],
        )
        details: dict[str, Any] = {  # Any: the audit document
            "run_id": str(run_id),
            "before": [[str(a.mentor_id), str(a.mentee_id)], [str(b.mentor_id), str(b.mentee_id)]],
            "after": [[str(m), str(e)] for m, e in new],
        }
        await audit.add(conn, cohort.id, principal.subject, "draft.swap", None, details, rt.clock.now())
        return await _view(conn, run)


async def requeue(rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID) -> None:
    """The draft goes back to the queue to be re-solved in place, keeping its pins and removals."""
    async with transaction(rt.pool) as conn:
        cohort, _run = await _draft(conn, principal, run_id)
        _require_matching_phase(cohort)
        await _refuse_if_active(conn, cohort.id)
        await runs.requeue(conn, run_id, rt.clock.now())
        await audit.add(
            conn, cohort.id, principal.subject, "draft.resolve", None, {"run_id": str(run_id)}, rt.clock.now()
        )


async def publish(rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID) -> Published:
    """Every draft pair becomes a proposal (match.proposed, with its explanation and expiry)."""
    ttl = rt.settings.proposal_ttl_hours
    async with transaction(rt.pool) as conn:
        cohort, _run = await _draft(conn, principal, run_id)
        _require_matching_phase(cohort)
        drafts = await runs.draft_pairs(conn, run_id)
        state = await load_state(conn, cohort)
        conflicts = matching.stale_drafts(state, drafts)
        if conflicts:
            raise Problem(
                409,
                "Draft is stale",
                "Proposals or withdrawals changed since this draft was solved; re-solve it, then publish.",
                conflicts=conflicts,
            )
        now = rt.clock.now()
        created = await proposal_steps.create_in(
            conn,
            rt.outbox,
            cohort,
            [NewProposal(d.mentor_id, d.mentee_id, d.score, d.breakdown, d.explanation) for d in drafts],
            run_id=run_id,
            source="matching_run",
            requested_by=None,
            ttl_hours=ttl,
            now=now,
        )
        await runs.mark_published(conn, run_id, principal.subject, now)
        await audit.add(
            conn,
            cohort.id,
            principal.subject,
            "run.publish",
            None,
            {"run_id": str(run_id), "proposals": len(created)},
            now,
        )
    return Published(run_id, len(created), now + timedelta(hours=ttl))


# --- the job ----------------------------------------------------------------------------------------


async def execute(rt: MatchingRuntime, run_id: uuid.UUID, owner: str) -> None:
    """Claims, solves and stores one run; does nothing if another instance holds it or it is done."""
    if not await claim(rt, TABLE, run_id, owner):
        return
    try:
        await _solve(rt, run_id, owner)
    except asyncio.CancelledError:  # shutting down: hand the run back so the next instance takes it now
        await asyncio.shield(release(rt, TABLE, run_id, owner))
        raise
    except Exception as exc:
        if not isinstance(exc, RunFailed):
            log.exception("matching run %s failed", run_id)
        error = str(exc) if isinstance(exc, RunFailed) else f"{type(exc).__name__}: {exc}"
        async with connection(rt.pool) as conn:
            await runs.fail(conn, run_id, owner, error, rt.clock.now())


async def _solve(rt: MatchingRuntime, run_id: uuid.UUID, owner: str) -> None:
    async with heartbeat(rt, TABLE, run_id, owner):
        async with connection(rt.pool) as conn:
            run = await runs.get(conn, run_id)
            cohort = await cohorts.get(conn, run.cohort_id) if run else None
            if run is None or cohort is None:
                raise LookupError(f"matching run {run_id} or its cohort is missing")
            state = await load_state(conn, cohort)
            pinned, removed = matching.review_edits(
                state, await runs.draft_pairs(conn, run_id, include_removed=True)
            )
        if len(state.rows) < 2:
            raise RunFailed("A matching run needs at least two enrolled participants.")
        try:
            result = await asyncio.to_thread(matching.solve, state, pinned, removed)
        except QuotaInfeasibleError as exc:
            raise RunFailed(
                f"The policy's quotas cannot be met: {exc}. Relax a quota or unpin pairs."
            ) from exc
        stats = matching.run_stats(result, kept=len(state.occupied))
        unmatched = matching.unmatched_rows(state, result)
        drafts = matching.draft_rows(state, result)
    async with transaction(rt.pool) as conn:
        # Lock order as in the review use cases: run rows first, then the cohort.
        if not await leases.still_owned(conn, TABLE, run_id, owner):
            log.warning("matching run %s was taken over by another instance; dropping this result", run_id)
            return
        await runs.lock_drafts(conn, cohort.id)
        locked = await cohorts.get(conn, cohort.id, lock=True)
        if locked is None or locked.phase not in MATCHING_PHASES:
            phase = locked.phase if locked else None
            raise RunFailed(f"Cohort moved to phase {phase!r} while the run was queued.")
        if await erased_since_snapshot(conn, list(state.by_id)):
            raise RunFailed("A participant was erased on request while the run solved; start a new run.")
        now = rt.clock.now()
        await runs.supersede_drafts(conn, cohort.id, now)
        await runs.store_draft(conn, run_id, stats, unmatched, drafts, now)
