"""docs/events-catalogue.md and the services' README event tables are generated from the four
AsyncAPI documents; this fails when they are stale (regenerate: python -m bridge_shared.events.catalogue)."""

from __future__ import annotations

from bridge_shared.events.catalogue import CATALOGUE, ROOT, collect, rendered_files, service_documents
from bridge_shared.events.registry import all_specs


def test_generated_catalogue_and_readme_tables_are_current() -> None:
    files = rendered_files(ROOT, service_documents())
    assert ROOT / CATALOGUE in files and len(files) == 5  # the catalogue + the four READMEs' blocks
    stale = [str(p.relative_to(ROOT)) for p, text in files.items() if p.read_text() != text]
    assert not stale, f"stale: {stale}; run .tools/bin/uv run python -m bridge_shared.events.catalogue"


def test_catalogue_lists_every_contract_event_with_producer_key_and_example() -> None:
    entries = collect(service_documents())
    contract = {s.type for s in all_specs() if s.model.__module__.startswith("bridge_shared.contracts.")}
    assert set(entries) == contract
    for e in entries.values():
        assert e.producer and e.topic and e.key and e.example, e.type
        assert e.example[e.key]
    assert sorted(entries["com.bridge.matching.pair.formed.v1"].consumers) == [
        "notifications",
        "reporting",
        "sessions",
    ]
