"""The routing table: event type -> notification kind -> recipients -> channels / template / timing.

This is the one place that says who hears about what. Each inbound event type maps to a list of
actions, applied in order:

- `Notify(kind, to, ...)`: render template `templates/<locale>/<kind>.j2` for each recipient in `to`
  ("pair" = mentor and mentee, "partner" = the one of the two who did not act (`by_participant_id`),
  "remaining" = the one of the two who stayed when the other left the company (`left_participant_id`),
  "hr" = the cohort's HR contact; for mentoring circles: "members" = every member (`member_ids`),
  "others" = every member but the one who acted (`drafted_by`), "facilitator" = the circle's
  facilitator (`facilitator_id`), "newcomer" = the member a refill added) on the rule's channels, intersected
  with the recipient's preferred channels. `at` moves the notification to a later instant (a reminder
  24 h before a session, an escalation N days after detection); `group` names it so a later event
  can cancel it. `digestible` rules go into the daily digest for people who chose one; time-bound
  ones (sessions, reminders, proposals) always go out individually.
- `Cancel(group, prefix)`: withdraws not-yet-sent notifications of a group (reminders of a session
  that moved or was cancelled, an escalation whose risk was resolved, everything of a closed pair).

Whoever left the company (matching.person.left, or named as `left_participant_id` by pair.closed) is
never a recipient again, whatever the rule says (`app/planning.py`, `app/circle_planning.py`, and the
dispatcher at send time).

Mentoring circles (issue 15) have rules of their own below (`CIRCLE_ROUTES`); every group of a circle
starts with `circle:<circle id>:`, so its closure or dissolution withdraws them all. Not routed:
circle.member_responded (a refill or the formed circle says what follows), circle.started (the members
heard at formation), circle_session.held (a group session has no pulse request).

Scheduled, not event-driven (`app/digests.py`, run by `jobs/digests.py`): the participant's daily
digest and HR's weekly digest per cohort (singleton periodic jobs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeAlias

from bridge_shared.contracts import circles as c
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.events.registry import EventPayload

PairRecipients = Literal["pair", "partner", "remaining"]
CircleRecipients = Literal["members", "others", "facilitator", "newcomer"]
Recipients = Literal[PairRecipients, CircleRecipients, "hr"]
ALL_CHANNELS: tuple[str, ...] = ("email", "chat", "inbox")


@dataclass(frozen=True)
class Timing:
    """When a delivery is due, from the event payload and the effective escalation delay."""

    describe: str
    # Any: each rule reads the fields of its own event's payload (starts_at, detected_at).
    at: Callable[[Any, RouteContext], datetime]


@dataclass(frozen=True)
class RouteContext:
    reminder_before: timedelta
    escalate_after: timedelta
    agreement_reminder: timedelta
    now: datetime
    activity_prompt_before: timedelta = timedelta(hours=48)


@dataclass(frozen=True)
class Notify:
    kind: str
    to: Recipients
    channels: tuple[str, ...] = ALL_CHANNELS
    at: Timing | None = None
    group: str | None = None
    digestible: bool = True
    attach_invite: bool = False
    only_if: Callable[[Any], bool] | None = None  # Any: as for Timing.at
    skip_if_late: bool = False  # a reminder whose time has passed is dropped, not sent late
    # Dropped when it would not be due before this instant (a prompt to prepare a session that has
    # already started); otherwise a prompt whose time has passed goes out at once.
    until: Timing | None = None
    # Only when this decline brings the participant's declines in the cohort to the threshold.
    on_repeated_decline: bool = False


@dataclass(frozen=True)
class Cancel:
    group: str
    prefix: bool = False


Action = Notify | Cancel

BEFORE_SESSION = Timing(
    "reminder_hours_before the session starts", lambda p, ctx: p.starts_at - ctx.reminder_before
)
AFTER_DETECTION = Timing(
    "escalate_after_days after the risk was detected", lambda p, ctx: p.detected_at + ctx.escalate_after
)

AFTER_DRAFT = Timing(
    "agreement_reminder_days after the draft", lambda p, ctx: ctx.now + ctx.agreement_reminder
)

REMINDER = "reminder:{relationship_id}:{session_id}"
AGREEMENT = "agreement:{relationship_id}"
HR_ALERT = ("email", "chat")
ESCALATION = "escalation:{relationship_id}:{reason}"


def someone_left(p: Any) -> bool:  # Any: a pair.closed or session.cancelled of either version
    """The relationship ended because one of its two people left the company (pair.closed v2, and
    the cancellations of its sessions to come: session.cancelled v2)."""
    left = getattr(p, "left_participant_id", None)
    return left is not None and left in (p.mentor_id, p.mentee_id)


def _reminder(kind: str = "session_reminder") -> Notify:
    return Notify(kind, "pair", at=BEFORE_SESSION, group=REMINDER, digestible=False, skip_if_late=True)


def _awaiting_confirmation() -> tuple[Action, ...]:
    """A draft (or a new version of a pending one) replaces the previous prompt's reminder."""
    return (
        Cancel(AGREEMENT),
        Notify("agreement_to_confirm", "partner", digestible=False),
        Notify("agreement_reminder", "partner", at=AFTER_DRAFT, group=AGREEMENT, digestible=False),
    )


