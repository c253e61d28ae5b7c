"""Set-based, order-independent upserts: the merge rules and the in-memory fold of a batch.

Each read-model table declares, per column, how a new value merges with the stored one. Every rule
is commutative and idempotent, so the same events applied in any order, any number of times, give
the same row:

- ``keep``: an immutable fact; the first non-null value stays (``COALESCE(old, new)``).
- ``min`` / ``max``: the earliest / latest of the values (``LEAST`` / ``GREATEST``, nulls ignored).
- ``latest:<col>``: the value carried by the event with the greatest ``<col>`` (an event time).

A batch is first folded here with the same rules (Postgres refuses to update one row twice in a
single ``INSERT ... ON CONFLICT``); `db/upsert.py` then writes it with one
``INSERT ... SELECT FROM unnest(...)`` per table and column set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any


@dataclass(frozen=True, slots=True)
class Col:
    name: str
    pgtype: str = "text"
    merge: str = "keep"
    version_col: str | None = field(init=False, repr=False, compare=False)
    """For `latest:<col>`, `<col>`; else None (worked out once: the fold asks for every merge)."""

    def __post_init__(self) -> None:
        version = self.merge.split(":", 1)[1] if self.merge.startswith("latest:") else None
        object.__setattr__(self, "version_col", version)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    key: tuple[str, ...]
    cols: tuple[Col, ...]
    insert_only: bool = False
    by_name: dict[str, Col] = field(init=False, repr=False, compare=False)
    key_of: Callable[[Row], Any] = field(init=False, repr=False, compare=False)
    """A row's key (its value for a one-column key, a tuple otherwise), in C."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.cols})
        object.__setattr__(self, "key_of", itemgetter(*self.key))


# A row is genuinely dynamic: each event carries a different subset of a table's columns (the
# merge rules fill in the rest), with values of the column's type (text, timestamptz, int, ...).
Row = dict[str, Any]


class JsonText(str):
    """A jsonb column's value already written as JSON text (stored as it is, not encoded again)."""

    __slots__ = ()


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


class BatchWriter:
    """Collects rows for many tables and folds duplicates per key; `shapes()` groups them for writing."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[tuple[Any, ...], Row]] = defaultdict(dict)
        self._tables: dict[str, Table] = {}

    def add(self, table: Table, row: Row) -> None:
        self._tables[table.name] = table
        key = table.key_of(row)
        bucket = self._rows[table.name]
        bucket[key] = merge_rows(table, bucket[key], row) if key in bucket else row

    def values(self, *cols: str) -> set[str]:
        """Every non-null value of these columns in the batch (e.g. the participant ids it names)."""
        return {
            str(row[c])
            for bucket in self._rows.values()
            for row in bucket.values()
            for c in cols
            if row.get(c)
        }

    def __len__(self) -> int:
        return sum(len(b) for b in self._rows.values())

    def shapes(self) -> Iterator[tuple[Table, tuple[str, ...], list[Row]]]:
        """Per table (by name) and column set: the folded rows, one write each."""
        for name in sorted(self._rows):
            table = self._tables[name]
            shapes: dict[tuple[str, ...], list[Row]] = defaultdict(list)
            for row in self._rows[name].values():
                ordered = tuple(c.name for c in table.cols if c.name in row)
                shapes[ordered].append(row)
            for names, rows in shapes.items():
                yield table, names, rows

    def clear(self) -> None:
        self._rows.clear()
