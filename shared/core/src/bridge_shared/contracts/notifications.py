"""Events published by the notifications service."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from bridge_shared.contracts.common import Identifier
from bridge_shared.events import topics
from bridge_shared.events.registry import EventPayload, event

Channel = Literal["email", "chat", "inbox"]


@event(
    "notifications.notification.sent",
    version=1,
    topic=topics.NOTIFICATIONS_NOTIFICATION,
    key="notification_id",
)
class NotificationSentV1(EventPayload):
    notification_id: Identifier
    recipient_id: Identifier
    cohort_id: Identifier | None = None
    channel: Channel
    kind: str
    source_event_id: Identifier
    sent_at: datetime


@event(
    "notifications.notification.failed",
    version=1,
    topic=topics.NOTIFICATIONS_NOTIFICATION,
    key="notification_id",
)
class NotificationFailedV1(EventPayload):
    notification_id: Identifier
    recipient_id: Identifier
    cohort_id: Identifier | None = None
    channel: Channel
    kind: str
    source_event_id: Identifier
    reason: str
    permanent: bool
    failed_at: datetime