ROUTES: dict[str, tuple[Action, ...]] = {
    m.MatchProposedV1.event_type: (Notify("match_proposed", "pair", digestible=False),),
    m.MatchDeclinedV1.event_type: (
        Notify("hr_match_declined", "hr", channels=HR_ALERT),
        Notify("hr_repeated_declines", "hr", channels=HR_ALERT, on_repeated_decline=True),
    ),
    m.MatchExpiredV1.event_type: (Notify("hr_match_expired", "hr", channels=HR_ALERT),),
    s.AgreementDraftedV1.event_type: _awaiting_confirmation(),
    s.AgreementAmendedV1.event_type: _awaiting_confirmation(),
    s.AgreementConfirmedV1.event_type: (Cancel(AGREEMENT),),
    s.SessionHeldV1.event_type: (Notify("pulse_request", "pair"),),
    m.PairFormedV1.event_type: (Notify("pair_formed", "pair"),),
    s.SessionScheduledV1.event_type: (
        Notify("session_scheduled", "pair", digestible=False, attach_invite=True),
        _reminder(),
    ),
    s.SessionRescheduledV1.event_type: (
        Cancel(REMINDER),
        Notify("session_rescheduled", "pair", digestible=False, attach_invite=True),
        _reminder(),
    ),
    s.SessionInviteUpdatedV1.event_type: (
        Notify("session_invite_updated", "pair", digestible=False, attach_invite=True),
    ),
    s.SessionCancelledV1.event_type: (
        Cancel(REMINDER),
        # Cancelled because the relationship closed when one of the two left the company: to the
        # partner only.
        Notify(
            "session_cancelled",
            "pair",
            digestible=False,
            attach_invite=True,
            only_if=lambda p: not someone_left(p),
        ),
        Notify("session_cancelled", "remaining", digestible=False, attach_invite=True, only_if=someone_left),
    ),
    s.PairAtRiskV1.event_type: (
        Notify("at_risk_nudge", "pair", only_if=lambda p: p.reason != "one_directional"),
        Notify("one_directional_nudge", "pair", only_if=lambda p: p.reason == "one_directional"),
        Notify(
            "at_risk_escalation",
            "hr",
            channels=("email", "chat"),
            at=AFTER_DETECTION,
            group=ESCALATION,
            digestible=False,
        ),
    ),
    s.PairRiskResolvedV1.event_type: (Cancel(ESCALATION),),
    s.RelationshipEndingSoonV1.event_type: (Notify("ending_soon", "pair"),),
    s.SurveyOpenedV1.event_type: (Notify("midpoint_survey", "pair", only_if=lambda p: p.kind == "midpoint"),),
    s.PairClosedV1.event_type: (
        Cancel("reminder:{relationship_id}:", prefix=True),
        Cancel("escalation:{relationship_id}:", prefix=True),
        Cancel(AGREEMENT),
        # Someone left the company: nothing to them; their partner is told instead of being sent the
        # survey (partner_left links it), and HR gets the leaver's alert instead of the generic one.
        Notify("closing_survey", "pair", digestible=False, only_if=lambda p: not someone_left(p)),
        Notify(
            "hr_pair_closed_early",
            "hr",
            channels=HR_ALERT,
            only_if=lambda p: p.outcome == "ended_early" and not someone_left(p),
        ),
        Notify("partner_left", "remaining", digestible=False, only_if=someone_left),
        Notify("hr_participant_left", "hr", channels=HR_ALERT, only_if=someone_left),
    ),
    m.PairFlaggedV1.event_type: (Notify("hr_pair_flagged", "hr", channels=HR_ALERT),),
}

# -- mentoring circles (issue 15): matching forms them, sessions runs them -----------------------------
# Every group of a circle starts with `circle:<circle id>:`, so its end cancels them all at once.
CIRCLE_REMINDER = "circle:{circle_id}:session:{session_id}"
CIRCLE_AGREEMENT = "circle:{circle_id}:agreement"
CIRCLE_ESCALATION = "circle:{circle_id}:escalation:{reason}"
CIRCLE_ALL = "circle:{circle_id}:"

