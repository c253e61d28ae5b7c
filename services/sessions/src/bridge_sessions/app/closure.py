"""Ending a relationship, however it ends: at its end date (health job), early by a participant or
HR (API), or because matching dissolved the pair. One transaction (the caller's): the relationship
is closed, future sessions are cancelled (invites with METHOD:CANCEL), a pending draft agreement is
withdrawn, open risks are resolved, and pair.closed asks for the closing survey.

When it ended because one of the two left the company (matching's pair.dissolved v2 with
`left_participant_id`), the row keeps who left and pair.closed carries it on: notifications then
sends nothing more to them and tells their partner instead."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from bridge_sessions.db import Conn
from bridge_sessions.db import agreements as agreements_db
from bridge_sessions.db import health as health_db
from bridge_sessions.db import relationships as relationships_db
from bridge_sessions.db import sessions as sessions_db
from bridge_sessions.domain.invites import invite_for
from bridge_sessions.domain.refs import relationship_fields, session_fields, subject
from bridge_sessions.domain.rows import RelationshipRow
from bridge_sessions.domain.surveys import survey_path
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.sessions import PairClosedV2, PairRiskResolvedV1, SessionCancelledV2
from bridge_shared.outbox.writer import Outbox

Outcome = Literal["completed", "ended_early"]


def closing_survey_path(relationship_id: UUID) -> str:
    return survey_path(relationship_id, "closing")


async def close_relationship(
    conn: Conn,
    outbox: Outbox,
    settings: SessionsSettings,
    relationship_id: UUID,
    *,
    outcome: Outcome,
    reason: str | None,
    closed_by: str,
    now: datetime,
    left_participant_id: str | None = None,
) -> RelationshipRow | None:
    """Returns the closed row, or None when it was already closed (idempotent)."""
    rel = await relationships_db.close(
        conn,
        relationship_id,
        now=now,
        outcome=outcome,
        reason=reason,
        closed_by=closed_by,
        left_participant_id=left_participant_id,
    )
    if rel is None:
        return None
    for s in await sessions_db.cancel_upcoming(conn, relationship_id, by=closed_by, now=now):
        await outbox.add(
            conn,
            SessionCancelledV2(
                **session_fields(rel, s),
                starts_at=s.starts_at,
                cancelled_by=closed_by,
                reason="relationship closed",
                invite=invite_for(rel, s, settings.invite_organizer_email),
                # The one who left the company gets no cancellation: only the partner does.
                left_participant_id=rel.left_participant_id,
            ),
            subject=subject(rel),
        )
    await agreements_db.withdraw_draft(conn, relationship_id)
    for risk in await health_db.resolve_open_risks(conn, relationship_id, now):
        await outbox.add(
            conn,
            PairRiskResolvedV1(**relationship_fields(rel), reason=risk, resolved_at=now),
            subject=subject(rel),
        )
    await outbox.add(
        conn,
        PairClosedV2(
            **relationship_fields(rel),
            outcome=outcome,
            reason=reason,
            closed_at=now,
            sessions_held=await sessions_db.count_held(conn, relationship_id),
            mentor_id=rel.mentor_id,
            mentee_id=rel.mentee_id,
            closed_by=closed_by,
            hr_contact_email=rel.hr_contact_email,
            closing_survey_path=closing_survey_path(rel.id),
            closing_survey_due=(now + timedelta(days=settings.closing_survey_days)).date(),
            left_participant_id=rel.left_participant_id,
        ),
        subject=subject(rel),
    )
    return rel
