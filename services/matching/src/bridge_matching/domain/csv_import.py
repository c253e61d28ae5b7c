"""HRIS CSV export -> validated participant profiles and a row-level report. Pure: no I/O.

Format: a header row (names below, case-insensitive, any order; unknown columns are ignored), one
participant per row. Lists are separated by `;`. Availability is `;`-separated windows like
`Mon 09:00-17:00` (weekday names or 0-6, 0 = Monday). Management chains are resolved over the whole
file plus the cohort's existing participants, so a manager may appear on a later line; rows in a
management cycle are rejected.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bridge_matching.domain.profile import LIST_FIELDS, OPTIONAL_FIELDS, REQUIRED_FIELDS, ParticipantIn

# The columns are the profile's fields (domain/profile.py): required ones must be in the header.
REQUIRED = REQUIRED_FIELDS
OPTIONAL = OPTIONAL_FIELDS
LISTS = LIST_FIELDS
_DAYS = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
_WINDOW = re.compile(r"^\s*(\w+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")


class FileError(ValueError):
    """The file as a whole cannot be imported (no header, missing required columns)."""


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str
    employee_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "employee_id": self.employee_id,
        }


@dataclass
class Parsed:
    total: int = 0
    accepted: list[tuple[int, ParticipantIn]] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)


def _split(value: str) -> list[str]:
    return [s.strip() for s in value.split(";") if s.strip()]


def _windows(value: str) -> list[dict[str, Any]]:
    out = []
    for part in _split(value):
        m = _WINDOW.match(part)
        if not m:
            raise ValueError(f"window {part!r} is not like 'Mon 09:00-17:00'")
        day = m[1].lower()[:3]
        weekday = int(day) if day.isdigit() else _DAYS.get(day)
        if weekday is None:
            raise ValueError(f"unknown weekday {m[1]!r}")
        out.append({"weekday": weekday, "start": m[2].zfill(5), "end": m[3].zfill(5)})
    return out


def _row_to_dict(row: Mapping[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    data: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for key, raw in row.items():
        value = (raw or "").strip()
        if key in LISTS:
            data[key] = _split(value)
        elif key == "availability":
            try:
                data[key] = _windows(value)
            except ValueError as exc:
                errors.append((key, str(exc)))
        elif value == "":
            continue  # optional fields take their defaults; missing required ones fail validation
        else:
            data[key] = value
    return data, errors


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts) if parts else "(row)"


def parse_csv(
    text: str,
    *,
    cohort_regions: Iterable[str],
    existing_managers: Mapping[str, str | None] | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 5000,
) -> Parsed:
    """Validates every row; returns accepted profiles (with line numbers) and per-row errors."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise FileError(f"line 1: {exc}") from exc
    if header is None:
        raise FileError("the file is empty: expected a header row")
    names = [(n or "").strip().lower() for n in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise FileError(f"missing required column(s): {', '.join(missing)}")
    known = set(REQUIRED) | set(OPTIONAL)
    regions = set(cohort_regions)
    out = Parsed()
    first_line: dict[str, int] = {}
    try:
        _parse_rows(reader, names, known, regions, out, first_line, progress, progress_every)
    except csv.Error as exc:  # e.g. a field over the csv module's 128 kB limit: no row is that long
        # line_num counts the lines read in full; the one that failed is the next
        raise FileError(f"line {reader.line_num + 1}: {exc}") from exc
    _reject_management_cycles(out, existing_managers or {})
    return out


def _parse_rows(
    reader: csv.DictReader[str],
    names: list[str],
    known: set[str],
    regions: set[str],
    out: Parsed,
    first_line: dict[str, int],
    progress: Callable[[int], None] | None,
    progress_every: int,
) -> None:
    assert reader.fieldnames is not None
    for n, raw in enumerate(reader, start=1):
        line = reader.line_num  # physical line of the row's end (quoted newlines count)
        out.total = n
        if progress is not None and n % progress_every == 0:
            progress(n)
        if None in raw:
            out.rejected.append(RowError(line, "(row)", "more values than header columns"))
            continue
        row = {
            name: raw.get(orig) or ""
            for orig, name in zip(reader.fieldnames, names, strict=True)
            if name in known
        }
        emp = row.get("employee_id", "").strip() or None
        data, errors = _row_to_dict(row)
        if errors:
            out.rejected.extend(RowError(line, f, m, emp) for f, m in errors)
            continue
        try:
            profile = ParticipantIn.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                out.rejected.append(RowError(line, _field(err["loc"]), err["msg"], emp))
            continue
        if profile.region not in regions:
            out.rejected.append(
                RowError(
                    line,
                    "region",
                    f"{profile.region!r} is not one of the cohort's regions ({', '.join(sorted(regions))})",
                    emp,
                )
            )
            continue
        if profile.employee_id in first_line:
            out.rejected.append(
                RowError(
                    line,
                    "employee_id",
                    f"duplicate employee_id in this file (first on line {first_line[profile.employee_id]})",
                    emp,
                )
            )
            continue
        first_line[profile.employee_id] = line
        out.accepted.append((line, profile))


def _reject_management_cycles(parsed: Parsed, existing: Mapping[str, str | None]) -> None:
    """Resolves manager links over the whole file (plus stored participants); drops rows in a cycle."""
    manager_of: dict[str, str | None] = dict(existing)
    manager_of.update({p.employee_id: p.manager_employee_id for _, p in parsed.accepted})
    state: dict[str, int] = {}  # 1 = on the current path, 2 = resolved
    in_cycle: set[str] = set()
    for start in manager_of:
        path: list[str] = []
        node: str | None = start
        while node is not None and state.get(node, 0) == 0 and node in manager_of:
            state[node] = 1
            path.append(node)
            node = manager_of.get(node)
        if node is not None and state.get(node) == 1:
            in_cycle.update(path[path.index(node) :])
        for node_id in path:
            state[node_id] = 2
    if not in_cycle:
        return
    keep = []
    for line, p in parsed.accepted:
        if p.employee_id in in_cycle:
            parsed.rejected.append(
                RowError(
                    line,
                    "manager_employee_id",
                    "management chain is a cycle (someone manages themself)",
                    p.employee_id,
                )
            )
        else:
            keep.append((line, p))
    parsed.accepted = keep
    parsed.rejected.sort(key=lambda e: e.line)


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Writes profiles (ParticipantIn-shaped dicts) in the import format; used by tests and the bench."""
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    buf = io.StringIO()
    cols = list(REQUIRED) + list(OPTIONAL)
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        out = dict(r)
        for k in LISTS:
            if k in out and isinstance(out[k], list | tuple | set | frozenset):
                out[k] = ";".join(out[k])
        if isinstance(out.get("availability"), list):
            out["availability"] = ";".join(
                f"{days[a['weekday']]} {a['start']}-{a['end']}" for a in out["availability"]
            )
        w.writerow(out)
    return buf.getvalue()
