"""Retention (docs/privacy.md): each kind of personal data is kept for its `retention_*_days`, then
removed by a periodic job (jobs/retention.py) in bounded batches, on one instance per run:

- private notes: deleted `retention_private_notes_days` (365) after their relationship closed;
- shared notes and action items: removed `retention_shared_notes_days` (730) after it closed;
- feedback free text (comment, learned, taught): removed `retention_feedback_text_days` (365) after
  it was submitted; ratings and scores stay for the programme's figures;
- closed relationships: anonymised `retention_closed_relationships_days` (1095) after closing, as an
  erasure of both people would (`privacy.scrub`, no events): names, e-mails and employee ids become
  placeholders, their notes, feedback text and goal words go, other texts are redacted;
- closed circles: anonymised after the same `retention_closed_relationships_days`, as an erasure of
  every member would (`privacy.scrub_circles`, no events).

Every step only touches rows it has not done yet, so a run is safe to repeat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bridge_sessions.app.privacy import scrub, scrub_circles
from bridge_sessions.db import Conn
from bridge_sessions.db import circle_privacy as circle_privacy_db
from bridge_sessions.db import privacy as privacy_db
from bridge_sessions.settings import SessionsSettings
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock
from bridge_shared.scheduling.singleton import Job, run_once

log = logging.getLogger(__name__)
JOB_NAME = "sessions.retention"


@dataclass(frozen=True, slots=True)
class RetentionResult:
    private_notes: int
    shared_notes: int
    feedback_texts: int
    relationships: int
    more: bool
    """A batch was full: run again at once."""
    circles: int = 0


async def apply_retention(conn: Conn, clock: Clock, settings: SessionsSettings) -> RetentionResult:
    """One bounded run in the caller's transaction."""
    now = clock.now()
    limit = settings.retention_batch_size
    private = await privacy_db.expire_private_notes(
        conn, now - timedelta(days=settings.retention_private_notes_days), limit
    )
    shared = await privacy_db.expire_shared_notes(
        conn, now - timedelta(days=settings.retention_shared_notes_days), limit
    )
    feedback = await privacy_db.expire_feedback_text(
        conn, now - timedelta(days=settings.retention_feedback_text_days), limit
    )
    old = await privacy_db.closed_to_anonymise(
        conn, now - timedelta(days=settings.retention_closed_relationships_days), limit
    )
    for rel in old:
        await scrub(conn, [rel], [rel.mentor_id, rel.mentee_id])
        await privacy_db.mark_anonymised(conn, rel.id, now)
    old_circles = await circle_privacy_db.closed_to_anonymise(
        conn, now - timedelta(days=settings.retention_closed_relationships_days), limit
    )
    for circle in old_circles:
        await scrub_circles(conn, [circle], [m.participant_id for m in circle.members], now)
        await circle_privacy_db.mark_anonymised(conn, circle.id, now)
    result = RetentionResult(
        private,
        shared,
        feedback,
        len(old),
        more=limit in (private, shared, feedback, len(old), len(old_circles)),
        circles=len(old_circles),
    )
    log.info(
        "retention: %d private notes deleted, %d sessions' shared notes removed, %d feedback texts "
        "removed, %d closed relationships and %d closed circles anonymised",
        result.private_notes,
        result.shared_notes,
        result.feedback_texts,
        result.relationships,
        result.circles,
    )
    return result


def retention_job(rt: Runtime[SessionsSettings]) -> Job:
    """The run as a `run_once` job: the lock's transaction, the given clock."""

    async def job(conn: Conn, clock: Clock) -> RetentionResult:
        return await apply_retention(conn, clock, rt.settings)

    return job


async def run_retention(
    rt: Runtime[SessionsSettings], clock: Clock | None = None
) -> tuple[bool, RetentionResult | None]:
    """One run on this instance, if no other instance is running one (tests and operators)."""
    ran, out = await run_once(rt.pool, JOB_NAME, retention_job(rt), clock or rt.clock)
    return ran, out
