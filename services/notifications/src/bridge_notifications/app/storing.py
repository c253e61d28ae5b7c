"""What pair and circle planning share: withdrawing a group (a `Cancel` rule) and storing one
notification for one recipient (its deliveries and inbox item), in the consumer's transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bridge_notifications.db import deliveries, inbox
from bridge_notifications.domain import planning, routing
from bridge_notifications.domain.planning import PlannedDelivery
from bridge_notifications.domain.recipients import Person, Prefs
from bridge_notifications.domain.rendering import Context
from bridge_notifications.domain.routing import Cancel, Notify, RoutedPayload
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.db.connection import Conn

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Step:
    """One Notify action of one event, as far as it is the same for every recipient."""

    event_id: str
    source_key: str
    action: Notify
    payload: RoutedPayload
    due: datetime
    group_key: str | None
    now: datetime


async def cancel(
    conn: Conn, action: Cancel, payload: RoutedPayload, *, event_type: str, event_id: str, now: datetime
) -> int:
    """Withdraws the not-yet-sent deliveries and not-yet-visible inbox items of the rule's group."""
    group = routing.group_name(action.group, payload)
    n = await deliveries.cancel_group(
        conn, group, prefix=action.prefix, now=now, reason=f"cancelled by {event_type} {event_id}"
    )
    n += await inbox.withdraw_group(conn, group, prefix=action.prefix, now=now)
    log.info("cancelled %d pending notifications of %s", n, group)
    return n


async def store(
    conn: Conn, settings: NotificationsSettings, step: Step, who: Person, prefs: Prefs, context: Context
) -> int:
    """Plans and stores one notification for one recipient; returns how many rows were created."""
    attachments = planning.invite_attachments(step.action, step.payload)
    planned = planning.plan_for(
        settings=settings,
        event_id=step.event_id,
        source_key=step.source_key,
        action=step.action,
        who=who,
        prefs=prefs,
        content=planning.render_contents(step.action, prefs, context, attachments),
        context=context,
        attachments=attachments,
        due=step.due,
        group=step.group_key,
    )
    created = 0
    for item in planned:
        if isinstance(item, PlannedDelivery):
            created += await deliveries.add_planned(conn, item, now=step.now) is not None
        else:
            created += await inbox.add(conn, item, now=step.now)
    return created
