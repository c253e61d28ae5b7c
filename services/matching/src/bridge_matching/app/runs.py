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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

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
from bridge_matching.app.rematch import AUTO_REMATCH
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.app.state import load_state
from bridge_matching.db import audit, cohorts, leases, participants, runs
from bridge_matching.db.errors import is_transient
from bridge_matching.db.leases import JobTable
from bridge_matching.db.records import Conn
from bridge_matching.domain import matching
from bridge_matching.domain.engine import QuotaInfeasibleError
from bridge_matching.domain.phases import MATCHING_PHASES
from bridge_matching.domain.policy import auto_rematch_of
from bridge_matching.domain.rows import CohortRow, DraftPairRow, NewDraftPair, NewProposal, RunRow
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.scheduling.worker import Backoff

log = logging.getLogger(__name__)
TABLE: JobTable = "matching_runs"
FINISHED = ("draft", "failed")
T = TypeVar("T")


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


def _active_meanwhile() -> Problem:
    """Another run was queued at the same moment and has already finished: still a conflict."""
    return Problem(
        409,
        "A matching run is already active",
        "Another run of this cohort was queued at the same moment; try again when it has finished.",
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
        if "pairs" not in cohort.formats:
            raise Problem(
                409,
                "Pairs not offered",
                "This cohort runs circles only; pair matching needs a cohort whose formats include pairs "
                "(circles are formed with POST /cohorts/{id}/circle-runs).",
                formats=list(cohort.formats),
            )
        _require_matching_phase(cohort)
        await _refuse_if_active(conn, cohort_id)
        if len(await participants.enrolled(conn, cohort_id)) < 2:
            raise Problem(
                409, "Not enough participants", "A matching run needs at least two enrolled participants."
            )
        run = await runs.queue(conn, cohort_id, principal.subject, rt.clock.now())
        if run is None:  # an automatic rematch queued one since the check (it does not lock the cohort)
            await _refuse_if_active(conn, cohort_id)
            raise _active_meanwhile()
        return run


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
        if not await runs.requeue(conn, run_id, rt.clock.now()):  # an automatic run came first
            await _refuse_if_active(conn, cohort.id)
            raise _active_meanwhile()
        await audit.add(
            conn, cohort.id, principal.subject, "draft.resolve", None, {"run_id": str(run_id)}, rt.clock.now()
        )


async def _publish_in(
    conn: Conn,
    rt: MatchingRuntime,
    cohort: CohortRow,
    run_id: uuid.UUID,
    by: str,
    now: datetime,
    *,
    automatic: bool = False,
) -> int | list[dict[str, str]]:
    """Every draft pair of the (locked) draft becomes a proposal, in the caller's transaction: the number
    of proposals, or the conflicts (nothing written) when the draft is stale."""
    drafts = await runs.draft_pairs(conn, run_id)
    state = await load_state(conn, cohort)
    conflicts = matching.stale_drafts(state, drafts)
    if conflicts:
        return conflicts
    created = await proposal_steps.create_in(
        conn,
        rt.outbox,
        cohort,
        [NewProposal(d.mentor_id, d.mentee_id, d.score, d.breakdown, d.explanation) for d in drafts],
        run_id=run_id,
        source="matching_run",
        requested_by=None,
        ttl_hours=rt.settings.proposal_ttl_hours,
        now=now,
    )
    await runs.mark_published(conn, run_id, by, now)
    details: dict[str, Any] = {"run_id": str(run_id), "proposals": len(created)}  # Any: the audit document
    if automatic:
        details["automatic"] = True
    await audit.add(conn, cohort.id, by, "run.publish", None, details, now)
    return len(created)


async def publish(rt: MatchingRuntime, principal: Principal, run_id: uuid.UUID) -> Published:
    """Every draft pair becomes a proposal (match.proposed, with its explanation and expiry)."""
    async with transaction(rt.pool) as conn:
        cohort, _run = await _draft(conn, principal, run_id)
        _require_matching_phase(cohort)
        now = rt.clock.now()
        published = await _publish_in(conn, rt, cohort, run_id, principal.subject, now)
        if not isinstance(published, int):
            raise Problem(
                409,
                "Draft is stale",
                "Proposals or withdrawals changed since this draft was solved; re-solve it, then publish.",
                conflicts=published,
            )
    return Published(run_id, published, now + timedelta(hours=rt.settings.proposal_ttl_hours))


# --- the job ----------------------------------------------------------------------------------------


class _LeaseLost(Exception):
    """Another instance took the run over while this one was backing off."""


@dataclass(slots=True)
class _Attempts:
    """This instance's attempts at one run. A stage that touches the database (the snapshot read, the
    draft write) and fails on a transient error (db/errors.py) is recorded on the run (`attempts`,
    `failed_attempts`) and tried again after a random exponential backoff (tenacity's, through the
    shared `Backoff`), until `run_retry_attempts` attempts were made; any other error, or the last
    transient one, fails the run. The lease is renewed meanwhile (the heartbeat runs around it)."""

    rt: MatchingRuntime
    run_id: uuid.UUID
    owner: str
    made: int = 1  # the claim was the first
    stage: str = "snapshot"

    async def run(self, stage: str, work: Callable[[], Awaitable[T]]) -> T:
        self.stage = stage
        settings = self.rt.settings
        backoff = Backoff(
            initial=settings.run_retry_backoff_seconds, max=settings.run_retry_backoff_max_seconds
        )
        while True:
            try:
                return await work()
            except Exception as exc:
                if not is_transient(exc) or self.made >= settings.run_retry_attempts:
                    raise
                delay = backoff.delay(self.made)
                log.warning(
                    "matching run %s: attempt %d failed in %s on a transient error, retrying in %.2fs: %r",
                    self.run_id,
                    self.made,
                    stage,
                    delay,
                    exc,
                )
                await self._record(stage, exc, delay)
                await asyncio.sleep(delay)
                self.made += 1

    async def _record(self, stage: str, exc: Exception, delay: float) -> None:
        try:
            async with connection(self.rt.pool) as conn:
                owned = await runs.record_failed_attempt(
                    conn, self.run_id, self.owner, stage, _error_text(exc), self.rt.clock.now(), delay
                )
        except Exception as trouble:  # the database may still be away: retry anyway, unrecorded
            if not is_transient(trouble):
                raise
            log.warning("matching run %s: could not record the failed attempt: %r", self.run_id, trouble)
            return
        if not owned:
            raise _LeaseLost


def _error_text(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, RunFailed) else f"{type(exc).__name__}: {exc}"


async def execute(rt: MatchingRuntime, run_id: uuid.UUID, owner: str) -> None:
    """Claims, solves and stores one run (transient failures retried); does nothing if another instance
    holds it or it is done."""
    if not await claim(rt, TABLE, run_id, owner):
        return
    attempts = _Attempts(rt, run_id, owner)
    try:
        async with heartbeat(rt, TABLE, run_id, owner):
            await _solve(rt, run_id, owner, attempts)
    except asyncio.CancelledError:  # shutting down: hand the run back so the next instance takes it now
        await asyncio.shield(release(rt, TABLE, run_id, owner))
        raise
    except _LeaseLost:
        log.warning("matching run %s was taken over by another instance while it backed off", run_id)
    except Exception as exc:
        transient = is_transient(exc)
        if not isinstance(exc, RunFailed):
            log.exception("matching run %s failed", run_id)
        error = _error_text(exc)
        if transient:
            tries = f"{attempts.made} attempt{'s' if attempts.made != 1 else ''}"
            error += f" (a transient error; the run gave up after {tries})"
        async with connection(rt.pool) as conn:
            await runs.fail(
                conn, run_id, owner, error, rt.clock.now(), stage=attempts.stage, transient=transient
            )


@dataclass(frozen=True, slots=True)
class _Snapshot:
    run: RunRow
    cohort: CohortRow
    state: matching.CohortState
    pinned: list[matching.EmpPair]
    removed: list[matching.EmpPair]


async def _snapshot(rt: MatchingRuntime, run_id: uuid.UUID) -> _Snapshot:
    async with connection(rt.pool) as conn:
        run = await runs.get(conn, run_id)
        cohort = await cohorts.get(conn, run.cohort_id) if run else None
        if run is None or cohort is None:
            raise LookupError(f"matching run {run_id} or its cohort is missing")
        state = await load_state(conn, cohort)
        pinned, removed = matching.review_edits(
            state, await runs.draft_pairs(conn, run_id, include_removed=True)
        )
    return _Snapshot(run, cohort, state, pinned, removed)


async def _solve(rt: MatchingRuntime, run_id: uuid.UUID, owner: str, attempts: _Attempts) -> None:
    snap = await attempts.run("snapshot", lambda: _snapshot(rt, run_id))
    attempts.stage = "solve"
    if len(snap.state.rows) < 2:
        raise RunFailed("A matching run needs at least two enrolled participants.")
    try:
        result = await asyncio.to_thread(matching.solve, snap.state, snap.pinned, snap.removed)
    except QuotaInfeasibleError as exc:
        raise RunFailed(f"The policy's quotas cannot be met: {exc}. Relax a quota or unpin pairs.") from exc
    stats = matching.run_stats(result, kept=len(snap.state.occupied))
    unmatched = matching.unmatched_rows(snap.state, result)
    drafts = matching.draft_rows(snap.state, result)

    async def write() -> None:
        async with transaction(rt.pool) as conn:
            # Lock order as in the review use cases: run rows first, then the cohort.
            if not await leases.still_owned(conn, TABLE, run_id, owner):
                log.warning(
                    "matching run %s was taken over by another instance; dropping this result", run_id
                )
                return
            await runs.lock_drafts(conn, snap.cohort.id)
            locked = await cohorts.get(conn, snap.cohort.id, lock=True)
            if locked is None or locked.phase not in MATCHING_PHASES:
                phase = locked.phase if locked else None
                raise RunFailed(f"Cohort moved to phase {phase!r} while the run was queued.")
            if await erased_since_snapshot(conn, list(snap.state.by_id)):
                raise RunFailed("A participant was erased on request while the run solved; start a new run.")
            now = rt.clock.now()
            await runs.supersede_drafts(conn, snap.cohort.id, now)
            await runs.store_draft(conn, run_id, stats, unmatched, drafts, now)
            if snap.run.origin == "auto_rematch":
                await _automatic_draft_in(conn, rt, locked, run_id, len(drafts), now)

    await attempts.run("write", write)


async def _automatic_draft_in(
    conn: Conn, rt: MatchingRuntime, cohort: CohortRow, run_id: uuid.UUID, pairs: int, now: datetime
) -> None:
    """An automatic rematch's draft, just stored: published in the same transaction when the cohort's
    policy (as it is now) says `auto_rematch_approval` none; otherwise left for HR to review."""
    _, approval = auto_rematch_of(cohort.policy)
    details: dict[str, Any] = {"run_id": str(run_id), "pairs": pairs, "approval": approval}  # Any: audit
    if approval == "hr":
        await audit.add(conn, cohort.id, AUTO_REMATCH, "run.auto_draft", None, details, now)
        return
    published = await _publish_in(conn, rt, cohort, run_id, AUTO_REMATCH, now, automatic=True)
    if not isinstance(published, int):  # changed under the solve: left for HR (or the next event's run)
        details["conflicts"] = published
        await audit.add(conn, cohort.id, AUTO_REMATCH, "run.auto_publish_stale", None, details, now)
