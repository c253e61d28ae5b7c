"""Ending a relationship, however it ends: at its end date (scheduler), early by a participant or
HR (API), or because matching dissolved the pair. One transaction: the relationship is closed,
future sessions are cancelled (invites with METHOD:CANCEL), a pending draft agreement is withdrawn,
open risks are resolved, and pair.closed asks for the closing survey."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg

from bridge_sessions.api.common import rel_fields, subject
from bridge_sessions.invites import invite_for, session_fields
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.sessions import PairClosedV1, PairRiskResolvedV1, SessionCancelledV1
from bridge_shared.outbox.writer import Outbox


def closing_survey_path(relationship_id: Any) -> str:
    return f"/relationships/{relationship_id}/surveys/closing"


async def close_relationship(
    conn: asyncpg.Connection[Any],
    outbox: Outbox,
    settings: SessionsSettings,
    relationship_id: Any,
    *,
    outcome: Literal["completed", "ended_early"],
    reason: str | None,
    closed_by: str,
    now: datetime,
) -> Any | None:
    """Returns the closed row, or None when it was already closed (idempotent)."""
    rel = await conn.fetchrow(
        """UPDATE relationships SET status = 'closed', closed_at = $2, outcome = $3, close_reason = $4,
                  closed_by = $5
           WHERE id = $1 AND status <> 'closed' RETURNING *""",
        relationship_id,
        now,
        outcome,
        reason,
        closed_by,
    )
    if rel is None:
        return None
    upcoming = await conn.fetch(
        """UPDATE sessions SET status = 'cancelled', cancelled_by = $2, cancelled_at = $3,
                  cancel_reason = 'relationship closed', ical_sequence = ical_sequence + 1, updated_at = $3
           WHERE relationship_id = $1 AND status = 'scheduled' AND starts_at > $3 RETURNING *""",
        relationship_id,
        closed_by,
        now,
    )
    for s in upcoming:
        await outbox.add(
            conn,
            SessionCancelledV1(
                **session_fields(rel, s),
                starts_at=s["starts_at"],
                cancelled_by=closed_by,
                reason="relationship closed",
                invite=invite_for(rel, s, settings),
            ),
            subject=subject(rel),
        )
    await conn.execute(
        "UPDATE agreements SET status = 'withdrawn' WHERE relationship_id = $1 AND status = 'draft'",
        relationship_id,
    )
    resolved = await conn.fetch(
        """UPDATE health_signals SET resolved_at = $2
           WHERE relationship_id = $1 AND resolved_at IS NULL AND reason <> 'ending_soon' RETURNING reason""",
        relationship_id,
        now,
    )
    for r in resolved:
        await outbox.add(
            conn,
            PairRiskResolvedV1(**rel_fields(rel), reason=r["reason"], resolved_at=now),
            subject=subject(rel),
        )
    held = await conn.fetchval(
        "SELECT count(*) FROM sessions WHERE relationship_id = $1 AND status = 'held'", relationship_id
    )
    await outbox.add(
        conn,
        PairClosedV1(
            **rel_fields(rel),
            outcome=outcome,
            reason=reason,
            closed_at=now,
            sessions_held=held,
            mentor_id=rel["mentor_id"],
            mentee_id=rel["mentee_id"],
            closed_by=closed_by,
            hr_contact_email=rel["hr_contact_email"],
            closing_survey_path=closing_survey_path(rel["id"]),
            closing_survey_due=(now + timedelta(days=settings.closing_survey_days)).date(),
        ),
        subject=subject(rel),
    )
    return rel
