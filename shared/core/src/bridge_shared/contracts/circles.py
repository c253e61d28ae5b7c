"""Mentoring circles: groups of 3-20 that mix generations (early-career people with senior leaders),
each with a facilitator, working through facilitated activities; learning flows every way.

matching forms them (`bridge.matching.circle`, keyed by circle_id): a draft is reviewed by HR and
published (circle.proposed), each member accepts or declines (circle.member_responded), a freed place
is refilled (circle.refilled), and once every member accepted the circle is formed (circle.formed).
sessions runs them (`bridge.sessions.circle`, keyed by circle_id): the circle agreement, group
sessions with one calendar invite to all members, activities with their ideas, who taught what to
whom, circle health and the end.

"Junior" and "senior" come from seniority levels under the cohort's policy, never from age. Personal
fields (names, e-mail addresses, employee ids, people's own words, invites naming attendees) are
sealed from the first version, under the keys of the people they concern (docs/privacy.md).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge_shared.contracts.common import (
    EventEmail,
    Identifier,
    Locale,
    Region,
    Seniority,
    TimeZoneName,
)
from bridge_shared.events import topics
from bridge_shared.events.registry import EventPayload, event
from bridge_shared.privacy.classification import Personal
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_ID, ERASED_NAME, ERASED_TEXT

Generation = Literal["junior", "senior", "other"]
"""junior: seniority level at most the policy's circle_junior_max_level; senior: at least its
circle_senior_min_level; other: in between (counted for neither minimum)."""

MAX_MEMBERS = 20
_SELF = ("participant_id",)
_MEMBERS = ("member_ids",)
MemberIds = Annotated[list[Identifier], Field(min_length=2, max_length=MAX_MEMBERS)]


class CircleMember(BaseModel):
    """One member as other services need them to address and report on them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    participant_id: Identifier
    employee_id: Annotated[Identifier, Personal(by=_SELF, erased=ERASED_ID)]
    display_name: Annotated[str, Field(min_length=1, max_length=200), Personal(by=_SELF, erased=ERASED_NAME)]
    email: Annotated[EventEmail, Personal(by=_SELF, erased=ERASED_EMAIL)]
    region: Region
    department: str = Field(min_length=1, max_length=120)
    seniority_level: Seniority
    generation: Generation
    timezone: TimeZoneName
    locale: Locale = "en"


class WeeklySlot(BaseModel):
    """The weekly time every member is free, as UTC weekday and minutes (0 = Monday 00:00 UTC); each
    service renders it in each member's own zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekday: int = Field(ge=0, le=6)
    start_minute: int = Field(ge=0, lt=24 * 60)
    duration_minutes: int = Field(ge=15, le=24 * 60)


class CircleExplanation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    score: float
    breakdown: dict[str, float] = Field(description="criterion -> points (mix, skill coverage, spread)")
    summary: Annotated[str, Field(max_length=4000), Personal(by=_MEMBERS, erased=ERASED_TEXT)] = Field(
        description="Readable reasons; may name members"
    )


class CircleEvent(EventPayload):
    circle_id: Identifier
    cohort_id: Identifier


# -- matching: forming circles -----------------------------------------------------------------------


@event("matching.circle.proposed", version=1, topic=topics.MATCHING_CIRCLE, key="circle_id")
class CircleProposedV1(CircleEvent):
    """HR published a circle of the cohort's draft: each member is asked to accept or decline."""

    run_id: Identifier | None = None
    member_ids: MemberIds
    members: list[CircleMember] = Field(min_length=2, max_length=MAX_MEMBERS)
    facilitator_id: Identifier
    language: str = Field(min_length=2, max_length=8, description="a language every member speaks")
    weekly_slot: WeeklySlot | None = None
    explanation: CircleExplanation
    expires_at: datetime


@event("matching.circle.member_responded", version=1, topic=topics.MATCHING_CIRCLE, key="circle_id")
class CircleMemberRespondedV1(CircleEvent):
    participant_id: Identifier
    response: Literal["accepted", "declined"]
    reason: Annotated[str | None, Field(max_length=1000), Personal(by=_SELF, erased=ERASED_TEXT)] = None
    responded_at: datetime


@event("matching.circle.refilled", version=1, topic=topics.MATCHING_CIRCLE, key="circle_id")
class CircleRefilledV1(CircleEvent):
    """A place freed by a decline (or a withdrawal) before the circle formed was given to someone
    else, without disturbing the rest; the newcomer is asked to accept. Formed circles are never
    changed this way."""

    left_participant_id: Identifier
    added: CircleMember | None = Field(
        default=None, description="null: nobody fits; the circle goes on smaller"
    )
    member_ids: MemberIds
    facilitator_id: Identifier
    expires_at: datetime


@event("matching.circle.formed", version=1, topic=topics.MATCHING_CIRCLE, key="circle_id")
class CircleFormedV1(CircleEvent):
    """Every member accepted: the circle starts (sessions opens it)."""

    member_ids: MemberIds
    members: list[CircleMember] = Field(min_length=2, max_length=MAX_MEMBERS)
    facilitator_id: Identifier
    language: str = Field(min_length=2, max_length=8)
    weekly_slot: WeeklySlot | None = None
    explanation: CircleExplanation
    formed_at: datetime
    programme_end: date | None = None
    hr_contact_email: EventEmail | None = None


