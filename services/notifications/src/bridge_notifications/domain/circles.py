"""Pure planning of mentoring circles' notifications (issue 15): who in a circle a rule means, the
links and the words each member's message is rendered with.

A circle has up to twenty members, one of them its facilitator. Each member is written to in their own
language and time zone (the weekly slot, given in UTC, is shown as it falls in their zone); an erased
member is never a recipient and never named, and someone who left the company is never a recipient,
but neither silences the circle: the others still hear about it (unlike a pair, where an erased
partner stops every message about the pair, because there each message is about that one person).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bridge_notifications.domain.privacy import unless_erased
from bridge_notifications.domain.recipients import Person, Prefs
from bridge_notifications.domain.rendering import Context
from bridge_notifications.domain.routing import CirclePayload, CircleRecipients, RouteContext
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts import circles as c

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class CirclePeople:
    """The circle as far as this event concerns it: its members (the event's order), its facilitator,
    and who of them may be written to and named."""

    member_ids: tuple[str, ...]
    facilitator_id: str | None
    known: Mapping[str, Person]
    """Members found (in the event or the directory), the erased left out."""
    erased: frozenset[str] = frozenset()
    left: frozenset[str] = frozenset()

    def name(self, participant_id: str | None) -> str | None:
        """A member's display name; None when they are erased or not known."""
        if participant_id is None or participant_id in self.erased:
            return None
        who = self.known.get(participant_id)
        return who.display_name if who is not None else None

    def names(self, *, besides: str | None = None) -> list[str]:
        """The members' names in the event's order (the erased left out), without `besides`."""
        return [n for pid in self.member_ids if pid != besides and (n := self.name(pid)) is not None]


def member_ids(payload: CirclePayload) -> tuple[str, ...]:
    """The circle's members as the event names them (a refill's newcomer included)."""
    ids = list(getattr(payload, "member_ids", ()))
    added = getattr(payload, "added", None)
    if isinstance(added, c.CircleMember) and added.participant_id not in ids:
        ids.append(added.participant_id)
    return tuple(dict.fromkeys(str(i) for i in ids))


def actor_id(payload: CirclePayload) -> str | None:
    """Who acted, when the event says (the agreement's drafter)."""
    return payload.drafted_by if isinstance(payload, c.CircleAgreementDraftedV1) else None


def recipients(to: CircleRecipients, payload: CirclePayload, people: CirclePeople) -> list[str]:
    """The participant ids a circle rule addresses, in the event's order, before the erased and
    leavers are left out (that is the caller's, who logs it)."""
    if to == "members":
        return list(people.member_ids)
    if to == "others":
        acted = actor_id(payload)
        return [pid for pid in people.member_ids if pid != acted]
    if to == "facilitator":
        return [people.facilitator_id] if people.facilitator_id else []
    added = getattr(payload, "added", None)
    return [added.participant_id] if isinstance(added, c.CircleMember) else []


def next_slot(slot: c.WeeklySlot, after: datetime) -> tuple[datetime, datetime]:
    """The first occurrence of the weekly slot at or after `after`: its start and end (UTC). Each
    member's message shows it in their own zone, so it reads right across a daylight-saving change
    that falls between now and then."""
    now = after.astimezone(UTC)
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    start = monday + timedelta(days=slot.weekday, minutes=slot.start_minute)
    if start < now:
        start += WEEK
    return start, start + timedelta(minutes=slot.duration_minutes)


def links(settings: NotificationsSettings, payload: CirclePayload) -> Context:
    app = settings.app_base_url.rstrip("/")
    cid = payload.circle_id
    out: Context = {
        "circle_url": f"{app}/circles/{cid}",
        "agreement_url": f"{app}/circles/{cid}/agreement",
        "accept_url": f"{app}/circles/{cid}/invitation?response=accept",
        "decline_url": f"{app}/circles/{cid}/invitation?response=decline",
        "hr_circle_url": f"{app}/hr/cohorts/{payload.cohort_id}/circles/{cid}",
        "cohort_url": f"{app}/hr/cohorts/{payload.cohort_id}",
        "inbox_url": f"{app}/inbox",
    }
    session_id = getattr(payload, "session_id", None)
    if session_id:
        out["session_url"] = f"{app}/circles/{cid}/sessions/{session_id}"
        out["activity_url"] = f"{app}/circles/{cid}/sessions/{session_id}/activity"
    return out


_PRIMARY = {
    "circle_proposed": "accept_url",
    "circle_refilled": "accept_url",
    "circle_agreement_to_confirm": "agreement_url",
    "circle_agreement_reminder": "agreement_url",
    "circle_session_scheduled": "session_url",
    "circle_session_rescheduled": "session_url",
    "circle_session_reminder": "session_url",
    "circle_activity_prompt": "activity_url",
    "circle_escalation": "hr_circle_url",
}


def primary_link(kind: str, ctx: Context) -> str | None:
    """What a circle notification's inbox item opens."""
    url = ctx.get(_PRIMARY.get(kind, "circle_url")) or ctx.get("circle_url")
    return str(url) if url is not None else None


def circle_context(
    settings: NotificationsSettings,
    payload: CirclePayload,
    people: CirclePeople,
    ctx: RouteContext,
    *,
    activity_id: str | None,
) -> Context:
    """What every recipient's message about the event may say (the same for all of them)."""
    slot = getattr(payload, "weekly_slot", None)
    starts, ends = next_slot(slot, ctx.now) if isinstance(slot, c.WeeklySlot) else (None, None)
    added = getattr(payload, "added", None)
    return {
        **payload.model_dump(),
        **links(settings, payload),
        # An at-risk reason is a code with words in `_common.j2` (`circle_reason_<code>`); a
        # dissolution's free text is not shown (HR's words about the circle's people).
        "reason": None,
        "circle_reason": payload.reason if isinstance(payload, c.CircleAtRiskV1) else None,
        "explanation": None,  # the summary, for English readers only: member_context
        "members": None,  # contact details are not for templates; names below
        "member_count": len(people.member_ids),
        "member_names": people.names(),
        "facilitator_name": people.name(people.facilitator_id),
        "actor_name": people.name(actor_id(payload)),
        "newcomer_name": people.name(added.participant_id) if isinstance(added, c.CircleMember) else None,
        "slot_starts": starts,
        "slot_ends": ends,
        "activity_id": activity_id,
        "days": ctx.escalate_after.days,
    }


def member_context(
    settings: NotificationsSettings,
    base: Context,
    payload: CirclePayload,
    me: Person,
    people: CirclePeople,
    prefs: Prefs,
) -> Context:
    """One member's message: their name, their part in the circle, the others by name."""
    summary = getattr(getattr(payload, "explanation", None), "summary", None)
    return {
        **base,
        "recipient_name": me.display_name,
        "role": "facilitator" if me.recipient_id == people.facilitator_id else "member",
        "other_names": people.names(besides=me.recipient_id),
        "explanation": unless_erased(summary) if prefs.locale == "en" else None,
        "preferences_url": settings.preferences_url(me.recipient_id),
    }
