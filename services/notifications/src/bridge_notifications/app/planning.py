"""Applies the routing table to one inbound event: resolves recipients, preferences and timing,
renders, and stores deliveries (email/chat) and inbox items, all in the consumer's transaction."""

from __future__ import annotations

import base64
import logging
from datetime import datetime, time, timedelta
from typing import Any, TypeAlias, cast

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bridge_notifications.db import deliveries, directory, inbox
from bridge_notifications.db.directory import Person, Prefs
from bridge_notifications.domain import routing
from bridge_notifications.domain.rendering import render
from bridge_notifications.domain.routing import Cancel, Notify, RouteContext
from bridge_notifications.domain.timing import next_allowed, next_local_time, zone
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.events.envelope import InboundEvent

log = logging.getLogger(__name__)
Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"


class UnknownRecipient(LookupError):
    """A participant id we have not learnt yet; the consumer retries, then dead-letters."""


def links(settings: NotificationsSettings, payload: Any) -> dict[str, Any]:
    app = settings.app_base_url.rstrip("/")
    rid = getattr(payload, "relationship_id", None)
    out: dict[str, Any] = {
        "relationship_url": f"{app}/relationships/{rid}"
        if rid
        else f"{app}/pairs/{getattr(payload, 'pair_id', '')}",
        "inbox_url": f"{app}/inbox",
    }
    if isinstance(payload, m.MatchProposedV1):
        out["accept_url"] = f"{app}/proposals/{payload.proposal_id}?response=accept"
        out["decline_url"] = f"{app}/proposals/{payload.proposal_id}?response=decline"
    if rid:
        out["survey_url"] = f"{app}/relationships/{rid}/closing-survey"
    return out


def primary_link(kind: str, ctx: dict[str, Any]) -> str | None:
    if kind == "match_proposed":
        return str(ctx.get("accept_url"))
    if kind == "closing_survey":
        return str(ctx.get("survey_url"))
    return ctx.get("relationship_url")


def hr_prefs(defaults: dict[str, Any], hr: Person) -> Prefs:
    channels = ("email", "chat") if defaults.get("hr_chat_webhook_url") else ("email",)
    return Prefs(
        channels,
        None,
        None,
        "immediate",
        hr.locale,
        hr.timezone,
        defaults.get("hr_chat_webhook_url"),
        defaults.get("hr_chat_format") or "slack",
    )


