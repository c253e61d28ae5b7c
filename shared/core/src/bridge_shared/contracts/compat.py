"""The compatibility gate: current event models against every published schema snapshot.

`bridge-contract-check` (`make contract-check`) compares the JSON Schema each current model
publishes with every snapshot kept in shared/schemas/published/<type>/<n>.json, and fails naming
the type and the field when the current model breaks a promise a snapshot made (docs/events.md):

- a field a snapshot declared was removed (renaming is removing one field and adding another);
- a field became required, or a required field became optional, or a new field is required;
- a field's type or constraints changed (formats, patterns, bounds, enums, nullability: the rule is
  backward-transitive both ways, so neither narrowing nor widening passes);
- the Kafka topic or the partition key changed.

A new optional field passes (readers ignore fields they do not know); a new version (`.v2`) is a
new type without snapshots and passes. Annotations (title, description, default, examples, x-*) are
not compared. `bridge-contract-check --publish` records the current schemas as the next snapshot
of every type whose schema changed (run it when releasing; the check must pass first).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bridge_shared.contracts.schemas import DEFAULT_DIR, contract_specs, open_for_readers, schema_for

PUBLISHED_DIR = DEFAULT_DIR.parent / "published"
RETIRED_MARKER = "RETIRED"

Schema = dict[str, Any]
Snapshots = Mapping[str, Sequence[tuple[int, Schema]]]

_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "deprecated", "$comment"})
_STRUCTURAL = frozenset(
    {"properties", "required", "items", "anyOf", "oneOf", "allOf", "additionalProperties"}
)


def model_schema(model: type[BaseModel]) -> Schema:
    """The schema a reader is promised for `model`, rendered as the published schemas are."""
    schema: Schema = open_for_readers(model.model_json_schema(mode="serialization"))
    return schema


def current_schemas() -> dict[str, Schema]:
    """Every contract event type's current schema, by CloudEvents type."""
    return {spec.type: schema_for(spec) for spec in contract_specs()}


def load_published(directory: Path = PUBLISHED_DIR) -> dict[str, list[tuple[int, Schema]]]:
    """Snapshots by type, oldest first: `<directory>/<type>/<n>.json`."""
    out: dict[str, list[tuple[int, Schema]]] = {}
    if not directory.is_dir():
        return out
    for type_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        snaps = [
            (int(p.stem), json.loads(p.read_text())) for p in type_dir.glob("*.json") if p.stem.isdigit()
        ]
        out[type_dir.name] = sorted(snaps, key=lambda s: s[0])
    return out


def retired_types(directory: Path = PUBLISHED_DIR) -> set[str]:
    if not directory.is_dir():
        return set()
    return {p.parent.name for p in directory.glob(f"*/{RETIRED_MARKER}")}


