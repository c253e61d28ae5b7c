"""What a held circle session records, checked against the circle (pure): attendance among the
members, ideas brought by members who were there, learning between two different members who were
there, an activity from the library. Each problem is a field error, as a 422 lists them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bridge_sessions.domain import activities
from bridge_sessions.domain.circle_rows import CircleRow, IdeaData, LearningData

FieldError = dict[str, str]


@dataclass(frozen=True, slots=True)
class Outcome:
    """As the facilitator reports it: who was there, the ideas (who, what) and the learning
    (from whom, to whom, what)."""

    attended_ids: Sequence[str]
    ideas: Sequence[tuple[str, str]]
    learning: Sequence[tuple[str, str, str]]


def activity_errors(activity_id: str | None) -> list[FieldError]:
    if activity_id is None or activities.get(activity_id) is not None:
        return []
    known = ", ".join(a.id for a in activities.ACTIVITIES)
    return [{"field": "activity_id", "message": f"unknown activity {activity_id!r}; one of: {known}"}]


def outcome_errors(circle: CircleRow, o: Outcome) -> list[FieldError]:
    errors: list[FieldError] = []
    present = set(o.attended_ids)
    for pid in o.attended_ids:
        if circle.member(pid) is None:
            errors.append({"field": "attended_ids", "message": f"{pid} is not a member of this circle"})
    for n, (pid, _) in enumerate(o.ideas):
        if pid not in present or circle.member(pid) is None:
            errors.append({"field": f"ideas.{n}.participant_id", "message": f"{pid} did not attend"})
    for n, (from_id, to_id, _) in enumerate(o.learning):
        for end, pid in (("from_id", from_id), ("to_id", to_id)):
            if pid not in present or circle.member(pid) is None:
                errors.append({"field": f"learning.{n}.{end}", "message": f"{pid} did not attend"})
        if from_id == to_id:
            errors.append({"field": f"learning.{n}.to_id", "message": "a member does not teach themself"})
    return errors


def recorded(circle: CircleRow, o: Outcome) -> tuple[dict[str, bool], list[IdeaData], list[LearningData]]:
    """Attendance of every current member (present or not), the ideas, and the learning with each
    end's generation, as stored and published."""
    present = set(o.attended_ids)
    attendance = {m.participant_id: m.participant_id in present for m in circle.active_members}
    ideas: list[IdeaData] = [{"participant_id": p, "text": t} for p, t in o.ideas]
    learning: list[LearningData] = [
        {
            "from_id": f,
            "to_id": t,
            "from_generation": circle.generation_of(f),
            "to_generation": circle.generation_of(t),
            "topic": topic,
        }
        for f, t, topic in o.learning
    ]
    return attendance, ideas, learning
