"""The committed JSON Schemas are the public event contract: they must match the models."""

from __future__ import annotations

import json

from bridge_shared.contracts.schemas import DEFAULT_DIR, render_all


def test_committed_event_schemas_match_the_models() -> None:
    rendered = render_all()
    committed = {p.name for p in DEFAULT_DIR.glob("*.json")}
    missing = sorted(set(rendered) - committed)
    stale = sorted(n for n in rendered if n in committed and (DEFAULT_DIR / n).read_text() != rendered[n])
    orphans = sorted(committed - set(rendered))
    assert not (missing or stale or orphans), (
        f"run `make schemas` and commit: missing={missing} stale={stale} orphans={orphans}"
    )


def test_schemas_carry_the_cloudevents_type_topic_and_key() -> None:
    for name, text in render_all().items():
        schema = json.loads(text)
        assert schema["x-cloudevents-type"] == name.removesuffix(".json")
        assert schema["x-kafka-topic"].startswith("bridge.")
        assert schema["x-kafka-key"] in schema["properties"]
