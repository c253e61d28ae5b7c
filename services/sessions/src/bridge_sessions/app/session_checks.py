"""The checks a pair's session (app/sessions.py) and a circle's session (app/circle_sessions.py) share,
with the same problem for the same mistake: a session that is not there, one that is no longer
scheduled, a start on the wrong side of now for scheduling or logging, a held time still to come.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypeVar

from bridge_shared.errors import Problem


class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...


S = TypeVar("S", bound=_HasStatus)


def found(s: S | None) -> S:
    """The session; 404 if it is not there (or belongs to another relationship or circle)."""
    if s is None:
        raise Problem(404, "Session not found")
    return s


def still_scheduled(s: S) -> S:
    """The session; 409 unless it is still scheduled (held and cancelled ones are final)."""
    if s.status != "scheduled":
        raise Problem(409, "Session not scheduled", f"This session is {s.status}.")
    return s


def future_start(starts_at: datetime, now: datetime) -> None:
    """Refuses a start that is not in the future (422, with the field): scheduling or rescheduling
    into the past would send an invite for something that is over."""
    if starts_at <= now:
        message = (
            f"the start {starts_at.isoformat()} is not in the future (now {now.isoformat()}); "
            "to record a session that already happened, log it (POST .../sessions/log)"
        )
        raise Problem(
            422, "Start time in the past", message, errors=[{"field": "starts_at", "message": message}]
        )


def past_start(starts_at: datetime, now: datetime) -> None:
    """Refuses to log a session whose start is still to come (422, with the field)."""
    if starts_at > now:
        message = f"the start {starts_at.isoformat()} is in the future; schedule it instead"
        raise Problem(
            422, "Start time in the future", message, errors=[{"field": "starts_at", "message": message}]
        )


def started(held_at: datetime, now: datetime) -> None:
    """409 for recording as held a session that has not started yet."""
    if held_at > now:
        raise Problem(409, "Session not yet held", "A session can be recorded as held once it has started.")
