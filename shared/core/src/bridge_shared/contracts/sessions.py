"""Events published by the sessions service."""

from __future__ import annotations

from datetime import date, datetime

from bridge_shared.contracts.common import Identifier
from bridge_shared.events import topics
from bridge_shared.events.registry import EventPayload, event


@event("sessions.relationship.started", version=1, topic=topics.SESSIONS_RELATIONSHIP, key="relationship_id")
class RelationshipStartedV1(EventPayload):
    relationship_id: Identifier
    pair_id: Identifier
    cohort_id: Identifier
    mentor_id: Identifier
    mentee_id: Identifier
    started_at: datetime
    planned_end: date | None = None
