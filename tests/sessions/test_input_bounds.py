"""Bounded input in sessions (issue 13): the request bodies refuse control characters, blank text and
over-long values with the field named, and clean what they accept. Pure: the models alone (the HTTP
path of the same refusals is in tests/shared/test_http_hardening.py and the schemathesis run)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bridge_sessions.api.agreements import AgreementIn
from bridge_sessions.api.feedback import SurveyIn
from bridge_sessions.api.goals import CheckInIn, GoalIn
from bridge_sessions.api.relationships import CloseIn
from bridge_sessions.api.session_models import CancelIn, HeldIn, NoteIn, PulseIn, ScheduleIn

PLAN = {"learning_goals": ["prompting"], "success_metrics": ["ships a demo"]}
AGREEMENT = {
    "mentor": PLAN,
    "mentee": PLAN,
    "cadence_days": 14,
    "meeting_mode": "video",
    "start_date": "2027-02-01",
    "end_date": "2027-06-01",
}
HELD = {"actual_duration_minutes": 30, "topics": [{"topic": "AI", "direction": "mentor_to_mentee"}]}

CASES: list[tuple[type[BaseModel], dict[str, Any], str, Any]] = [
    (NoteIn, {}, "body", "a\x00b"),
    (NoteIn, {}, "body", "   \n "),
    (NoteIn, {}, "body", "x" * 10_001),
    (PulseIn, {"rating": 4}, "comment", "\x07"),
    (CancelIn, {}, "reason", "x" * 2_001),
    (ScheduleIn, {"starts_at": "2027-02-01T09:00:00Z"}, "location", "Room\n42"),
    (ScheduleIn, {"local_start": "2027-02-01T09:00"}, "timezone", "E" * 65),
    (HeldIn, HELD, "shared_notes", "\x1b[31m"),
    (HeldIn, {**HELD, "topics": [{"topic": " ", "direction": "mentor_to_mentee"}]}, "topics.0.topic", None),
    (GoalIn, {}, "title", "\t"),
    (GoalIn, {"title": "Learn"}, "description", "\x00"),
    (CheckInIn, {"rating": 3}, "note", "\ud800"),
    (CloseIn, {}, "reason", ""),
    (SurveyIn, {"satisfaction": 5, "recommend_score": 9, "taught": "x"}, "learned", "y" * 5_001),
    (
        AgreementIn,
        {**AGREEMENT, "mentor": {**PLAN, "learning_goals": ["ok", "z" * 501]}},
        "mentor.learning_goals.1",
        None,
    ),
    (AgreementIn, AGREEMENT, "rules_of_engagement", ["r"] * 21),
]


@pytest.mark.parametrize(("model", "base", "field", "value"), CASES)
def test_bad_values_are_refused_naming_the_field(
    model: type[BaseModel], base: dict[str, Any], field: str, value: Any
) -> None:
    data = dict(base)
    if value is not None:
        data[field] = value
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    assert field in {".".join(str(p) for p in e["loc"]) for e in refused.value.errors()}


def test_accepted_text_is_cleaned() -> None:
    note = NoteIn.model_validate({"body": "  first line\n\tsecond line  "})
    assert note.body == "first line\n\tsecond line"
    goal = GoalIn.model_validate({"title": " Learn SQL ", "success_measure": "a query a day "})
    assert (goal.title, goal.success_measure) == ("Learn SQL", "a query a day")