@event("matching.circle.dissolved", version=1, topic=topics.MATCHING_CIRCLE, key="circle_id")
class CircleDissolvedV1(CircleEvent):
    """HR dissolved the circle (or too few members are left for it to go on)."""

    member_ids: MemberIds
    reason: Annotated[str, Field(max_length=1000), Personal(by=_MEMBERS, erased=ERASED_TEXT)]
    dissolved_at: datetime


# -- sessions: running circles -----------------------------------------------------------------------

S = topics.SESSIONS_CIRCLE


class CircleInvite(BaseModel):
    """One calendar invite to every member (RFC 5545): updates and cancellations keep the UID."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uid: str
    sequence: int = Field(ge=0)
    method: Literal["REQUEST", "CANCEL"]
    ics: Annotated[str, Personal(by=_MEMBERS, erased=ERASED_TEXT)] = Field(
        description="The RFC 5545 calendar object naming every member, ready to attach"
    )


@event("sessions.circle.started", version=1, topic=S, key="circle_id")
class CircleStartedV1(CircleEvent):
    member_ids: MemberIds
    facilitator_id: Identifier
    started_at: datetime
    hr_contact_email: EventEmail | None = None


@event("sessions.circle.agreement_drafted", version=1, topic=S, key="circle_id")
class CircleAgreementDraftedV1(CircleEvent):
    """The facilitator (or a member) drafted the circle agreement: every member is asked to confirm."""

    member_ids: MemberIds
    version: int = Field(ge=1)
    drafted_by: Identifier = Field(description="participant id")
    end_date: date
    cadence_days: int = Field(ge=1, le=90)


@event("sessions.circle.agreement_confirmed", version=1, topic=S, key="circle_id")
class CircleAgreementConfirmedV1(CircleEvent):
    """Every member confirmed the agreement's version: it is in force."""

    member_ids: MemberIds
    version: int = Field(ge=1)
    end_date: date
    cadence_days: int = Field(ge=1, le=90)
    confirmed_at: datetime


class CircleSessionEvent(CircleEvent):
    session_id: Identifier
    member_ids: MemberIds
    facilitator_id: Identifier
    member_timezones: dict[str, str] = Field(
        default_factory=dict, description="participant id -> IANA zone, to render local times"
    )


@event("sessions.circle_session.scheduled", version=1, topic=S, key="circle_id")
class CircleSessionScheduledV1(CircleSessionEvent):
    starts_at: datetime
    duration_minutes: int = Field(ge=15, le=480)
    activity_id: str | None = Field(default=None, max_length=64, description="from the activity library")
    invite: CircleInvite


@event("sessions.circle_session.rescheduled", version=1, topic=S, key="circle_id")
class CircleSessionRescheduledV1(CircleSessionEvent):
    starts_at: datetime
    previous_starts_at: datetime
    duration_minutes: int = Field(ge=15, le=480)
    invite: CircleInvite


@event("sessions.circle_session.cancelled", version=1, topic=S, key="circle_id")
class CircleSessionCancelledV1(CircleSessionEvent):
    starts_at: datetime
    invite: CircleInvite


class CircleIdea(BaseModel):
    """One idea of an activity's outcome, attributed to the member who brought it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    participant_id: Identifier
    text: Annotated[str, Field(min_length=1, max_length=1000), Personal(by=_SELF, erased=ERASED_TEXT)]


class LearningFlow(BaseModel):
    """Who taught what to whom in a session: one topic from one member to another."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_id: Identifier
    to_id: Identifier
    from_generation: Generation
    to_generation: Generation
    topic: Annotated[
        str, Field(min_length=1, max_length=200), Personal(by=("from_id", "to_id"), erased=ERASED_TEXT)
    ]


@event("sessions.circle_session.held", version=1, topic=S, key="circle_id")
class CircleSessionHeldV1(CircleSessionEvent):
    """A group session took place: who attended, the activity and its ideas, the learning record.
    `exchange_index` is the circle's running index: 1 when learning flows junior->senior and
    senior->junior equally, 0 when only one way (sessions' domain defines it)."""

    starts_at: datetime
    attended_ids: list[Identifier] = Field(max_length=MAX_MEMBERS)
    activity_id: str | None = Field(default=None, max_length=64)
    ideas: list[CircleIdea] = Field(default_factory=list, max_length=200)
    learning: list[LearningFlow] = Field(default_factory=list, max_length=400)
    exchange_index: float | None = Field(default=None, ge=0, le=1)
    held_at: datetime


@event("sessions.circle.at_risk", version=1, topic=S, key="circle_id")
class CircleAtRiskV1(CircleEvent):
    """Circle health: attendance falling, one voice dominating, or no session for too long. The
    facilitator is nudged first (`escalate_at`), HR after that if it is not resolved."""

    member_ids: MemberIds
    facilitator_id: Identifier
    reason: Literal["falling_attendance", "dominant_voice", "inactive"]
    detected_at: datetime
    escalate_at: datetime
    hr_contact_email: EventEmail | None = None


@event("sessions.circle.risk_resolved", version=1, topic=S, key="circle_id")
class CircleRiskResolvedV1(CircleEvent):
    reason: Literal["falling_attendance", "dominant_voice", "inactive"]
    resolved_at: datetime


@event("sessions.circle.closed", version=1, topic=S, key="circle_id")
class CircleClosedV1(CircleEvent):
    member_ids: MemberIds
    outcome: Literal["completed", "ended_early"]
    sessions_held: int = Field(ge=0)
    closed_at: datetime
