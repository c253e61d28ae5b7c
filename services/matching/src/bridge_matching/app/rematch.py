"""Automatic rematch (the cohort policy's `auto_rematch`): a decline or an expiry in a cohort in
matching or active queues a matching run for the cohort, in the transaction of the decline or the
expiry, so a crash cannot lose it. The run is an ordinary leased job (app/runs.py) with origin
`auto_rematch`, created by `auto-rematch` and a reason; when its draft is written it is published in
the same transaction (`auto_rematch_approval` none) or left as a draft for HR (hr).

At most one run per cohort is queued or running: when one is, nothing more is queued (it, or the run
of the next decline or expiry, takes the freed people). A draft HR is reviewing (one HR started, or an
automatic one with pinned, removed or swapped pairs) is never superseded by an automatic run: the
event is recorded in the audit log instead, and HR's re-solve or publish takes it from there.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from bridge_matching.app.jobs import job_runner
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import audit, runs
from bridge_matching.db.records import Conn
from bridge_matching.domain.phases import MATCHING_PHASES
from bridge_matching.domain.policy import auto_rematch_of
from bridge_matching.domain.rows import CohortRow, ProposalRow, RunRow

AUTO_REMATCH = "auto-rematch"
"""The actor of automatic rematches: the runs' `created_by` (and `published_by` when approval is none)
and the audit log's `actor`."""

Trigger = Literal["declined", "expired"]
_IDS_IN_REASON = 3  # proposal ids named in a run's reason; the audit entry lists up to _IDS_IN_AUDIT
_IDS_IN_AUDIT = 100


def _reason(trigger: Trigger, ids: Sequence[str]) -> str:
    more = len(ids) - _IDS_IN_REASON
    named = ", ".join(ids[:_IDS_IN_REASON]) + (f" and {more} more" if more > 0 else "")
    if len(ids) == 1:
        return f"automatic rematch: proposal {named} was {trigger}"
    return f"automatic rematch: {len(ids)} proposals were {trigger} ({named})"


async def queue_in(
    conn: Conn, cohort: CohortRow, trigger: Trigger, released: Sequence[ProposalRow], now: datetime
) -> RunRow | None:
    """Inside the decline's or the expiry's transaction: queues an automatic run for the cohort when its
    policy asks for one and its phase allows runs; the run, or None when nothing was queued."""
    auto, approval = auto_rematch_of(cohort.policy)
    if not auto or cohort.phase not in MATCHING_PHASES or not released:
        return None
    ids = [str(p.id) for p in released]
    details: dict[str, Any] = {  # Any: the audit document
        "trigger": trigger,
        "proposal_ids": ids[:_IDS_IN_AUDIT],
        "proposals": len(ids),
        "approval": approval,
    }
    reviewing = await runs.draft_under_review(conn, cohort.id)
    if reviewing is not None:
        details["draft_run_id"] = str(reviewing.id)
        await audit.add(conn, cohort.id, AUTO_REMATCH, "run.auto_rematch_deferred", None, details, now)
        return None
    reason = _reason(trigger, ids)
    run = await runs.queue(conn, cohort.id, AUTO_REMATCH, now, origin="auto_rematch", reason=reason)
    if run is None:
        return None  # a queued or running run already: it, or the next event's run, takes the freed people
    await audit.add(
        conn, cohort.id, AUTO_REMATCH, "run.auto_queued", reason, {"run_id": str(run.id), **details}, now
    )
    return run


def start(rt: MatchingRuntime, run_ids: Sequence[uuid.UUID]) -> None:
    """After the commit: starts the queued runs on this instance (if this instance stops first, the job
    sweep of any instance takes them: they are rows)."""
    for run_id in run_ids:
        job_runner(rt).submit("matching_runs", run_id)
