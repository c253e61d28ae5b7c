"""The routing table: event type -> notification kind -> recipients -> channels / template / timing.

This is the one place that says who hears about what. Each inbound event type maps to a list of
actions, applied in order:

- `Notify(kind, to, ...)`: render template `templates/<locale>/<kind>.j2` for each recipient in `to`
  ("pair" = mentor and mentee, "hr" = the cohort's HR contact) on the rule's channels, intersected
  with the recipient's preferred channels. `at` moves the notification to a later instant (a reminder
  24 h before a session, an escalation N days after detection); `group` names it so a later event
  can cancel it. `digestible` rules go into the daily digest for people who chose one; time-bound
  ones (sessions, reminders, proposals) always go out individually.
- `Cancel(group, prefix)`: withdraws not-yet-sent notifications of a group (reminders of a session
  that moved or was cancelled, an escalation whose risk was resolved, everything of a closed pair).

Scheduled, not event-driven (`app/digests.py`, run by `jobs/digests.py`): the participant's daily
digest and HR's weekly digest per cohort (singleton periodic jobs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeAlias

from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.events.registry import EventPayload

Recipients = Literal["pair", "hr"]
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

REMINDER = "reminder:{relationship_id}:{session_id}"
ESCALATION = "escalation:{relationship_id}:{reason}"


def _reminder(kind: str = "session_reminder") -> Notify:
    return Notify(kind, "pair", at=BEFORE_SESSION, group=REMINDER, digestible=False, skip_if_late=True)


ROUTES: dict[str, tuple[Action, ...]] = {
    m.MatchProposedV1.event_type: (Notify("match_proposed", "pair", digestible=False),),
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
        Notify("session_cancelled", "pair", digestible=False, attach_invite=True),
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
    s.PairClosedV1.event_type: (
        Cancel("reminder:{relationship_id}:", prefix=True),
        Cancel("escalation:{relationship_id}:", prefix=True),
        Notify("closing_survey", "pair", digestible=False),
    ),
}

# The v2 of a type (personal fields sealed, docs/privacy.md) is routed like its v1: producers write
# v2 since the privacy upgrade, and the history from before it is v1.
V2_OF: dict[str, type[EventPayload]] = {
    m.MatchProposedV1.event_type: m.MatchProposedV2,
    m.PairFormedV1.event_type: m.PairFormedV2,
    s.SessionScheduledV1.event_type: s.SessionScheduledV2,
    s.SessionRescheduledV1.event_type: s.SessionRescheduledV2,
    s.SessionCancelledV1.event_type: s.SessionCancelledV2,
    s.PairClosedV1.event_type: s.PairClosedV2,
}
ROUTES.update({v2.event_type: ROUTES[v1] for v1, v2 in V2_OF.items()})

RoutedPayload: TypeAlias = (
    m.MatchProposedV1
    | m.PairFormedV1
    | s.SessionScheduledV1
    | s.SessionRescheduledV1
    | s.SessionCancelledV1
    | s.SessionInviteUpdatedV1
    | s.PairAtRiskV1
    | s.PairRiskResolvedV1
    | s.RelationshipEndingSoonV1
    | s.PairClosedV1
)
ROUTED_PAYLOADS = (
    m.MatchProposedV1,
    m.PairFormedV1,
    s.SessionScheduledV1,
    s.SessionRescheduledV1,
    s.SessionCancelledV1,
    s.SessionInviteUpdatedV1,
    s.PairAtRiskV1,
    s.PairRiskResolvedV1,
    s.RelationshipEndingSoonV1,
    s.PairClosedV1,
    m.MatchProposedV2,
    m.PairFormedV2,
    s.SessionScheduledV2,
    s.SessionRescheduledV2,
    s.SessionCancelledV2,
    s.PairClosedV2,
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
