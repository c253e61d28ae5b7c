"""The timeline's `detail` (domain/timeline.py): written by pydantic in one pass with an `exclude`
built from the contracts, it must hold exactly what the reference walk over the dumped payload
keeps: no personal or private field at any depth. Pure: no database, no broker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge_reporting.domain.projection import HANDLED
from bridge_reporting.domain.timeline import _exclusion, _without, minimised, private_fields
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.events.examples import example_payload
from bridge_shared.events.registry import EventPayload

TIMELINE_MODELS = [
    p for p in HANDLED if issubclass(p, s.RelationshipEvent | m.PairFormedV1 | m.PairDissolvedV1)
]


def _reference(p: EventPayload) -> Any:
    return _without(p.model_dump(mode="json"), private_fields(type(p)))


def _as_json(detail: dict[str, Any] | str) -> Any:
    return json.loads(detail) if isinstance(detail, str) else detail


@pytest.mark.parametrize("model", TIMELINE_MODELS, ids=lambda p: p.event_type)
def test_detail_holds_exactly_what_the_reference_walk_keeps(model: type[EventPayload]) -> None:
    p = model.model_validate(example_payload(model))  # every field filled
    assert _as_json(minimised(p)) == _reference(p)


def test_every_timeline_event_takes_the_one_pass_path() -> None:
    slow = [p.event_type for p in TIMELINE_MODELS if _exclusion(p, private_fields(p)) is None]
    assert slow == []


def test_keys_of_a_plain_mapping_named_like_a_private_field_are_dropped_too() -> None:
    p = m.PairFormedV1.model_validate(example_payload(m.PairFormedV1))
    explanation = p.explanation.model_copy(update={"breakdown": {"skills": 0.5, "reason": 0.1}})
    p = p.model_copy(update={"explanation": explanation})
    detail = _as_json(minimised(p))
    assert detail == _reference(p)
    assert detail["explanation"]["breakdown"] == {"skills": 0.5}
    assert {"email", "display_name", "employee_id"}.isdisjoint(detail["mentor"])
