"""Writes a folded batch (domain/upsert.py) with one `INSERT ... SELECT FROM unnest(...)` per table
and column set; the statement text is built once per (table, columns, suffix) from the static table
definitions (never from event data) and cached."""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg

from bridge_reporting.domain.upsert import BatchWriter, Col, JsonText, Table

_SUFFIX = re.compile(r"^(__[a-z0-9_]+)?$")


def _update_expr(col: Col) -> str:
    c = col.name
    if col.merge == "keep":
        return f"COALESCE(t.{c}, EXCLUDED.{c})"
    if col.merge == "min":
        return f"LEAST(t.{c}, EXCLUDED.{c})"
    if col.merge == "max":
        return f"GREATEST(t.{c}, EXCLUDED.{c})"
    v = col.version_col
    if v is None:  # pragma: no cover - table definitions are static
        raise ValueError(f"unknown merge rule {col.merge!r}")
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


def _encode_json(value: Any) -> str | None:  # Any: a JSON value
    if value is None or isinstance(value, JsonText):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def check_suffix(suffix: str) -> str:
    """A shadow-table suffix (`__r<generation>`) or ''; anything else is refused."""
    if not _SUFFIX.match(suffix):
        raise ValueError(f"unsafe table suffix {suffix!r}")
    return suffix


_SQL_CACHE: dict[tuple[str, tuple[str, ...], str], str] = {}


def upsert_sql(table: Table, names: tuple[str, ...], suffix: str = "") -> str:
    cache_key = (table.name, names, suffix)
    if (sql := _SQL_CACHE.get(cache_key)) is not None:
        return sql
    check_suffix(suffix)
    cols = [table.by_name[n] for n in names]
    params = ", ".join(f"${i}::{_param_type(c)}[]" for i, c in enumerate(cols, 1))
    select = ", ".join(_select_expr(c) for c in cols)
    updates = [f"{c.name} = {_update_expr(c)}" for c in cols if c.name not in table.key]
    action = "DO NOTHING" if table.insert_only or not updates else "DO UPDATE SET " + ", ".join(updates)
    sql = (
        f"INSERT INTO {table.name}{suffix} AS t ({', '.join(names)}) "
        f"SELECT {select} FROM unnest({params}) AS u({', '.join(names)}) "
        f"ON CONFLICT ({', '.join(table.key)}) {action}"
    )
    _SQL_CACHE[cache_key] = sql
    return sql


async def write(conn: asyncpg.Connection[Any], batch: BatchWriter, suffix: str = "") -> int:
    """Writes and clears `batch` (into the shadow set named by `suffix`); returns the rows written."""
    written = 0
    for table, names, rows in batch.shapes():
        cols = [table.by_name[n] for n in names]
        arrays = [
            [_encode_json(r[c.name]) for r in rows]
            if c.pgtype in ("jsonb", "text[]")
            else [r[c.name] for r in rows]
            for c in cols
        ]
        await conn.execute(upsert_sql(table, names, suffix), *arrays)
        written += len(rows)
    batch.clear()
    return written
