"""HRIS delta files for the company directory -> validated directory records and a row-level report.
Pure: no I/O (app/hris_sync.py finds the files, reads them and writes the records).

The format is the HRIS CSV of cohort imports (domain/csv_import.py): UTF-8 text, a byte order mark
ignored; commas, semicolons or tabs, read from the header row; column names case-insensitive, in any
order; one person per row; line numbers as an editor shows them. The columns are the directory's, the
fields HR owns (domain/directory.py `DirectoryRecord`):

- required: employee_id, display_name, email;
- optional: given_name, family_name, title, department, manager_employee_id, region,
  seniority_level, locale, timezone (an IANA name), start_date and termination_date (ISO dates,
  YYYY-MM-DD), active (true/false, yes/no, 1/0; blank: true).

A blank optional cell means "no value". The identity provider's own fields (user_name, external_id)
and the participant's (role, languages, availability, skills, preferences, ...) may be in the file
and are ignored, as is any other column: an export made for a cohort import is a valid delta file,
and the sync never changes what participants own. Every error of a row is reported (line, field,
message, employee id); a bad row never stops the others. As in cohort imports, a later row of an
employee id already in the file is rejected, and so are rows whose manager links form a cycle within
the file (someone managing themself included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bridge_matching.domain.csv_import import (
    CYCLE_MESSAGE,
    DELIMITER_NAMES,
    OPTIONAL,
    REQUIRED,
    RowError,
    cycle_members,
    duplicate,
    open_reader,
    read_rows,
)
from bridge_matching.domain.directory import DirectoryRecord
from bridge_matching.domain.profile import id_key
from bridge_shared.contracts.common import TimeZoneName

# The identity provider's fields: SCIM sets them, an HRIS file does not.
IDP_FIELDS = frozenset({"user_name", "external_id"})
COLUMNS: tuple[str, ...] = tuple(f for f in DirectoryRecord.model_fields if f not in IDP_FIELDS)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(f for f in COLUMNS if DirectoryRecord.model_fields[f].is_required())
# Columns of a cohort import file the sync reads past (still known, so the delimiter is found).
IGNORED_COLUMNS: frozenset[str] = (frozenset(REQUIRED) | frozenset(OPTIONAL) | IDP_FIELDS) - set(COLUMNS)
DATE_COLUMNS = ("start_date", "termination_date")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONE: TypeAdapter[str] = TypeAdapter(TimeZoneName)


@dataclass
class DeltaParsed:
    total: int = 0
    accepted: list[tuple[int, DirectoryRecord]] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)
    delimiter: str = ","

    @property
    def rejected_lines(self) -> int:
        """Rows rejected (a row with several errors counts once)."""
        return len({e.line for e in self.rejected})


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(row)"


def _checks(data: dict[str, str]) -> list[tuple[str, str]]:
    """What the record's own validation would not say as plainly: dates other than ISO (pydantic
    also reads a number as a timestamp), and a time zone that is not an IANA name (the record only
    bounds its length)."""
    errors = [
        (name, f"{data[name]!r} is not an ISO date (YYYY-MM-DD)")
        for name in DATE_COLUMNS
        if name in data and not _ISO_DATE.match(data[name])
    ]
    if "timezone" in data:
        try:
            _ZONE.validate_python(data["timezone"])
        except ValidationError:
            errors.append(("timezone", f"unknown IANA time zone {data['timezone']!r}"))
    return errors


def parse_delta(text: str) -> DeltaParsed:
    """Validates every row; returns the records (with their line numbers) and per-row errors.
    Raises csv_import.FileError when the file as a whole cannot be read (no header, a required
    column missing, a line the csv module cannot read)."""
    known = set(COLUMNS) | IGNORED_COLUMNS
    reader, names, delimiter = open_reader(text, required=REQUIRED_COLUMNS, known=known)
    out = DeltaParsed(delimiter=delimiter)
    first_line: dict[str, int] = {}
    for n, (line, row) in enumerate(read_rows(reader, names, COLUMNS), start=1):
        out.total = n
        if row is None:
            out.rejected.append(RowError(line, "(row)", "more values than header columns"))
            continue
        data = {k: v.strip() for k, v in row.items() if v.strip()}
        emp = data.get("employee_id")
        errors = _checks(data)
        try:  # the fields _checks refused are optional: the rest is checked too, for one full report
            record = DirectoryRecord.model_validate({k: v for k, v in data.items() if k not in dict(errors)})
        except ValidationError as exc:
            errors.extend((_field(e["loc"]), e["msg"]) for e in exc.errors())
        if errors:
            out.rejected.extend(RowError(line, f, m, emp) for f, m in errors)
            continue
        if record.key in first_line:
            out.rejected.append(duplicate(line, first_line[record.key], emp))
            continue
        first_line[record.key] = line
        out.accepted.append((line, record))
    _reject_cycles(out)
    return out


def _reject_cycles(parsed: DeltaParsed) -> None:
    """Rows whose manager links, within the file, come back to themselves."""
    manager_of: dict[str, str | None] = {
        r.key: None if r.manager_employee_id is None else id_key(r.manager_employee_id)
        for _, r in parsed.accepted
    }
    in_cycle = cycle_members(manager_of)
    if not in_cycle:
        return
    parsed.rejected.extend(
        RowError(line, "manager_employee_id", CYCLE_MESSAGE, r.employee_id)
        for line, r in parsed.accepted
        if r.key in in_cycle
    )
    parsed.accepted = [(line, r) for line, r in parsed.accepted if r.key not in in_cycle]
    parsed.rejected.sort(key=lambda e: e.line)


def report(
    parsed: DeltaParsed, counts: dict[str, int], refused: list[RowError], max_errors: int
) -> dict[str, Any]:  # Any: the report document (counts, rows, flags)
    """The stored report of one file: rows in the file, what the writes did (`counts`: applied,
    unchanged, joined, moved, left), and every rejected row's errors by line (the parse's, and
    `refused`: rows the directory refused when written), at most `max_errors` of them."""
    rows = sorted([*parsed.rejected, *refused], key=lambda e: e.line)
    return {
        "total": parsed.total,
        **counts,
        "rejected": len({e.line for e in rows}),
        "errors": [e.as_dict() for e in rows[:max_errors]],
        "errors_truncated": len(rows) > max_errors,
        "delimiter": DELIMITER_NAMES[parsed.delimiter],
    }
