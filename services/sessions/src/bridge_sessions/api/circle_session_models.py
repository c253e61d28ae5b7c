"""Request and response bodies of the circle session routes (api/circle_sessions.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from bridge_sessions.api.session_models import InviteOut, When, invite_out
from bridge_sessions.app.circle_sessions import CircleSessionView, HeldReport
from bridge_sessions.domain import activities
from bridge_sessions.domain.circle_outcome import Outcome
from bridge_sessions.domain.timefmt import LocalTime, LocalTimeError, render_local, to_utc
from bridge_shared.contracts.circles import MAX_MEMBERS
from bridge_shared.errors import Problem
from bridge_shared.types import MULTI_LINE, SINGLE_LINE, Identifier, MediumText, Phrase, ShortText

ActivityId = Annotated[str, StringConstraints(max_length=64), *SINGLE_LINE]
IdeaText = Annotated[str, StringConstraints(max_length=1000), *MULTI_LINE]
_ACTIVITY = "an activity id from GET /activities (the facilitator's pick)"


class CircleScheduleIn(When):
    duration_minutes: int = Field(60, ge=15, le=480)
    location: Phrase | None = Field(None, description="room, address or video link")
    activity_id: ActivityId | None = Field(None, description=_ACTIVITY + "; the facilitator only")


class CircleRescheduleIn(When):
    duration_minutes: int | None = Field(None, ge=15, le=480)
    location: Phrase | None = None

    def new_location(self) -> tuple[str | None] | None:
        """None keeps the location; a given `location` (even null) replaces it."""
        return (self.location,) if "location" in self.model_fields_set else None


class CircleCancelIn(BaseModel):
    reason: MediumText | None = None


class ActivityPickIn(BaseModel):
    activity_id: ActivityId | None = Field(description=_ACTIVITY + "; null clears it")


class IdeaIn(BaseModel):
    participant_id: Identifier = Field(description="the member who brought it (who attended)")
    text: IdeaText


class LearningIn(BaseModel):
    from_id: Identifier = Field(description="the member who taught")
    to_id: Identifier = Field(description="the member who learnt")
    topic: ShortText


class _HeldFields(BaseModel):
    attended_ids: list[Identifier] = Field(max_length=MAX_MEMBERS, description="members present")
    activity_id: ActivityId | None = Field(None, description=_ACTIVITY + "; omitted keeps the session's")
    ideas: list[IdeaIn] = Field(default_factory=list, max_length=200, description="the activity's outcome")
    learning: list[LearningIn] = Field(
        default_factory=list, max_length=400, description="who taught what to whom"
    )

    def _report(self, held_at: datetime | None) -> HeldReport:
        return HeldReport(
            held_at=held_at,
            activity_id=(self.activity_id,) if "activity_id" in self.model_fields_set else None,
            outcome=Outcome(
                attended_ids=list(dict.fromkeys(self.attended_ids)),
                ideas=[(i.participant_id, i.text) for i in self.ideas],
                learning=[(f.from_id, f.to_id, f.topic) for f in self.learning],
            ),
        )


class CircleHeldIn(_HeldFields):
    held_at: datetime | None = Field(
        None, description="when it started, with an offset; defaults to the scheduled start"
    )

    def report(self) -> HeldReport:
        try:
            held_at = to_utc(self.held_at) if self.held_at is not None else None
        except LocalTimeError as exc:
            errors = [{"field": "held_at", "message": str(exc)}]
            raise Problem(422, "Invalid start time", str(exc), errors=errors) from exc
        return self._report(held_at)


class CircleLogIn(When, _HeldFields):
    """A session that already happened and was never scheduled: when it started (`starts_at`, or
    `local_start` with `timezone`), how long, where, and what happened."""

    duration_minutes: int = Field(60, ge=15, le=480)
    location: Phrase | None = Field(None, description="room, address or video link")

    def report(self) -> HeldReport:
        return self._report(None)


class ActivityRef(BaseModel):
    id: str
    title: str
    locale: str = Field(description="the locale of the title: yours, else English")


class IdeaOut(BaseModel):
    participant_id: str
    text: str


class LearningOut(BaseModel):
    from_id: str
    to_id: str
    from_generation: str
    to_generation: str
    topic: str


class CircleSessionOut(BaseModel):
    id: UUID
    circle_id: str
    status: Literal["scheduled", "held", "cancelled"]
    starts_at: datetime = Field(description="UTC")
    ends_at: datetime = Field(description="UTC")
    duration_minutes: int
    location: str | None
    activity: ActivityRef | None
    local: dict[str, LocalTime] = Field(
        description="the interval in each member's zone, by participant id (members in your scope)"
    )
    invite: InviteOut | None = Field(description="one invite to every member; none for a logged session")
    logged: bool = Field(description="recorded after it happened (POST .../sessions/log): no invite was sent")
    scheduled_by: str = Field(description="participant id")
    cancelled_by: str | None
    cancel_reason: str | None
    cancelled_at: datetime | None
    held_at: datetime | None
    recorded_by: str | None
    attended_ids: list[str]
    absent_ids: list[str]
    ideas: list[IdeaOut]
    learning: list[LearningOut]


def activity_ref(activity_id: str | None, locale: str | None) -> ActivityRef | None:
    activity = activities.get(activity_id)
    if activity is None:
        return None
    used, text = activity.text(locale)
    return ActivityRef(id=activity.id, title=text.title, locale=used)


def to_out(v: CircleSessionView) -> CircleSessionOut:
    c, d, s = v.circle, v.detail, v.detail.session
    return CircleSessionOut(
        id=s.id,
        circle_id=c.id,
        status=s.status,
        starts_at=s.starts_at,
        ends_at=s.starts_at + timedelta(minutes=s.duration_minutes),
        duration_minutes=s.duration_minutes,
        location=s.location,
        activity=activity_ref(s.activity_id, v.locale),
        local={
            m.participant_id: render_local(s.starts_at, s.duration_minutes, m.timezone)
            for m in c.active_members
            if m.participant_id not in v.hidden  # rule 3: no time zone of a member outside the scope
        },
        invite=invite_out(s, f"/circles/{c.id}/sessions/{s.id}/invite.ics"),
        logged=s.logged,
        scheduled_by=s.scheduled_by,
        cancelled_by=s.cancelled_by,
        cancel_reason=s.cancel_reason,
        cancelled_at=s.cancelled_at,
        held_at=s.held_at,
        recorded_by=s.recorded_by,
        attended_ids=d.attended_ids,
        absent_ids=d.absent_ids,
        ideas=[IdeaOut.model_validate(i) for i in d.ideas],
        learning=[LearningOut.model_validate(f) for f in d.learning],
    )
