"""Programme health facts for HR's weekly digest, recorded in the consumer's transaction from
sessions' events: sessions held (with the topics' directions), pulse ratings, risks started and
resolved, closures. Ids, counts and ratings only."""

from __future__ import annotations

from datetime import datetime

from bridge_notifications.db import health
from bridge_shared.contracts import sessions as s
from bridge_shared.db.connection import Conn
from bridge_shared.events.registry import EventPayload


async def record(conn: Conn, event_id: str, payload: EventPayload) -> None:
    """One fact per event that says something about a pair's health (redeliveries count once)."""
    if not isinstance(payload, s.RelationshipEvent):
        return
    m2e = e2m = 0
    reason: str | None = None
    rating: int | None = None
    if isinstance(payload, s.SessionHeldV1):
        kind, at = "held", payload.held_at
        m2e = sum(1 for t in payload.topics if t.direction == "mentor_to_mentee")
        e2m = len(payload.topics) - m2e
    elif isinstance(payload, s.FeedbackSubmittedV1) and payload.kind == "pulse" and payload.rating:
        kind, at, rating = "pulse", payload.submitted_at, payload.rating
    elif isinstance(payload, s.PairAtRiskV1):
        kind, at, reason = "at_risk", payload.detected_at, payload.reason
    elif isinstance(payload, s.PairRiskResolvedV1):
        kind, at, reason = "resolved", payload.resolved_at, payload.reason
    elif isinstance(payload, s.PairClosedV1):
        kind, at = "closed", payload.closed_at
    else:
        return
    await health.add(
        conn,
        event_id=event_id,
        cohort_id=payload.cohort_id,
        relationship_id=payload.relationship_id,
        kind=kind,
        at=at,
        reason=reason,
        m2e=m2e,
        e2m=e2m,
        rating=rating,
    )


async def forget_before(conn: Conn, before: datetime, limit: int) -> int:
    return await health.delete_older_than(conn, before, limit)
