"""Bounded input in notifications (issue 13): preferences refuse control characters and over-long
values; the delivery log's query is bounded. Pure: the models and the route's declared parameters."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bridge_notifications.api.deliveries import delivery_log
from bridge_notifications.api.preferences import CohortDefaults, ParticipantPreferences


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"timezone": "Europe/Berlin\x00"}, "timezone"),
        ({"timezone": "A" * 65}, "timezone"),
        ({"locale": "en\x00"}, "locale"),
        ({"chat_webhook_url": "https://hooks.slack.com/" + "a" * 2_100}, "chat_webhook_url"),
        ({"channels": ["email", "chat", "inbox", "email"]}, "channels"),
    ],
)
def test_participant_preferences_are_bounded(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ParticipantPreferences.model_validate(data)
    assert field in {str(e["loc"][0]) for e in refused.value.errors()}


def test_cohort_defaults_are_bounded() -> None:
    with pytest.raises(ValidationError):
        CohortDefaults.model_validate({"hr_timezone": "\x00"})
    with pytest.raises(ValidationError):
        CohortDefaults.model_validate({"escalate_after_days": 2**63})


def test_the_delivery_log_declares_bounded_parameters() -> None:
    from fastapi import FastAPI

    app = FastAPI()
    app.get("/deliveries")(delivery_log)
    params = {p["name"]: p["schema"] for p in app.openapi()["paths"]["/deliveries"]["get"]["parameters"]}
    assert params["offset"]["maximum"] == 1_000_000
    assert params["limit"]["maximum"] == 5000
    for name in ("cohort_id", "recipient_id", "kind", "source_event_id"):
        assert any(s.get("maxLength") == 128 for s in params[name]["anyOf"]), (name, params[name])
