"""Events published by the sessions service.

Every event is about one relationship: all go to `bridge.sessions.relationship`, keyed by
relationship_id, so consumers see a relationship's history in order. Each carries pair_id and
cohort_id so read models can aggregate without lookups.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from bridge_shared.contracts.common import Identifier
from bridge_shared.events import topics
from bridge_shared.events.registry import EventPayload, event
from bridge_shared.privacy.classification import Classified, Personal
from bridge_shared.privacy.erased import ERASED_TEXT

PERSONAL = Classified("personal")  # v1 types carry these plain: superseded by the sealed v2 types

T = topics.SESSIONS_RELATIONSHIP
Side = Literal["mentor", "mentee"]
Direction = Literal["mentor_to_mentee", "mentee_to_mentor"]


class RelationshipEvent(EventPayload):
    relationship_id: Identifier
    pair_id: Identifier
    cohort_id: Identifier


@event("sessions.relationship.started", version=1, topic=T, key="relationship_id")
class RelationshipStartedV1(RelationshipEvent):
    mentor_id: Identifier
    mentee_id: Identifier
    started_at: datetime
    planned_end: date | None = None


# -- agreement -------------------------------------------------------------------------------


class AgreementEvent(RelationshipEvent):
    agreement_version: int = Field(ge=1)
    by_participant_id: Identifier


@event("sessions.agreement.drafted", version=1, topic=T, key="relationship_id")
class AgreementDraftedV1(AgreementEvent):
    pass


@event("sessions.agreement.confirmed", version=1, topic=T, key="relationship_id")
class AgreementConfirmedV1(AgreementEvent):
    """Emitted when the second side confirms: the agreement (version) is now active."""

    cadence_days: int
    start_date: date
    end_date: date


@event("sessions.agreement.amended", version=1, topic=T, key="relationship_id")
class AgreementAmendedV1(AgreementEvent):
    previous_version: int


# -- sessions --------------------------------------------------------------------------------


class SessionEvent(RelationshipEvent):
    session_id: Identifier
    mentor_id: Identifier
    mentee_id: Identifier
    mentor_timezone: str | None = Field(default=None, description="IANA zone, to render local times")
    mentee_timezone: str | None = Field(default=None, description="IANA zone, to render local times")


class CalendarInvite(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    uid: str
    sequence: int = Field(ge=0)
    method: Literal["REQUEST", "CANCEL"]
    ics: Annotated[str, PERSONAL] = Field(description="The RFC 5545 calendar object, ready to attach")


@event("sessions.session.scheduled", version=1, topic=T, key="relationship_id")
class SessionScheduledV1(SessionEvent):
    starts_at: datetime
    duration_minutes: int
    location: Annotated[str | None, PERSONAL] = None
    invite: CalendarInvite


@event("sessions.session.rescheduled", version=1, topic=T, key="relationship_id")
class SessionRescheduledV1(SessionEvent):
    previous_starts_at: datetime
    starts_at: datetime
    duration_minutes: int
    location: Annotated[str | None, PERSONAL] = None
    invite: CalendarInvite


@event("sessions.session.cancelled", version=1, topic=T, key="relationship_id")
class SessionCancelledV1(SessionEvent):
    starts_at: datetime
    cancelled_by: Annotated[Identifier, PERSONAL]
    reason: Annotated[str | None, PERSONAL] = None
    invite: CalendarInvite


class TopicCovered(BaseModel):
    """One topic of a held session and who taught whom.

    Balance index (the one definition sessions and reporting share): over the topics of a set of
    held sessions (sessions uses the last N held), with a = topics mentor_to_mentee and
    b = topics mentee_to_mentor, `balance = 2 * min(a, b) / (a + b)` in [0, 1]: 1 is an even
    exchange, 0 is entirely one-directional; undefined (None) when there are no topics.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: Annotated[str, PERSONAL]
    direction: Direction


@event("sessions.session.held", version=1, topic=T, key="relationship_id")
class SessionHeldV1(SessionEvent):
    """`topics` feed the balance index (see TopicCovered)."""

    held_at: datetime
    actual_duration_minutes: int
    topics: list[TopicCovered]
    action_items: int = 0


# -- goals -----------------------------------------------------------------------------------


class GoalEvent(RelationshipEvent):
    goal_id: Identifier
    owner_participant_id: Identifier
    owner_side: Side


