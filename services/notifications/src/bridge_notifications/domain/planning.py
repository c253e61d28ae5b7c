"""Pure planning: what one routed event means for one recipient, given their effective preferences.

The use case (`app/planning.py`) looks people and preferences up and stores the result; everything
decided here (links, due times, channels, digest and quiet-hours holds, dedup keys, attachments,
what each channel's text says about them) is a function of its inputs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, time

from bridge_notifications.domain import circles
from bridge_notifications.domain.privacy import unless_erased
from bridge_notifications.domain.recipients import Person, Prefs
from bridge_notifications.domain.rendering import Context, InviteNote, Rendered, render
from bridge_notifications.domain.routing import Notify, RouteContext, RoutedPayload
from bridge_notifications.domain.timing import next_allowed, next_local_time, zone
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts import circles as c
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s


class UnknownRecipient(LookupError):
    """A participant id we have not learnt yet; the consumer retries, then dead-letters."""


def dedup_key(source_event_id: str, recipient_id: str, channel: str) -> str:
    return f"{source_event_id}:{recipient_id}:{channel}"


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    """An email or chat message to store in `deliveries` (sent later by the dispatcher)."""

    key: str
    source_event_id: str
    recipient_id: str
    cohort_id: str | None
    channel: str
    kind: str
    to_address: str
    subject: str
    body_text: str
    body_html: str | None
    attachments: tuple[Context, ...]
    due_at: datetime
    status: str
    group_key: str | None
    held_reason: str | None
    locale: str
    employee_id: str | None
    chat_format: str | None


@dataclass(frozen=True, slots=True)
class PlannedInboxItem:
    """An in-app inbox item, visible from `visible_at`."""

    key: str
    employee_id: str
    recipient_id: str
    cohort_id: str | None
    kind: str
    subject: str
    body: str
    link: str | None
    group_key: str | None
    visible_at: datetime


Planned = PlannedDelivery | PlannedInboxItem


def links(settings: NotificationsSettings, payload: RoutedPayload) -> Context:
    app = settings.app_base_url.rstrip("/")
    rid = getattr(payload, "relationship_id", None)
    out: Context = {
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
        out["agreement_url"] = f"{app}/relationships/{rid}/agreement"
        out["midpoint_survey_url"] = f"{app}/relationships/{rid}/surveys/midpoint"
    sid = getattr(payload, "session_id", None)
    if rid and sid:
        out["pulse_url"] = f"{app}/relationships/{rid}/sessions/{sid}/pulse"
    out["cohort_url"] = f"{app}/hr/cohorts/{payload.cohort_id}"
    return out


def primary_link(kind: str, ctx: Context) -> str | None:
    if kind.startswith("circle_"):
        return circles.primary_link(kind, ctx)
    if kind == "match_proposed":
        return str(ctx.get("accept_url"))
    if kind == "closing_survey":
        return str(ctx.get("survey_url"))
    if kind in ("agreement_to_confirm", "agreement_reminder"):
        return str(ctx.get("agreement_url"))
    if kind == "pulse_request":
        return str(ctx.get("pulse_url"))
    if kind == "midpoint_survey":
        return str(ctx.get("midpoint_survey_url"))
    if kind == "partner_left":
        return str(ctx.get("new_partner_url"))
    url = ctx.get("relationship_url")
    return str(url) if url is not None else None


def due_at(action: Notify, payload: RoutedPayload, ctx: RouteContext, now: datetime) -> datetime | None:
    """When the notification is due; None when it is a reminder whose time has passed, or one that
    would not be due before its `until` (dropped)."""
    due = action.at.at(payload, ctx) if action.at else now
    if due <= now:
        if action.skip_if_late:
            return None
        due = now
    if action.until is not None and due >= action.until.at(payload, ctx):
        return None
    return due


def pair_context(
    settings: NotificationsSettings, payload: RoutedPayload, mentor: Person, mentee: Person, ctx: RouteContext
) -> Context:
    return {
        **payload.model_dump(),
        # Free text that opened as the erased placeholder is not shown (docs/privacy.md).
        "reason": unless_erased(getattr(payload, "reason", None)),
        **links(settings, payload),
        "mentor_name": mentor.display_name,
        "mentee_name": mentee.display_name,
        # Who acted (declined a proposal, drafted an agreement): one of the two, by participant id.
        "actor_name": _actor_name(payload, mentor, mentee),
        "days": ctx.escalate_after.days,
        "survey_due": getattr(payload, "closing_survey_due", None),
        **_leaver(payload, mentor, mentee),
    }


def _leaver(payload: RoutedPayload, mentor: Person, mentee: Person) -> Context:
    """Who of the two left the company (pair.closed v2's `left_participant_id`) and who stayed."""
    left = getattr(payload, "left_participant_id", None)
    if left is None or left not in (mentor.recipient_id, mentee.recipient_id):
        return {"leaver_name": None, "leaver_role": None, "remaining_name": None}
    leaver, stayer, role = (
        (mentor, mentee, "mentor") if left == mentor.recipient_id else (mentee, mentor, "mentee")
    )
    return {"leaver_name": leaver.display_name, "leaver_role": role, "remaining_name": stayer.display_name}


def _actor_name(payload: RoutedPayload, mentor: Person, mentee: Person) -> str | None:
    actor = getattr(payload, "participant_id", None) or getattr(payload, "by_participant_id", None)
    return {mentor.recipient_id: mentor.display_name, mentee.recipient_id: mentee.display_name}.get(
        str(actor) if actor else ""
    )


def hr_context(settings: NotificationsSettings, base: Context, hr: Person, cohort_id: str) -> Context:
    app = settings.app_base_url.rstrip("/")
    return {
        **base,
        "recipient_name": hr.display_name,
        "cohort_name": hr.display_name,
        "preferences_url": f"{app}/hr/cohorts/{cohort_id}/notification-defaults",
    }


def participant_context(
    settings: NotificationsSettings,
    base: Context,
    payload: RoutedPayload,
    me: Person,
    partner: Person,
    role: str,
    prefs: Prefs,
) -> Context:
    explanation = unless_erased(getattr(getattr(payload, "explanation", None), "summary", None))
    app = settings.app_base_url.rstrip("/")
    return {
        **base,
        # Where they choose a new partner: matching's suggestions for this enrolment, from which a
        # request (POST /cohorts/{cohort}/participants/{id}/requests) is made.
        "new_partner_url": f"{app}/cohorts/{payload.cohort_id}/participants/{me.recipient_id}/suggestions",
        "recipient_name": me.display_name,
        "partner_name": partner.display_name,
        "role": role,
        "explanation": explanation if prefs.locale == "en" else None,
        "preferences_url": settings.preferences_url(me.recipient_id),
    }


def invite_attachments(action: Notify, payload: RoutedPayload) -> tuple[Context, ...]:
    invite = getattr(payload, "invite", None)
    # A circle's group session has one invite naming every member: each member's e-mail carries it.
    if not (action.attach_invite and isinstance(invite, s.CalendarInvite | c.CircleInvite)):
        return ()
    if unless_erased(invite.ics) is None:  # sealed under someone erased: nothing to attach
        return ()
    return (
        {
            "filename": "invite.ics",
            "content_type": "text/calendar",
            "method": invite.method,
            "content_b64": base64.b64encode(invite.ics.encode()).decode(),
        },
    )


def chosen_channels(action: Notify, prefs: Prefs) -> tuple[str, ...]:
    """The channels both the rule and the recipient allow, in the rule's order."""
    return tuple(c for c in action.channels if c in prefs.channels)


def invite_notes(
    attachments: tuple[Context, ...], channels: tuple[str, ...]
) -> tuple[InviteNote | None, InviteNote | None]:
    """What the e-mail, and what chat and the inbox, may say about the calendar invite. Only an
    e-mail carries attachments, so only it says "attached", and only when there is one (an invite
    that opened as erased is not attached); chat and the inbox point to the e-mail when this person
    gets it, and say nothing otherwise."""
    if not attachments:
        return None, None
    return "attached", "by_email" if "email" in channels else None


@dataclass(frozen=True, slots=True)
class Contents:
    """One notification for one recipient, as e-mailed and as shown in chat and the inbox; the two
    differ only in what they say about the calendar invite."""

    email: Rendered
    elsewhere: Rendered


def render_contents(
    action: Notify, prefs: Prefs, context: Context, attachments: tuple[Context, ...]
) -> Contents:
    """Renders once, or twice when the e-mail carries an invite that the other channels cannot."""
    email_note, elsewhere_note = invite_notes(attachments, chosen_channels(action, prefs))

    def rendered(note: InviteNote | None) -> Rendered:
        return render(action.kind, prefs.locale, prefs.timezone, context, invite_note=note)

    email = rendered(email_note)
    return Contents(email, email if elsewhere_note == email_note else rendered(elsewhere_note))


def plan_for(
    *,
    settings: NotificationsSettings,
    event_id: str,
    source_key: str,
    action: Notify,
    who: Person,
    prefs: Prefs,
    content: Contents,
    context: Context,
    attachments: tuple[Context, ...],
    due: datetime,
    group: str | None,
) -> list[Planned]:
    """The deliveries and inbox item of one notification for one recipient, on the channels both
    the rule and the recipient allow; email/chat held for the daily digest or past quiet hours."""
    out: list[Planned] = []
    tz = zone(prefs.timezone)
    for channel in chosen_channels(action, prefs):
        key = dedup_key(source_key, who.recipient_id, channel)
        if channel == "inbox":
            if who.employee_id:
                out.append(
                    PlannedInboxItem(
                        key=key,
                        employee_id=who.employee_id,
                        recipient_id=who.recipient_id,
                        cohort_id=who.cohort_id,
                        kind=action.kind,
                        subject=content.elsewhere.subject,
                        body=content.elsewhere.body_text,
                        link=primary_link(action.kind, context),
                        group_key=group,
                        visible_at=due,
                    )
                )
            continue
        if channel == "chat" and not prefs.chat_webhook_url:
            continue
        status, held = "pending", None
        if prefs.digest == "daily" and action.digestible:
            status, held = "digest", "daily_digest"
            send_at = next_local_time(due, tz, time(settings.digest_local_hour))
        else:
            send_at = next_allowed(due, tz, prefs.quiet_start, prefs.quiet_end)
            if send_at != due:
                held = "quiet_hours"
        email = channel == "email"
        out.append(
            PlannedDelivery(
                key=key,
                source_event_id=event_id,
                recipient_id=who.recipient_id,
                cohort_id=who.cohort_id,
                channel=channel,
                kind=action.kind,
                to_address=who.email if email else str(prefs.chat_webhook_url),
                subject=content.email.subject,
                body_text=content.email.text if email else content.elsewhere.body_text,
                body_html=content.email.html if email else None,
                attachments=attachments if email else (),
                due_at=send_at,
                status=status,
                group_key=group,
                held_reason=held,
                locale=prefs.locale,
                employee_id=who.employee_id,
                chat_format=prefs.chat_format if channel == "chat" else None,
            )
        )
    return out
