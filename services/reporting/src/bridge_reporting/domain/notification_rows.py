"""Read-model rows from notifications' events."""

from __future__ import annotations

from bridge_reporting.domain import tables as t
from bridge_reporting.domain.timeline import Rows
from bridge_reporting.domain.upsert import Row
from bridge_shared.contracts import notifications as n
from bridge_shared.events.registry import EventPayload


def _notification(p: n.NotificationSentV1 | n.NotificationFailedV1) -> Row:
    return {
        "notification_id": p.notification_id,
        "cohort_id": p.cohort_id,
        "recipient_id": p.recipient_id,
        "channel": p.channel,
        "kind": p.kind,
    }


def notification_rows(p: EventPayload) -> Rows:
    if isinstance(p, n.NotificationSentV1):
        return [(t.NOTIFICATIONS, {**_notification(p), "sent_at": p.sent_at})]
    if isinstance(p, n.NotificationFailedV1):
        return [
            (
                t.NOTIFICATIONS,
                {
                    **_notification(p),
                    "failed_at": p.failed_at,
                    "permanent": p.permanent,
                },
            )
        ]
    return []
