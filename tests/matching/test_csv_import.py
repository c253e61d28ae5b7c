"""The HRIS CSV parser on its own: line numbers, field errors, duplicates, chains across the file."""

from __future__ import annotations

import pytest

from bridge_matching.domain.csv_import import FileError, parse_csv, to_csv
from tests.matching.api.support import person


def test_rows_are_validated_with_line_numbers_and_fields() -> None:
    rows = [person("A1", "mentor", 2), person("A2", "mentee", 10, email="x"), person("A3", "mentee", 10)]
    text = to_csv(rows).replace("Mon 09:00-17:00", "Moonday 09:00-17:00", 1)  # first data row only
    parsed = parse_csv(text, cohort_regions=["EMEA"])
    assert [p.employee_id for _, p in parsed.accepted] == ["A3"]
    assert [(e.line, e.field) for e in parsed.rejected] == [(2, "availability"), (3, "email")]
    assert parsed.total == 3


def test_manager_may_appear_later_and_cycles_are_rejected() -> None:
    rows = [
        person("B1", "mentor", 2, manager="B9"),
        person("B9", "mentee", 10),
        person("C1", "mentee", 10, manager="C2"),
        person("C2", "mentee", 11, manager="C3"),
        person("C3", "mentee", 12, manager="C1"),
    ]
    parsed = parse_csv(to_csv(rows), cohort_regions=["EMEA"])
    assert sorted(p.employee_id for _, p in parsed.accepted) == ["B1", "B9"]
    assert {e.employee_id for e in parsed.rejected} == {"C1", "C2", "C3"}
    assert all(e.field == "manager_employee_id" for e in parsed.rejected)


def test_cycle_through_stored_participants_is_found() -> None:
    rows = [person("D1", "mentee", 10, manager="D2")]
    parsed = parse_csv(to_csv(rows), cohort_regions=["EMEA"], existing_managers={"D2": "D1"})
    assert parsed.accepted == [] and parsed.rejected[0].field == "manager_employee_id"


def test_file_level_errors() -> None:
    with pytest.raises(FileError):
        parse_csv("", cohort_regions=["EMEA"])
    with pytest.raises(FileError, match="employee_id"):
        parse_csv("name\nx\n", cohort_regions=["EMEA"])


def test_extra_values_and_unknown_columns() -> None:
    text = to_csv([person("E1", "mentor", 2)])
    header, row = text.strip().split("\n")
    parsed = parse_csv(f"{header},note\n{row},hello\n{row},x,y\n", cohort_regions=["EMEA"])
    assert len(parsed.accepted) == 1
    assert parsed.rejected[0].line == 3 and parsed.rejected[0].field == "(row)"
