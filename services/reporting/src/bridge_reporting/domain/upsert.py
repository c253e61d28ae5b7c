"""Set-based, order-independent upserts.

Each read-model table declares, per column, how a new value merges with the stored one. Every rule
is commutative and idempotent, so the same events applied in any order, any number of times, give
the same row:

- ``keep``: an immutable fact; the first non-null value stays (``COALESCE(old, new)``).
- ``min`` / ``max``: the earliest / latest of the values (``LEAST`` / ``GREATEST``, nulls ignored).
- ``latest:<col>``: the value carried by the event with the greatest ``<col>`` (an event time).

A batch is first folded in Python with the same rules (Postgres refuses to update one row twice in
a single ``INSERT ... ON CONFLICT``), then written with one ``INSERT ... SELECT FROM unnest(...)``
per table and column set.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

_SUFFIX = re.compile(r"^(__[a-z0-9_]+)?$")


@dataclass(frozen=True)
class Col:
    name: str
    pgtype: str = "text"
    merge: str = "keep"

    @property
    def version_col(self) -> str | None:
        return self.merge.split(":", 1)[1] if self.merge.startswith("latest:") else None


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    cols: tuple[Col, ...]
    insert_only: bool = False
    by_name: dict[str, Col] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.cols})


Row = dict[str, Any]


def merge_rows(table: Table, old: Row, new: Row) -> Row:
    """Python twin of the SQL merge: folds `new` into `old` (both may hold any column subset)."""
    out = dict(old)
    for name, value in new.items():
        if name in table.key:
            continue
        col = table.by_name[name]
        prev = old.get(name)
        if name not in old or prev is None:
            if col.version_col is None or value is not None:
                out[name] = value
            continue
        if value is None:
            continue
        if col.merge == "keep":
            continue
        if col.merge == "min":
            out[name] = min(prev, value)
        elif col.merge == "max":
            out[name] = max(prev, value)
        elif (v := col.version_col) is not None:
            old_v, new_v = old.get(v), new.get(v)
            if old_v is None or (new_v is not None and new_v >= old_v):
                out[name] = value
        else:  # pragma: no cover - table definitions are static
            raise ValueError(f"unknown merge rule {col.merge!r}")
    return out


def _update_expr(table: Table, col: Col) -> str:
    c = col.name
    if col.merge == "keep":
        return f"COALESCE(t.{c}, EXCLUDED.{c})"
    if col.merge == "min":
        return f"LEAST(t.{c}, EXCLUDED.{c})"
    if col.merge == "max":
        return f"GREATEST(t.{c}, EXCLUDED.{c})"
    v = col.version_col
    assert v is not None
    return (
        f"CASE WHEN EXCLUDED.{c} IS NOT NULL AND (t.{c} IS NULL OR t.{v} IS NULL "
        f"OR EXCLUDED.{v} >= t.{v}) THEN EXCLUDED.{c} ELSE t.{c} END"
    )


def _param_type(col: Col) -> str:
    return "text" if col.pgtype in ("jsonb", "text[]") else col.pgtype


def _select_expr(col: Col) -> str:
    if col.pgtype == "jsonb":
        return f"u.{col.name}::jsonb"
    if col.pgtype == "text[]":
        return (
            f"CASE WHEN u.{col.name} IS NULL THEN NULL "
            f"ELSE ARRAY(SELECT jsonb_array_elements_text(u.{col.name}::jsonb)) END"
        )
    return f"u.{col.name}"


def _encode(col: Col, value: Any) -> Any:
    if value is None:
        return None
    if col.pgtype in ("jsonb", "text[]"):
        return json.dumps(value, default=str, sort_keys=True)
    return value


_SQL_CACHE: dict[tuple[str, tuple[str, ...], str], str] = {}


def upsert_sql(table: Table, names: tuple[str, ...], suffix: str = "") -> str:
    cache_key = (table.name, names, suffix)
    if (sql := _SQL_CACHE.get(cache_key)) is not None:
        return sql
    if not _SUFFIX.match(suffix):
        raise ValueError(f"unsafe table suffix {suffix!r}")
    cols = [table.by_name[n] for n in names]
    params = ", ".join(f"${i}::{_param_type(c)}[]" for i, c in enumerate(cols, 1))
    select = ", ".join(_select_expr(c) for c in cols)
    updates = [f"{c.name} = {_update_expr(table, c)}" for c in cols if c.name not in table.key]
    action = "DO NOTHING" if table.insert_only or not updates else "DO UPDATE SET " + ", ".join(updates)
    sql = (
        f"INSERT INTO {table.name}{suffix} AS t ({', '.join(names)}) "
        f"SELECT {select} FROM unnest({params}) AS u({', '.join(names)}) "
        f"ON CONFLICT ({', '.join(table.key)}) {action}"
    )
    _SQL_CACHE[cache_key] = sql
    return sql


class BatchWriter:
    """Collects rows for many tables, folds duplicates per key, writes one statement per shape."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[tuple[Any, ...], Row]] = defaultdict(dict)
        self._tables: dict[str, Table] = {}

    def add(self, table: Table, row: Row) -> None:
        self._tables[table.name] = table
        key = tuple(row[k] for k in table.key)
        bucket = self._rows[table.name]
        bucket[key] = merge_rows(table, bucket[key], row) if key in bucket else row

    def __len__(self) -> int:
        return sum(len(b) for b in self._rows.values())

    async def flush(self, conn: asyncpg.Connection[Any], suffix: str = "") -> int:
        written = 0
        for name in sorted(self._rows):
            table = self._tables[name]
            shapes: dict[tuple[str, ...], list[Row]] = defaultdict(list)
            for row in self._rows[name].values():
                ordered = tuple(c.name for c in table.cols if c.name in row)
                shapes[ordered].append(row)
            for names, rows in shapes.items():
                cols = [table.by_name[n] for n in names]
                arrays = [[_encode(c, r[c.name]) for r in rows] for c in cols]
                await conn.execute(upsert_sql(table, names, suffix), *arrays)
                written += len(rows)
        self._rows.clear()
        return written
