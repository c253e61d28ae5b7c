"""What every repository shares: the record -> typed row conversion (and the shared `Conn` alias)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import TypeVar

import asyncpg

from bridge_shared.db.connection import Conn

__all__ = ["Conn", "as_row", "as_rows", "maybe_row", "one_row"]

R = TypeVar("R")


_COLUMNS: dict[type, tuple[str, ...]] = {}


def _columns(cls: type) -> tuple[str, ...]:
    names = _COLUMNS.get(cls)
    if names is None:
        names = _COLUMNS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def as_row(cls: type[R], record: asyncpg.Record) -> R:
    """The record's columns named by the dataclass `cls` (extra columns are ignored)."""
    return cls(**{name: record[name] for name in _columns(cls)})


def as_rows(cls: type[R], records: Iterable[asyncpg.Record]) -> list[R]:
    return [as_row(cls, r) for r in records]


def maybe_row(cls: type[R], record: asyncpg.Record | None) -> R | None:
    return None if record is None else as_row(cls, record)


def one_row(cls: type[R], record: asyncpg.Record | None) -> R:
    """For statements that always return a row (INSERT/UPDATE ... RETURNING of a locked row)."""
    if record is None:
        raise LookupError(f"expected a {cls.__name__} row")
    return as_row(cls, record)


def for_update(lock: bool) -> str:
    return " FOR UPDATE" if lock else ""


def to_json(value: object) -> str:
    return json.dumps(value)
