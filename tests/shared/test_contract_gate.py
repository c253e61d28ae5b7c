"""The compatibility gate (`make contract-check`): current models against published snapshots."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from bridge_shared.contracts.compat import (
    PUBLISHED_DIR,
    check,
    current_schemas,
    load_published,
    main,
    model_schema,
    retired_types,
)

FORMED = "com.bridge.matching.pair.formed.v1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thing(_Strict):
    thing_id: str
    seq: int
    note: str | None = None


class ThingWithAnOptionalField(Thing):
    colour: str = "blue"


class ThingWithARequiredNote(_Strict):
    thing_id: str
    seq: int
    note: str


class ThingWithATextSeq(_Strict):
    thing_id: str
    seq: str
    note: str | None = None


class Owner(_Strict):
    name: str
    email: str


class OwnerWithAPhone(Owner):
    phone: str | None = None


class OwnerWithoutEmail(_Strict):
    name: str


class Box(_Strict):
    owner: Owner
    at: datetime


class BoxWithAPhone(_Strict):
    owner: OwnerWithAPhone
    at: datetime


class BoxWithoutEmail(_Strict):
    owner: OwnerWithoutEmail
    at: datetime


def _gate(old: type[BaseModel], new: type[BaseModel], etype: str = "com.bridge.t.thing.v1") -> list[str]:
    return check({etype: model_schema(new)}, {etype: [(1, model_schema(old))]})


def test_committed_models_keep_every_published_promise() -> None:
    published = load_published()
    assert FORMED in published and published[FORMED][0][0] == 1
    assert check(current_schemas(), published, retired_types()) == []


def test_renaming_a_required_field_fails_naming_the_type_and_the_field() -> None:
    current = current_schemas()
    renamed = copy.deepcopy(current[FORMED])
    renamed["properties"]["formed_on"] = renamed["properties"].pop("formed_at")
    renamed["required"] = ["formed_on" if f == "formed_at" else f for f in renamed["required"]]
    problems = check({**current, FORMED: renamed}, load_published())
    assert f"{FORMED}: field formed_at was removed (published in snapshot 1)" in problems
    assert any(p.startswith(f"{FORMED}: field formed_on was added as required") for p in problems)


def test_adding_an_optional_field_passes() -> None:
    assert _gate(Thing, ThingWithAnOptionalField) == []
    assert _gate(Box, BoxWithAPhone) == []  # in a nested object too


def test_making_an_optional_field_required_fails() -> None:
    problems = _gate(Thing, ThingWithARequiredNote)
    assert any("field note became required" in p for p in problems), problems


def test_changing_a_type_fails() -> None:
    assert _gate(Thing, ThingWithATextSeq) == [
        'com.bridge.t.thing.v1: field seq changed type from {"type":"integer"} to {"type":"string"} '
        "(published in snapshot 1)"
    ]


def test_removing_a_nested_field_or_making_a_required_field_optional_fails() -> None:
    assert _gate(Box, BoxWithoutEmail) == [
        "com.bridge.t.thing.v1: field owner.email was removed (published in snapshot 1)"
    ]
    assert any("field note is no longer required" in p for p in _gate(ThingWithARequiredNote, Thing))


def test_every_snapshot_is_checked_and_named() -> None:
    etype = "com.bridge.t.thing.v1"
    published = {etype: [(1, model_schema(Thing)), (2, model_schema(ThingWithAnOptionalField))]}
    assert check({etype: model_schema(ThingWithAnOptionalField)}, published) == []
    problems = check({etype: model_schema(ThingWithATextSeq)}, published)
    assert [p.rsplit("(", 1)[1] for p in problems if "colour" in p] == ["published in snapshot 2)"]
    assert sum("field seq changed type" in p for p in problems) == 2


def test_a_new_version_is_a_new_type_and_passes() -> None:
    current = {
        "com.bridge.t.thing.v1": model_schema(Thing),
        "com.bridge.t.thing.v2": model_schema(ThingWithATextSeq),
    }
    assert check(current, {"com.bridge.t.thing.v1": [(1, model_schema(Thing))]}) == []


def test_a_published_type_without_a_model_fails_unless_retired() -> None:
    published = {"com.bridge.t.thing.v1": [(1, model_schema(Thing))]}
    assert "no model registers it" in check({}, published)[0]
    assert check({}, published, {"com.bridge.t.thing.v1"}) == []


def test_the_command_fails_with_the_message_and_publish_records_snapshots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--published-dir", str(tmp_path), "--publish"])
    latest = max((PUBLISHED_DIR / FORMED).glob("*.json"), key=lambda p: int(p.stem))
    assert (tmp_path / FORMED / "1.json").read_text() == latest.read_text(), (
        "the current schema is the latest"
    )
    main(["--published-dir", str(tmp_path), "--publish"])
    assert not (tmp_path / FORMED / "2.json").exists(), "unchanged schemas get no new snapshot"
    snapshot: dict[str, Any] = json.loads((tmp_path / FORMED / "1.json").read_text())
    snapshot["properties"]["meeting_room"] = {"type": "string"}
    snapshot["required"].append("meeting_room")
    (tmp_path / FORMED / "1.json").write_text(json.dumps(snapshot))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["--published-dir", str(tmp_path)])
    assert exit_.value.code == 1
    assert f"{FORMED}: field meeting_room was removed (published in snapshot 1)" in capsys.readouterr().err