BEFORE_ACTIVITY = Timing(
    "activity_prompt_hours_before the session starts (at once when that has passed)",
    lambda p, ctx: p.starts_at - ctx.activity_prompt_before,
)
SESSION_START = Timing("the session starts", lambda p, ctx: p.starts_at)
AT_ESCALATION = Timing("escalate_at of the circle.at_risk event", lambda p, ctx: p.escalate_at)


def _circle_session(kind: str) -> tuple[Action, ...]:
    """A group session's message to every member with the one calendar invite (e-mail only can carry
    it), then its reminder to every member and the facilitator's activity prompt, both in the
    session's group so a move or a cancellation withdraws them."""
    return (
        Notify(kind, "members", digestible=False, attach_invite=True),
        Notify(
            "circle_session_reminder",
            "members",
            at=BEFORE_SESSION,
            group=CIRCLE_REMINDER,
            digestible=False,
            skip_if_late=True,
        ),
        Notify(
            "circle_activity_prompt",
            "facilitator",
            at=BEFORE_ACTIVITY,
            group=CIRCLE_REMINDER,
            digestible=False,
            until=SESSION_START,
        ),
    )


def _circle_ended(kind: str) -> tuple[Action, ...]:
    return (Cancel(CIRCLE_ALL, prefix=True), Notify(kind, "members"))


CIRCLE_ROUTES: dict[str, tuple[Action, ...]] = {
    c.CircleProposedV1.event_type: (Notify("circle_proposed", "members", digestible=False),),
    c.CircleRefilledV1.event_type: (
        # The newcomer is invited as the first members were; the facilitator hears who joins (or
        # that the circle goes on smaller). Members who already accepted are told when it forms.
        Notify("circle_refilled", "newcomer", digestible=False, only_if=lambda p: p.added is not None),
        Notify("circle_member_changed", "facilitator"),
    ),
    c.CircleFormedV1.event_type: (Notify("circle_formed", "members"),),
    c.CircleDissolvedV1.event_type: _circle_ended("circle_dissolved"),
    c.CircleAgreementDraftedV1.event_type: (
        Cancel(CIRCLE_AGREEMENT),
        Notify("circle_agreement_to_confirm", "others", digestible=False),
        Notify(
            "circle_agreement_reminder", "others", at=AFTER_DRAFT, group=CIRCLE_AGREEMENT, digestible=False
        ),
    ),
    c.CircleAgreementConfirmedV1.event_type: (Cancel(CIRCLE_AGREEMENT),),
    c.CircleSessionScheduledV1.event_type: _circle_session("circle_session_scheduled"),
    c.CircleSessionRescheduledV1.event_type: (
        Cancel(CIRCLE_REMINDER),
        *_circle_session("circle_session_rescheduled"),
    ),
    c.CircleSessionCancelledV1.event_type: (
        Cancel(CIRCLE_REMINDER),
        Notify("circle_session_cancelled", "members", digestible=False, attach_invite=True),
    ),
    c.CircleAtRiskV1.event_type: (
        Notify("circle_health_nudge", "facilitator", digestible=False),
        Notify(
            "circle_escalation",
            "hr",
            channels=HR_ALERT,
            at=AT_ESCALATION,
            group=CIRCLE_ESCALATION,
            digestible=False,
        ),
    ),
    c.CircleRiskResolvedV1.event_type: (Cancel(CIRCLE_ESCALATION),),
    c.CircleClosedV1.event_type: _circle_ended("circle_closed"),
}
ROUTES.update(CIRCLE_ROUTES)

# The v2 of a type (personal fields sealed, docs/privacy.md) is routed like its v1: producers write
# v2 since the privacy upgrade, and the history from before it is v1.
V2_OF: dict[str, type[EventPayload]] = {
    m.MatchProposedV1.event_type: m.MatchProposedV2,
    m.MatchDeclinedV1.event_type: m.MatchDeclinedV2,
    s.SessionHeldV1.event_type: s.SessionHeldV2,
    m.PairFormedV1.event_type: m.PairFormedV2,
    s.SessionScheduledV1.event_type: s.SessionScheduledV2,
    s.SessionRescheduledV1.event_type: s.SessionRescheduledV2,
    s.SessionCancelledV1.event_type: s.SessionCancelledV2,
    s.PairClosedV1.event_type: s.PairClosedV2,
}
ROUTES.update({v2.event_type: ROUTES[v1] for v1, v2 in V2_OF.items()})

