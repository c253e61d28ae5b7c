"""HRIS CSV export -> validated participant profiles and a row-level report. Pure: no I/O.

Format: UTF-8 text (a byte order mark is ignored) whose columns are separated by commas, semicolons or
tabs: the delimiter is read from the header row, the one that finds the most known column names (Excel
saves `;` in most EU locales, and tabs as "Text"). The header names the columns (names below,
case-insensitive, any order; unknown columns are ignored), then one participant per row. Inside a cell,
list items are separated by `;` or `|`: in a `;`-separated file such a cell is quoted (Excel does so
itself), or uses `|`. Availability is a list of windows like `Mon 09:00-17:00` (weekday names or 0-6,
0 = Monday); an end before the start runs past midnight (`Fri 22:00-02:00`). Languages are BCP 47 tags,
kept as their primary language subtag (`en-GB` -> `en`, with a note in the report). Employee ids are
compared case-insensitively (`a1` and `A1` are one person). Management chains are resolved over the
whole file plus the cohort's existing participants, so a manager may appear on a later line; rows in a
management cycle are rejected.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bridge_matching.domain import languages
from bridge_matching.domain.profile import (
    LIST_FIELDS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    ParticipantIn,
    id_key,
)

# The columns are the profile's fields (domain/profile.py): required ones must be in the header.
REQUIRED = REQUIRED_FIELDS
OPTIONAL = OPTIONAL_FIELDS
LISTS = LIST_FIELDS
_DAYS = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
_WINDOW = re.compile(r"^\s*(\w+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_LIST_SEPARATOR = re.compile(r"[;|]")


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
    # About accepted rows: what was read differently from how it was written (`en-GB` stored as `en`).
    notes: list[RowError] = field(default_factory=list)
    delimiter: str = ","


def detect_delimiter(header_line: str, known: Collection[str] | None = None) -> str:
    """The delimiter (comma, semicolon or tab) that splits `header_line` into the most known column
    names (`known`: the profile's columns unless given); with none known, the one that occurs most; a
    comma when there is nothing to tell."""
    known = set(REQUIRED) | set(OPTIONAL) if known is None else set(known)

    def score(d: str) -> tuple[int, int]:
        try:
            cells = next(csv.reader([header_line], delimiter=d), [])
        except csv.Error:  # e.g. a cell over the csv module's limit: reading the file says so
            cells = []
        return sum(1 for c in cells if c.strip().lower() in known), header_line.count(d)

    return max(DELIMITERS, key=score)  # max keeps the first of equals: the comma


def _split(value: str) -> list[str]:
    return [s.strip() for s in _LIST_SEPARATOR.split(value) if s.strip()]


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


def open_reader(
    text: str, *, required: Sequence[str], known: Collection[str]
) -> tuple[csv.DictReader[str], list[str], str]:
    """The file's reader, its column names (stripped, lower case) and its delimiter: the format's
    header rules, shared by the cohort import and the directory's HRIS delta files
    (domain/hris_delta.py). FileError when there is no header or a required column is missing."""
    text = text.removeprefix("\ufeff")
    delimiter = detect_delimiter(text.split("\n", 1)[0].rstrip("\r"), known)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise FileError(f"line 1: {exc}") from exc
    if header is None:
        raise FileError("the file is empty: expected a header row")
    names = [(n or "").strip().lower() for n in header]
    missing = [c for c in required if c not in names]
    if missing:
        found = ", ".join(repr(n) for n in names if n) or "none"
        raise FileError(
            f"missing required column(s): {', '.join(missing)}. Reading the header as "
            f"{DELIMITER_NAMES[delimiter]}-separated, the columns found were: {found}. "
            "The delimiter may be a comma, a semicolon or a tab; required columns: "
            f"{', '.join(required)}"
        )
    return reader, names, delimiter


def read_rows(
    reader: csv.DictReader[str], names: list[str], known: Collection[str]
) -> Iterator[tuple[int, dict[str, str] | None]]:
    """(line, the row's known columns by name) for each data row; None instead of the columns when
    the row has more values than the header. `line` is the physical line of the row's end (quoted
    newlines count). A row the csv module cannot read (a field over its 128 kB limit: no row is that
    long) is a FileError naming its line."""
    assert reader.fieldnames is not None
    try:
        for raw in reader:
            if None in raw:
                yield reader.line_num, None
                continue
            yield (
                reader.line_num,
                {
                    name: raw.get(orig) or ""
                    for orig, name in zip(reader.fieldnames, names, strict=True)
                    if name in known
                },
            )
    except csv.Error as exc:
        # line_num counts the lines read in full; the one that failed is the next
        raise FileError(f"line {reader.line_num + 1}: {exc}") from exc


def parse_csv(
    text: str,
    *,
    cohort_regions: Iterable[str],
    existing_managers: Mapping[str, str | None] | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 5000,
) -> Parsed:
    """Validates every row; returns accepted profiles (with line numbers) and per-row errors."""
    known = set(REQUIRED) | set(OPTIONAL)
    reader, names, delimiter = open_reader(text, required=REQUIRED, known=known)
    regions = set(cohort_regions)
    out = Parsed(delimiter=delimiter)
    first_line: dict[str, int] = {}
    _parse_rows(read_rows(reader, names, known), regions, out, first_line, progress, progress_every)
    _reject_management_cycles(out, existing_managers or {})
    return out


def _parse_rows(
    rows: Iterator[tuple[int, dict[str, str] | None]],
    regions: set[str],
    out: Parsed,
    first_line: dict[str, int],
    progress: Callable[[int], None] | None,
    progress_every: int,
) -> None:
    for n, (line, row) in enumerate(rows, start=1):
        out.total = n
        if progress is not None and n % progress_every == 0:
            progress(n)
        if row is None:
            out.rejected.append(RowError(line, "(row)", "more values than header columns"))
            continue
        emp = row.get("employee_id", "").strip() or None
        data, errors = _row_to_dict(row)
        if errors:
            out.rejected.extend(RowError(line, f, m, emp) for f, m in errors)
            continue
        notes = _language_notes(data.get("languages", []))
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
        key = id_key(profile.employee_id)
        if key in first_line:
            out.rejected.append(duplicate(line, first_line[key], emp))
            continue
        first_line[key] = line
        out.accepted.append((line, profile))
        out.notes.extend(RowError(line, "languages", n, emp) for n in notes)


def duplicate(line: int, first: int, employee_id: str | None) -> RowError:
    """A later row of an employee id already in the file (the first row wins)."""
    return RowError(
        line,
        "employee_id",
        f"duplicate employee_id in this file (first on line {first}; "
        "employee ids are compared case-insensitively)",
        employee_id,
    )


def _language_notes(written: list[str]) -> list[str]:
    """One note per language tag that is stored differently from how it was written."""
    notes = []
    for tag in written:
        try:
            n = languages.normalise(tag)
        except languages.UnknownLanguage:
            continue  # the profile's validation rejects the row
        if n.changed:
            notes.append(
                f"{tag!r} is stored as {n.code!r}, the language it names (matching compares languages)"
            )
    return notes


def cycle_members(manager_of: Mapping[str, str | None]) -> set[str]:
    """The keys (id_key) in a management cycle, given each person's manager key (None: no manager);
    a manager not in the mapping ends the chain."""
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
    return in_cycle


CYCLE_MESSAGE = "management chain is a cycle (someone manages themself)"


def _reject_management_cycles(parsed: Parsed, existing: Mapping[str, str | None]) -> None:
    """Resolves manager links over the whole file (plus stored participants); drops rows in a cycle."""

    def key(e: str | None) -> str | None:
        return None if e is None else id_key(e)

    manager_of: dict[str, str | None] = {id_key(e): key(m) for e, m in existing.items()}
    manager_of.update({id_key(p.employee_id): key(p.manager_employee_id) for _, p in parsed.accepted})
    in_cycle = cycle_members(manager_of)
    if not in_cycle:
        return
    keep = []
    for line, p in parsed.accepted:
        if id_key(p.employee_id) in in_cycle:
            parsed.rejected.append(RowError(line, "manager_employee_id", CYCLE_MESSAGE, p.employee_id))
        else:
            keep.append((line, p))
    parsed.accepted = keep
    parsed.rejected.sort(key=lambda e: e.line)
    kept = {line for line, _ in parsed.accepted}
    parsed.notes = [n for n in parsed.notes if n.line in kept]


def to_csv(
    rows: Iterable[Mapping[str, Any]], *, delimiter: str = ",", bom: bool = False, lineterminator: str = "\n"
) -> str:
    """Writes profiles (ParticipantIn-shaped dicts) in the import format; used by tests and the bench.
    `delimiter`, `bom` and `lineterminator` write it as Excel does (`;`, a BOM and CRLF in EU locales)."""
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    buf = io.StringIO()
    if bom:
        buf.write("\ufeff")
    cols = list(REQUIRED) + list(OPTIONAL)
    w = csv.DictWriter(
        buf, fieldnames=cols, extrasaction="ignore", lineterminator=lineterminator, delimiter=delimiter
    )
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
