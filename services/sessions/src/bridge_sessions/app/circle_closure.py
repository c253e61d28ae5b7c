"""Ending a circle, however it ends: at its end date (circle health job, outcome completed), because
matching dissolved it, or because an erasure left it without a facilitator or without two members
(ended_early). One transaction (the caller's): the circle is closed, its sessions still to come are
cancelled (one METHOD:CANCEL invite each), a pending draft agreement is withdrawn, open risks are
resolved, and circle.closed goes out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from bridge_sessions.db import Conn
from bridge_sessions.db import circle_agreements as agreements_db
from bridge_sessions.db import circle_health as health_db
from bridge_sessions.db import circle_sessions as sessions_db
from bridge_sessions.db import circles as circles_db
from bridge_sessions.domain.circle_rows import CircleRow
from bridge_sessions.domain.invites import circle_invite_for
from bridge_sessions.domain.refs import circle_fields, circle_session_fields, circle_subject
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.circles import CircleClosedV1, CircleRiskResolvedV1, CircleSessionCancelledV1
from bridge_shared.outbox.writer import Outbox

Outcome = Literal["completed", "ended_early"]


async def close_circle(
    conn: Conn,
    outbox: Outbox,
    settings: SessionsSettings,
    circle_id: str,
    *,
    outcome: Outcome,
    reason: str | None,
    closed_by: str,
    now: datetime,
) -> CircleRow | None:
    """Returns the closed circle, or None when it was already closed (idempotent)."""
    if not await circles_db.close(
        conn, circle_id, now=now, outcome=outcome, reason=reason, closed_by=closed_by
    ):
        return None
    circle = await circles_db.get(conn, circle_id)
    assert circle is not None, "closed in this transaction"
    subject = circle_subject(circle)
    for s in await sessions_db.cancel_upcoming(conn, circle_id, by=closed_by, now=now):
        await outbox.add(
            conn,
            CircleSessionCancelledV1(
                **circle_session_fields(circle, s),
                starts_at=s.starts_at,
                invite=circle_invite_for(circle, s, settings.invite_organizer_email),
            ),
            subject=subject,
        )
    await agreements_db.withdraw_draft(conn, circle_id)
    for risk in await health_db.resolve_open_risks(conn, circle_id, now):
        await outbox.add(
            conn,
            CircleRiskResolvedV1(**circle_fields(circle), reason=risk, resolved_at=now),
            subject=subject,
        )
    await outbox.add(
        conn,
        CircleClosedV1(
            **circle_fields(circle),
            member_ids=circle.member_ids,
            outcome=outcome,
            sessions_held=await sessions_db.count_held(conn, circle_id),
            closed_at=now,
        ),
        subject=subject,
    )
    return circle