PairPayload: TypeAlias = (
    m.MatchProposedV1
    | m.MatchDeclinedV1
    | m.MatchExpiredV1
    | s.AgreementDraftedV1
    | s.AgreementAmendedV1
    | s.AgreementConfirmedV1
    | s.SessionHeldV1
    | m.PairFormedV1
    | s.SessionScheduledV1
    | s.SessionRescheduledV1
    | s.SessionCancelledV1
    | s.SessionInviteUpdatedV1
    | s.PairAtRiskV1
    | s.PairRiskResolvedV1
    | s.RelationshipEndingSoonV1
    | s.SurveyOpenedV1
    | s.PairClosedV1
    | m.PairFlaggedV1
)
CirclePayload: TypeAlias = (
    c.CircleProposedV1
    | c.CircleRefilledV1
    | c.CircleFormedV1
    | c.CircleDissolvedV1
    | c.CircleAgreementDraftedV1
    | c.CircleAgreementConfirmedV1
    | c.CircleSessionScheduledV1
    | c.CircleSessionRescheduledV1
    | c.CircleSessionCancelledV1
    | c.CircleAtRiskV1
    | c.CircleRiskResolvedV1
    | c.CircleClosedV1
)
RoutedPayload: TypeAlias = PairPayload | CirclePayload
CIRCLE_PAYLOADS = (
    c.CircleProposedV1,
    c.CircleRefilledV1,
    c.CircleFormedV1,
    c.CircleDissolvedV1,
    c.CircleAgreementDraftedV1,
    c.CircleAgreementConfirmedV1,
    c.CircleSessionScheduledV1,
    c.CircleSessionRescheduledV1,
    c.CircleSessionCancelledV1,
    c.CircleAtRiskV1,
    c.CircleRiskResolvedV1,
    c.CircleClosedV1,
)
ROUTED_PAYLOADS = (
    m.MatchProposedV1,
    m.MatchDeclinedV1,
    m.MatchExpiredV1,
    s.AgreementDraftedV1,
    s.AgreementAmendedV1,
    s.AgreementConfirmedV1,
    s.SessionHeldV1,
    m.PairFormedV1,
    s.SessionScheduledV1,
    s.SessionRescheduledV1,
    s.SessionCancelledV1,
    s.SessionInviteUpdatedV1,
    s.PairAtRiskV1,
    s.PairRiskResolvedV1,
    s.RelationshipEndingSoonV1,
    s.SurveyOpenedV1,
    s.PairClosedV1,
    m.PairFlaggedV1,
    m.MatchProposedV2,
    m.MatchDeclinedV2,
    s.SessionHeldV2,
    m.PairFormedV2,
    s.SessionScheduledV2,
    s.SessionRescheduledV2,
    s.SessionCancelledV2,
    s.PairClosedV2,
    *CIRCLE_PAYLOADS,
)
assert {p.event_type for p in ROUTED_PAYLOADS} == set(ROUTES)


def group_name(template: str, payload: EventPayload) -> str:
    return template.format(**payload.model_dump())


# Any: JSON values (strings, lists, booleans, None).
def describe() -> list[dict[str, Any]]:
    """The table as data (served at GET /routing for HR and operators)."""
    out: list[dict[str, Any]] = []
    for event_type, actions in ROUTES.items():
        for a in actions:
            if isinstance(a, Cancel):
                out.append(
                    {"event": event_type, "action": "cancel", "group": a.group + ("*" if a.prefix else "")}
                )
            else:
                out.append(
                    {
                        "event": event_type,
                        "action": "notify",
                        "kind": a.kind,
                        "to": a.to,
                        "channels": list(a.channels),
                        "template": f"<locale>/{a.kind}.j2",
                        "due": a.at.describe if a.at else "immediately",
                        "group": a.group,
                        "digestible": a.digestible,
                        "attach_invite": a.attach_invite,
                        "conditional": a.only_if is not None,
                    }
                )
    out.append(
        {
            "event": "(daily, per recipient)",
            "action": "notify",
            "kind": "daily_digest",
            "to": "participant",
            "channels": ["email", "chat"],
            "template": "<locale>/daily_digest.j2",
            "due": "digest_local_hour in the recipient's zone",
            "group": None,
            "digestible": False,
            "attach_invite": False,
            "conditional": True,
        }
    )
    out.append(
        {
            "event": "(weekly, per cohort)",
            "action": "notify",
            "kind": "weekly_digest",
            "to": "hr",
            "channels": ["email"],
            "template": "<locale>/weekly_digest.j2",
            "due": "weekly_digest_weekday at weekly_digest_local_hour (HR zone)",
            "group": None,
            "digestible": False,
            "attach_invite": False,
            "conditional": False,
        }
    )
    return out