@event("sessions.goal.set", version=1, topic=T, key="relationship_id")
class GoalSetV1(GoalEvent):
    title: Annotated[str, PERSONAL]


@event("sessions.goal.progressed", version=1, topic=T, key="relationship_id")
class GoalProgressedV1(GoalEvent):
    rating: int = Field(ge=1, le=5)


@event("sessions.goal.achieved", version=1, topic=T, key="relationship_id")
class GoalAchievedV1(GoalEvent):
    pass


@event("sessions.goal.abandoned", version=1, topic=T, key="relationship_id")
class GoalAbandonedV1(GoalEvent):
    reason: Annotated[str | None, PERSONAL] = None


# -- feedback --------------------------------------------------------------------------------


@event("sessions.feedback.submitted", version=1, topic=T, key="relationship_id")
class FeedbackSubmittedV1(RelationshipEvent):
    feedback_id: Identifier
    kind: Literal["pulse", "midpoint", "closing"]
    by_participant_id: Identifier
    by_side: Side
    session_id: Identifier | None = None
    rating: int | None = Field(default=None, ge=1, le=5, description="pulse rating / survey satisfaction")
    recommend_score: int | None = Field(default=None, ge=0, le=10, description="NPS: 0-10")
    submitted_at: datetime


# -- health and closure ----------------------------------------------------------------------

AtRiskReason = Literal["inactive", "cadence_slipping", "one_directional"]


@event("sessions.pair.at_risk", version=1, topic=T, key="relationship_id")
class PairAtRiskV1(RelationshipEvent):
    """Signalled once when a condition starts; `pair.risk_resolved` when it ends."""

    reason: AtRiskReason
    detail: str
    detected_at: datetime
    mentor_id: Identifier
    mentee_id: Identifier
    hr_contact_email: str | None = None
    metric: float | None = Field(
        default=None,
        description="inactive: days since the last held session (or the start); cadence_slipping: "
        "sessions behind the agreed cadence; one_directional: the balance index",
    )


@event("sessions.pair.risk_resolved", version=1, topic=T, key="relationship_id")
class PairRiskResolvedV1(RelationshipEvent):
    reason: AtRiskReason
    resolved_at: datetime


@event("sessions.relationship.ending_soon", version=1, topic=T, key="relationship_id")
class RelationshipEndingSoonV1(RelationshipEvent):
    end_date: date
    mentor_id: Identifier
    mentee_id: Identifier
    days_left: int | None = None


@event("sessions.survey.opened", version=1, topic=T, key="relationship_id")
class SurveyOpenedV1(RelationshipEvent):
    """A survey opened for both participants to answer: announced once per relationship.

    Today the only kind is the mid-point survey: it opens at the midpoint of the agreement in force
    (start_date + (end_date - start_date) / 2, whole days rounded down, from 00:00 UTC) or, without
    one, of the relationship's start and planned end. Nothing personal: ids, dates and a path."""

    mentor_id: Identifier
    mentee_id: Identifier
    kind: Literal["midpoint"]
    opened_at: datetime = Field(description="when the survey was announced open (at or after the midpoint)")
    due: date | None = Field(
        default=None,
        description="when answers are due: `midpoint_survey_days` (14) after the day it opened, or the "
        "relationship's end date if that comes first; answers are still accepted afterwards, until the "
        "relationship closes",
    )
    survey_path: str = Field(
        description="API path where each participant submits the survey (POST, relative to the sessions "
        "service), to link from the request"
    )


@event("sessions.pair.closed", version=1, topic=T, key="relationship_id")
class PairClosedV1(RelationshipEvent):
    outcome: Literal["completed", "ended_early"]
    reason: Annotated[str | None, PERSONAL] = None
    closed_at: datetime
    sessions_held: int
    mentor_id: Identifier
    mentee_id: Identifier
    closed_by: Annotated[Identifier | None, PERSONAL] = Field(
        default=None, description="employee id, or 'scheduler'/'matching'"
    )
    hr_contact_email: str | None = None
    closing_survey_path: str | None = Field(
        default=None,
        description="API path where each participant submits the closing survey "
        "(POST, relative to the sessions service), to link from the request",
    )
    closing_survey_due: date | None = None


# -- v2: personal fields sealed (crypto-shredding, docs/privacy.md) ----------------------------------
# A relationship's free text, calendar invites (they name both attendees) and actors' employee ids
# are sealed under both people's keys: erasing either makes every copy on Kafka unreadable.