class _Comparison:
    def __init__(self, etype: str, snapshot: int, old_root: Schema, new_root: Schema) -> None:
        self.etype = etype
        self.snapshot = snapshot
        self.old_root = old_root
        self.new_root = new_root
        self.problems: list[str] = []

    def fail(self, what: str) -> None:
        self.problems.append(f"{self.etype}: {what} (published in snapshot {self.snapshot})")

    def _resolve(self, schema: Any, root: Schema) -> Any:
        for _ in range(32):  # $ref chains are short; recursive models stop here
            if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
                break
            target: Any = root
            for part in schema["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        if isinstance(schema, dict):
            # `x-*` keys annotate (classification, sealing notes); they change no reader's parsing.
            return {k: v for k, v in schema.items() if k not in _ANNOTATIONS and not k.startswith("x-")}
        return schema

    def objects(self, old: Schema, new: Schema, prefix: str) -> None:
        old_props: dict[str, Any] = old.get("properties", {})
        new_props: dict[str, Any] = new.get("properties", {})
        old_req, new_req = set(old.get("required", ())), set(new.get("required", ()))
        for name, old_field in old_props.items():
            field = f"{prefix}{name}"
            if name not in new_props:
                self.fail(f"field {field} was removed")
                continue
            if name in old_req and name not in new_req:
                self.fail(f"field {field} is no longer required (readers of the snapshot rely on it)")
            if name not in old_req and name in new_req:
                self.fail(f"field {field} became required (events of the snapshot may lack it)")
            self.field(old_field, new_props[name], field)
        for name in new_props.keys() - old_props.keys():
            if name in new_req:
                self.fail(f"field {prefix}{name} was added as required (events of the snapshot lack it)")

    def field(self, old_raw: Any, new_raw: Any, field: str) -> None:
        old, new = self._resolve(old_raw, self.old_root), self._resolve(new_raw, self.new_root)
        if not (isinstance(old, dict) and isinstance(new, dict)):
            if old != new:
                self._changed(field, old, new)
            return
        plain_old = {k: v for k, v in old.items() if k not in _STRUCTURAL}
        plain_new = {k: v for k, v in new.items() if k not in _STRUCTURAL}
        shape_old = {k for k in old if k in _STRUCTURAL and k != "required"}
        shape_new = {k for k in new if k in _STRUCTURAL and k != "required"}
        if plain_old != plain_new or shape_old != shape_new:
            self._changed(field, old, new)
            return
        if "properties" in old:
            self.objects(old, new, f"{field}.")
        if "items" in old:
            self.field(old["items"], new["items"], f"{field}[]")
        if isinstance(old.get("additionalProperties"), dict) or isinstance(
            new.get("additionalProperties"), dict
        ):
            self.field(old.get("additionalProperties"), new.get("additionalProperties"), f"{field}{{}}")
        for key in ("anyOf", "oneOf", "allOf"):
            if key in old:
                if len(old[key]) != len(new[key]):
                    self._changed(field, old, new)
                    return
                for o, n in zip(old[key], new[key], strict=True):
                    self.field(o, n, field)

    def _changed(self, field: str, old: Any, new: Any) -> None:
        self.fail(f"field {field} changed type from {_brief(old)} to {_brief(new)}")


def _brief(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))[:200]


def compare(etype: str, snapshot: int, old: Schema, new: Schema) -> list[str]:
    """What `new` (the current schema of `etype`) breaks of published snapshot number `snapshot`."""
    c = _Comparison(etype, snapshot, old, new)
    for meta, what in (("x-kafka-topic", "topic"), ("x-kafka-key", "partition key")):
        if meta in old and old.get(meta) != new.get(meta):
            c.fail(f"{what} changed from {old.get(meta)} to {new.get(meta)}")
    c.objects(old, new, "")
    return c.problems


def check(current: Mapping[str, Schema], published: Snapshots, retired: set[str] | None = None) -> list[str]:
    """Every problem of every current type against every one of its snapshots (backward-transitive)."""
    problems: list[str] = []
    for etype, snaps in sorted(published.items()):
        if etype not in current:
            if snaps and etype not in (retired or set()):
                problems.append(
                    f"{etype}: published (snapshot {snaps[-1][0]}) but no model registers it; a version is "
                    f"retired only after its deprecation window, by adding {etype}/{RETIRED_MARKER}"
                )
            continue
        for n, snap in snaps:
            problems.extend(compare(etype, n, snap, current[etype]))
    return problems


def publish(current: Mapping[str, Schema], published: Snapshots, directory: Path) -> list[str]:
    """Writes the next snapshot of every type whose schema differs from its latest one."""
    written: list[str] = []
    for etype, schema in sorted(current.items()):
        snaps = published.get(etype, ())
        if snaps and snaps[-1][1] == schema:
            continue
        n = snaps[-1][0] + 1 if snaps else 1
        path = directory / etype / f"{n}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(f"{etype}/{n}.json")
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--published-dir", type=Path, default=PUBLISHED_DIR)
    parser.add_argument(
        "--publish",
        action="store_true",
        help="after a passing check, record changed schemas as new snapshots",
    )
    args = parser.parse_args(argv)
    current = current_schemas()
    published = load_published(args.published_dir)
    problems = check(current, published, retired_types(args.published_dir))
    if problems:
        print(f"{len(problems)} breaking change(s) against published event schemas:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        print("A breaking change needs a new version beside the old one (docs/events.md).", file=sys.stderr)
        sys.exit(1)
    unpublished = sorted(current.keys() - published.keys())
    snapshots = sum(len(s) for s in published.values())
    print(f"{len(current)} event types compatible with {snapshots} published snapshot(s)")
    if unpublished:
        print(f"not yet published (new types pass): {', '.join(unpublished)}")
    if args.publish:
        written = publish(current, published, args.published_dir)
        print(f"published {len(written)} snapshot(s): {', '.join(written) or 'none changed'}")


if __name__ == "__main__":
    main()
