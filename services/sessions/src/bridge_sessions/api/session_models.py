"""Request and response bodies of the session routes (api/sessions.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal, Protocol
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from bridge_sessions.app.sessions import HeldReport, SessionView
from bridge_sessions.domain.rows import SIDES, Side
from bridge_sessions.domain.timefmt import LocalTime, LocalTimeError, local_to_utc, render_local, to_utc
from bridge_shared.contracts.sessions import Direction
from bridge_shared.errors import Problem
from bridge_shared.types import LongText, MediumText, Phrase, ShortText


class When(BaseModel):
    """Either `starts_at` with an offset, or `local_start` (no offset) plus an IANA `timezone`."""

    starts_at: datetime | None = Field(None, description="aware instant, e.g. 2025-03-24T08:00:00Z")
    local_start: datetime | None = Field(None, description="wall-clock time, e.g. 2025-03-24T09:00")
    timezone: str | None = Field(
        None, max_length=64, description="IANA zone of local_start, e.g. Europe/Berlin"
    )

    @model_validator(mode="after")
    def _one_way(self) -> When:
        if (self.starts_at is None) == (self.local_start is None):
            raise ValueError("give either starts_at or local_start with timezone")
        if self.local_start is not None and not self.timezone:
            raise ValueError("local_start needs a timezone")
        return self

    def utc(self) -> datetime:
        try:
            if self.starts_at is not None:
                return to_utc(self.starts_at)
            assert self.local_start is not None
            assert self.timezone is not None
            return local_to_utc(self.local_start, self.timezone)
        except LocalTimeError as exc:
            raise Problem(422, "Invalid start time", str(exc)) from exc


class ScheduleIn(When):
    duration_minutes: int = Field(60, ge=5, le=480)
    location: Phrase | None = Field(None, description="room, address or video link")


class RescheduleIn(When):
    duration_minutes: int | None = Field(None, ge=5, le=480)
    location: Phrase | None = None

    def new_location(self) -> tuple[str | None] | None:
        """None keeps the location; a given `location` (even null) replaces it."""
        return (self.location,) if "location" in self.model_fields_set else None


class CancelIn(BaseModel):
    reason: MediumText | None = None


class TopicIn(BaseModel):
    topic: ShortText
    direction: Direction = Field(
        description="mentor_to_mentee: the reverse mentor taught; mentee_to_mentor: the leader advised back"
    )


class ActionItem(BaseModel):
    text: Phrase
    owner: Side
    due: date | None = None


class _HeldFields(BaseModel):
    actual_duration_minutes: int = Field(ge=1, le=600)
    topics: list[TopicIn] = Field(min_length=1, max_length=30)
    shared_notes: LongText | None = None
    action_items: list[ActionItem] = Field(default_factory=list, max_length=30)
    private_note: LongText | None = Field(None, description="visible to you only")

    def _report(self, held_at: datetime | None) -> HeldReport:
        return HeldReport(
            actual_duration_minutes=self.actual_duration_minutes,
            held_at=held_at,
            topics=[{"topic": t.topic, "direction": t.direction} for t in self.topics],
            shared_notes=self.shared_notes,
            action_items=[
                {"text": a.text, "owner": a.owner, "due": a.due.isoformat() if a.due else None}
                for a in self.action_items
            ],
            private_note=self.private_note,
        )


class HeldIn(_HeldFields):
    held_at: datetime | None = Field(None, description="when it started; defaults to the scheduled start")

    def report(self) -> HeldReport:
        return self._report(self.held_at)


class LogIn(When, _HeldFields):
    """A session that already happened and was never scheduled: when it started (`starts_at`, or
    `local_start` with `timezone`), where, and what happened."""

    location: Phrase | None = Field(None, description="room, address or video link")

    def report(self) -> HeldReport:
        return self._report(None)


class NoteIn(BaseModel):
    body: LongText


class PulseIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: MediumText | None = None


class InviteOut(BaseModel):
    uid: str
    sequence: int
    method: Literal["REQUEST", "CANCEL"]
    url: str


class _Invited(Protocol):
    """A pair's or a circle's session, as far as its invite goes."""

    @property
    def logged(self) -> bool: ...
    @property
    def ical_uid(self) -> str: ...
    @property
    def ical_sequence(self) -> int: ...
    @property
    def status(self) -> str: ...


def invite_out(s: _Invited, url: str) -> InviteOut | None:
    """The session's invite as it stands (`url`: its invite.ics); none for a logged session, which
    was never scheduled and so never sent one."""
    if s.logged:
        return None
    return InviteOut(
        uid=s.ical_uid,
        sequence=s.ical_sequence,
        method="CANCEL" if s.status == "cancelled" else "REQUEST",
        url=url,
    )


# As stored: the input rules (TopicIn, ActionItem) apply on the way in, not to rows written before them.
class TopicOut(BaseModel):
    topic: str
    direction: Direction


class ActionItemOut(BaseModel):
    text: str
    owner: Side
    due: date | None = None


class SessionOut(BaseModel):
    id: UUID
    relationship_id: UUID
    status: Literal["scheduled", "held", "cancelled"]
    starts_at: datetime = Field(description="UTC")
    ends_at: datetime = Field(description="UTC")
    duration_minutes: int
    location: str | None
    local: dict[str, LocalTime] = Field(description="the interval in each participant's zone, by side")
    invite: InviteOut | None = Field(description="none for a logged session (it was never scheduled)")
    logged: bool = Field(description="recorded after it happened (POST .../sessions/log): no invite was sent")
    scheduled_by: str
    cancelled_by: str | None
    cancel_reason: str | None
    cancelled_at: datetime | None
    held_at: datetime | None
    actual_duration_minutes: int | None
    topics: list[TopicOut]
    shared_notes: str | None = Field(None, description="participants only")
    action_items: list[ActionItemOut] | None = Field(None, description="participants only")
    my_private_note: str | None = Field(None, description="the caller's own private note")


def to_out(v: SessionView) -> SessionOut:
    rel, s, mine = v.rel, v.session, v.for_participant
    return SessionOut(
        id=s.id,
        relationship_id=rel.id,
        status=s.status,
        starts_at=s.starts_at,
        ends_at=s.starts_at + timedelta(minutes=s.duration_minutes),
        duration_minutes=s.duration_minutes,
        location=s.location,
        local={
            side: render_local(s.starts_at, s.duration_minutes, rel.timezone_of(side))
            for side in SIDES
            if side not in v.hidden  # rule 3: no time zone of a person outside the caller's scope
        },
        invite=invite_out(s, f"/relationships/{rel.id}/sessions/{s.id}/invite.ics"),
        logged=s.logged,
        scheduled_by=s.scheduled_by,
        cancelled_by=s.cancelled_by,
        cancel_reason=s.cancel_reason,
        cancelled_at=s.cancelled_at,
        held_at=s.held_at,
        actual_duration_minutes=s.actual_duration_minutes,
        topics=[TopicOut.model_validate(t) for t in s.topics],
        shared_notes=s.shared_notes if mine else None,
        action_items=[ActionItemOut.model_validate(a) for a in s.action_items] if mine else None,
        my_private_note=v.my_note if mine else None,
    )