_BY_BOTH = ("mentor_id", "mentee_id")


class CalendarInviteV2(CalendarInvite):
    ics: Annotated[str, Personal(by=_BY_BOTH, erased=ERASED_TEXT)] = Field(
        description="The RFC 5545 calendar object, ready to attach (names and e-mails of both people)"
    )


_LOCATION = "room, address or video link: free text, which may name people"


@event("sessions.session.scheduled", version=2, topic=T, key="relationship_id")
class SessionScheduledV2(SessionScheduledV1):
    location: Annotated[str | None, Personal(by=_BY_BOTH, erased=ERASED_TEXT)] = Field(
        default=None, description=_LOCATION
    )
    invite: CalendarInviteV2


@event("sessions.session.rescheduled", version=2, topic=T, key="relationship_id")
class SessionRescheduledV2(SessionRescheduledV1):
    location: Annotated[str | None, Personal(by=_BY_BOTH, erased=ERASED_TEXT)] = Field(
        default=None, description=_LOCATION
    )
    invite: CalendarInviteV2


@event("sessions.session.cancelled", version=2, topic=T, key="relationship_id")
class SessionCancelledV2(SessionCancelledV1):
    # Minimised: no consumer needs who cancelled (an employee id); it stays in sessions.
    cancelled_by: SkipJsonSchema[Identifier | None] = Field(default=None, exclude=True)  # type: ignore[assignment]
    reason: Annotated[str | None, Personal(by=_BY_BOTH, erased=ERASED_TEXT)] = None
    invite: CalendarInviteV2
    left_participant_id: Identifier | None = Field(
        default=None,
        description="Set when the session was cancelled because this one of the two left the company "
        "(the relationship closed with pair.closed's left_participant_id): the cancellation goes to "
        "the partner only; nothing more is sent to the one who left.",
    )


@event("sessions.session.invite_updated", version=1, topic=T, key="relationship_id")
class SessionInviteUpdatedV1(SessionEvent):
    """A scheduled session's calendar invite re-issued because a person's profile changed (a new
    e-mail address or name of an attendee, or a new time zone): same UID, higher SEQUENCE, same time.
    Sealed from the start, like the v2 session events."""

    starts_at: datetime
    duration_minutes: int
    location: Annotated[str | None, Personal(by=_BY_BOTH, erased=ERASED_TEXT)] = Field(
        default=None, description=_LOCATION
    )
    invite: CalendarInviteV2
    changed: list[Literal["attendee", "timezone"]] = Field(
        min_length=1, max_length=2, description="what changed: an attendee (e-mail or name), a time zone"
    )


class TopicCoveredV2(TopicCovered):
    topic: Annotated[str, Personal(by=_BY_BOTH, erased=ERASED_TEXT)] = Field(
        description="what was covered: free text, which may name people"
    )


@event("sessions.session.held", version=2, topic=T, key="relationship_id")
class SessionHeldV2(SessionHeldV1):
    """`topics[].topic` is sealed; `topics[].direction` (the balance index's input) stays plain."""

    topics: list[TopicCoveredV2]  # type: ignore[assignment]  # the same list, of the sealed subclass


@event("sessions.goal.set", version=2, topic=T, key="relationship_id")
class GoalSetV2(GoalSetV1):
    mentor_id: Identifier
    mentee_id: Identifier
    title: Annotated[str, Personal(by=_BY_BOTH, erased=ERASED_TEXT)]


@event("sessions.goal.abandoned", version=2, topic=T, key="relationship_id")
class GoalAbandonedV2(GoalAbandonedV1):
    mentor_id: Identifier
    mentee_id: Identifier
    reason: Annotated[str | None, Personal(by=_BY_BOTH, erased=ERASED_TEXT)] = None


@event("sessions.pair.closed", version=2, topic=T, key="relationship_id")
class PairClosedV2(PairClosedV1):
    reason: Annotated[str | None, Personal(by=_BY_BOTH, erased=ERASED_TEXT)] = None
    # Minimised: no consumer needs who closed it (an employee id); it stays in sessions.
    closed_by: SkipJsonSchema[Identifier | None] = Field(default=None, exclude=True)
    left_participant_id: Identifier | None = Field(
        default=None,
        description="Set when the relationship ended because this one of the two left the company: "
        "nothing more is sent to them (no closing survey); their partner is told and offered a rematch.",
    )