class Planner:
    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings

    async def _pair(self, conn: Conn, payload: Any) -> tuple[Person, Person]:
        if isinstance(payload, m.MatchProposedV1 | m.PairFormedV1):
            for ref in (payload.mentor, payload.mentee):
                await directory.upsert_recipient(conn, ref, payload.cohort_id)
            return (
                directory.person_from_ref(payload.mentor, payload.cohort_id),
                directory.person_from_ref(payload.mentee, payload.cohort_id),
            )
        found = []
        for pid in (payload.mentor_id, payload.mentee_id):
            p = await directory.person(conn, pid)
            if p is None:
                raise UnknownRecipient(f"participant {pid} is not in the recipient directory yet")
            found.append(p)
        return found[0], found[1]

    async def apply(self, conn: Conn, event: InboundEvent, now: datetime) -> int:
        payload = event.payload
        actions = routing.ROUTES.get(event.type, ())
        hr_email = getattr(payload, "hr_contact_email", None)
        cohort_id: str = payload.cohort_id  # type: ignore[attr-defined, unused-ignore]
        if hr_email:
            await directory.upsert_cohort(conn, cohort_id, hr_contact_email=str(hr_email))
        defaults = await directory.cohort_defaults(conn, cohort_id)
        ctx = RouteContext(
            reminder_before=timedelta(hours=self.settings.reminder_hours_before),
            escalate_after=timedelta(
                days=defaults.get("escalate_after_days") or self.settings.escalate_after_days
            ),
        )
        pair: tuple[Person, Person] | None = None
        created = 0
        first_notify = True
        for action in actions:
            if isinstance(action, Cancel):
                cgroup = routing.group_name(action.group, payload)
                n = await deliveries.cancel_group(
                    conn,
                    cgroup,
                    prefix=action.prefix,
                    now=now,
                    reason=f"cancelled by {event.type} {event.id}",
                )
                n += await inbox.withdraw_group(conn, cgroup, prefix=action.prefix, now=now)
                log.info("cancelled %d pending notifications of %s", n, cgroup)
                continue
            assert isinstance(action, Notify)
            if action.only_if is not None and not action.only_if(payload):
                continue
            source_key = event.id if first_notify else f"{event.id}#{action.kind}"
            first_notify = False
            due = action.at.at(payload, ctx) if action.at else now
            if due <= now:
                if action.skip_if_late:
                    continue
                due = now
            group = routing.group_name(action.group, payload) if action.group else None
            if pair is None:
                pair = await self._pair(conn, payload)
            mentor, mentee = pair
            base = {
                **payload.model_dump(),
                **links(self.settings, payload),
                "mentor_name": mentor.display_name,
                "mentee_name": mentee.display_name,
                "days": ctx.escalate_after.days,
                "survey_due": getattr(payload, "closing_survey_due", None),
            }
            if action.to == "hr":
                hr, hr_defaults = await directory.hr_person(conn, cohort_id, self.settings)
                if hr is None:
                    log.warning("no HR contact known for cohort %s; %s not sent", cohort_id, action.kind)
                    continue
                app = self.settings.app_base_url.rstrip("/")
                context = {
                    **base,
                    "recipient_name": hr.display_name,
                    "cohort_name": hr.display_name,
                    "preferences_url": f"{app}/hr/cohorts/{cohort_id}/notification-defaults",
                }
                created += await self._deliver(
                    conn, event, action, source_key, hr, hr_prefs(hr_defaults, hr), context, due, group, now
                )
                continue
            for me, partner, role in ((mentor, mentee, "mentor"), (mentee, mentor, "mentee")):
                prefs = await directory.effective_prefs(conn, me, self.settings)
                explanation = getattr(getattr(payload, "explanation", None), "summary", None)
                context = {
                    **base,
                    "recipient_name": me.display_name,
                    "partner_name": partner.display_name,
                    "role": role,
                    "explanation": explanation if prefs.locale == "en" else None,
                    "preferences_url": f"{self.settings.preferences_base_url.rstrip('/')}/{me.recipient_id}",
                }
                created += await self._deliver(
                    conn, event, action, source_key, me, prefs, context, due, group, now
                )
        return created

    async def _deliver(
        self,
        conn: Conn,
        event: InboundEvent,
        action: Notify,
        source_key: str,
        who: Person,
        prefs: Prefs,
        context: dict[str, Any],
        due: datetime,
        group: str | None,
        now: datetime,
    ) -> int:
        content = render(action.kind, prefs.locale, prefs.timezone, context)
        attachments: list[dict[str, Any]] = []
        invite = getattr(event.payload, "invite", None)
        if action.attach_invite and isinstance(invite, s.CalendarInvite):
            attachments.append(
                {
                    "filename": "invite.ics",
                    "content_type": "text/calendar",
                    "method": invite.method,
                    "content_b64": base64.b64encode(invite.ics.encode()).decode(),
                }
            )
        channels = [c for c in action.channels if c in prefs.channels]
        created = 0
        tz = zone(prefs.timezone)
        for channel in channels:
            key = deliveries.dedup_key(source_key, who.recipient_id, channel)
            if channel == "inbox":
                if who.employee_id and await inbox.add(
                    conn,
                    key=key,
                    employee_id=who.employee_id,
                    recipient_id=who.recipient_id,
                    cohort_id=who.cohort_id,
                    kind=action.kind,
                    subject=content.subject,
                    body=content.body_text,
                    link=primary_link(action.kind, context),
                    group_key=group,
                    visible_at=due,
                    now=now,
                ):
                    created += 1
                continue
            if channel == "chat" and not prefs.chat_webhook_url:
                continue
            status, held, send_at = "pending", cast("str | None", None), due
            if prefs.digest == "daily" and action.digestible:
                status, held = "digest", "daily_digest"
                send_at = next_local_time(due, tz, time(self.settings.digest_local_hour))
            else:
                send_at = next_allowed(due, tz, prefs.quiet_start, prefs.quiet_end)
                if send_at != due:
                    held = "quiet_hours"
            row = await deliveries.create(
                conn,
                now=now,
                source_event_id=event.id,
                recipient_id=who.recipient_id,
                cohort_id=who.cohort_id,
                channel=channel,
                kind=action.kind,
                to_address=who.email if channel == "email" else str(prefs.chat_webhook_url),
                subject=content.subject,
                body_text=content.text if channel == "email" else content.body_text,
                body_html=content.html if channel == "email" else None,
                attachments=attachments if channel == "email" else [],
                due_at=send_at,
                status=status,
                group_key=group,
                held_reason=held,
                locale=prefs.locale,
                employee_id=who.employee_id,
                chat_format=prefs.chat_format if channel == "chat" else None,
                key=key,
            )
            created += row is not None
        return created
