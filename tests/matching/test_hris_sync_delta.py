"""HRIS delta files for the company directory (issue 19, item 2): the cohort import's CSV format with
the directory's columns, termination dates, bad rows reported by line and field, participant-owned
columns ignored."""

from __future__ import annotations

from datetime import date

import pytest

from bridge_matching.domain.csv_import import FileError, RowError, to_csv
from bridge_matching.domain.hris_delta import COLUMNS, REQUIRED_COLUMNS, parse_delta, report
from tests.matching.api.support import person

HEADER = "employee_id,display_name,email,department,manager_employee_id,region,seniority_level"


def _errors(text: str) -> list[tuple[int, str]]:
    return [(e.line, e.field) for e in parse_delta(text).rejected]


def test_the_directory_columns_and_no_others() -> None:
    assert REQUIRED_COLUMNS == ("employee_id", "display_name", "email")
    assert "user_name" not in COLUMNS and "external_id" not in COLUMNS  # the identity provider's
    assert {"termination_date", "start_date", "active", "title"} <= set(COLUMNS)


def test_a_delta_row_becomes_a_directory_record() -> None:
    text = (
        "Employee_ID;Display_Name;EMAIL;title;department;manager_employee_id;region;seniority_level;"
        "locale;timezone;start_date;termination_date;active\r\n"
        "E1;Ann Example;ann@corp.example;Engineer;Engineering;M1;EMEA;4;de-DE;Europe/Berlin;"
        "2026-03-01;2027-06-30;yes\r\n"
        "E2;Bo;bo@corp.example;;;;;;;;;;\r\n"
    )
    parsed = parse_delta("\ufeff" + text)
    assert parsed.delimiter == ";" and parsed.total == 2 and parsed.rejected == []
    (l1, e1), (l2, e2) = parsed.accepted
    assert (l1, l2) == (2, 3)
    assert e1.model_dump() == {
        "employee_id": "E1",
        "user_name": None,
        "external_id": None,
        "display_name": "Ann Example",
        "given_name": None,
        "family_name": None,
        "email": "ann@corp.example",
        "title": "Engineer",
        "department": "Engineering",
        "manager_employee_id": "M1",
        "region": "EMEA",
        "seniority_level": 4,
        "locale": "de-DE",
        "timezone": "Europe/Berlin",
        "start_date": date(2026, 3, 1),
        "termination_date": date(2027, 6, 30),
        "active": True,
    }
    # blank optional cells: no value; a blank `active` is an active person
    assert e2.department is None and e2.termination_date is None and e2.active is True


@pytest.mark.parametrize(("cell", "active"), [("true", True), ("No", False), ("0", False), ("1", True)])
def test_active_reads_the_usual_spellings(cell: str, active: bool) -> None:
    parsed = parse_delta(f"employee_id,display_name,email,active\nE1,Ann,ann@corp.example,{cell}\n")
    assert parsed.accepted[0][1].active is active


@pytest.mark.parametrize("cell", ["30/06/2027", "2027-6-30", "20270630", "1782777600", "2027-02-30"])
def test_a_termination_date_must_be_an_iso_date(cell: str) -> None:
    parsed = parse_delta(f"employee_id,display_name,email,termination_date\nE1,Ann,ann@corp.example,{cell}\n")
    assert parsed.accepted == []
    assert [(e.line, e.field, e.employee_id) for e in parsed.rejected] == [(2, "termination_date", "E1")]


def test_participant_owned_and_unknown_columns_are_ignored() -> None:
    """A file made for a cohort import is a delta file: role, languages, availability, skills... are
    read past (the sync never changes what participants own), and so is any other column."""
    rows = [person("M1", "mentor", 2), person("L1", "mentee", 10, manager="M1")]
    text = to_csv(rows).replace("employee_id,", "cost_centre,employee_id,", 1)
    text = "\n".join(
        line if i == 0 else f"CC-{i}," + line for i, line in enumerate(text.splitlines())
    )  # an unknown first column
    parsed = parse_delta(text)
    assert parsed.rejected == []
    records = [r for _, r in parsed.accepted]
    assert [(r.employee_id, r.manager_employee_id, r.seniority_level) for r in records] == [
        ("M1", None, 2),
        ("L1", "M1", 10),
    ]
    assert records[1].department == "Finance" and records[1].timezone == "Europe/London"
    assert not hasattr(records[0], "skills_to_share") and not hasattr(records[0], "role")


def test_bad_rows_are_reported_by_line_and_field_and_never_stop_the_good_ones() -> None:
    text = "\n".join(
        [
            HEADER + ",timezone,termination_date",
            "E1,Ann,ann@corp.example,Eng,,EMEA,3,,",
            "E2,Bo,not-an-address,Eng,,EMEA,3,,",  # e-mail
            "E3,,cy@corp.example,Eng,,EMEA,3,,",  # no name
            "E4,Di,di@corp.example,Eng,,EMEA,99,Mars/Base,31/12/2026",  # three errors, all said
            "E5,Ed,ed@corp.example,Eng,,EMEA,3,,,surplus",  # more values than columns
            "e1,Fi,fi@corp.example,Eng,,EMEA,3,,",  # E1 again (case-insensitive)
            "E7,Gu,gu@corp.example,Eng,E7,EMEA,3,,",  # manages themself
            "bad id!,Ha,ha@corp.example,Eng,,EMEA,3,,",
            "E9,Io,io@corp.example,Eng,E1,EMEA,3,Europe/Paris,2027-01-31",
        ]
    )
    parsed = parse_delta(text)
    assert parsed.total == 9
    assert [(line, r.employee_id) for line, r in parsed.accepted] == [(2, "E1"), (10, "E9")]
    assert [(e.line, e.field) for e in parsed.rejected] == [
        (3, "email"),
        (4, "display_name"),
        (5, "termination_date"),
        (5, "timezone"),
        (5, "seniority_level"),
        (6, "(row)"),
        (7, "employee_id"),
        (8, "(row)"),
        (9, "employee_id"),
    ]
    assert parsed.rejected_lines == 7
    duplicate = parsed.rejected[7 - 1]
    assert duplicate.employee_id == "e1" and "first on line 2" in duplicate.message
    assert "Mars/Base" in parsed.rejected[3].message
    assert "themself" in parsed.rejected[7].message


def test_a_management_cycle_in_the_file_rejects_its_rows() -> None:
    text = "\n".join(
        [
            HEADER,
            "A,Al,a@corp.example,Eng,B,EMEA,3",
            "B,Bea,b@corp.example,Eng,c,EMEA,3",
            "C,Cy,c@corp.example,Eng,A,EMEA,3",
            "D,Di,d@corp.example,Eng,A,EMEA,3",  # under the cycle, not in it
        ]
    )
    parsed = parse_delta(text)
    assert [r.employee_id for _, r in parsed.accepted] == ["D"]
    assert [(e.line, e.field) for e in parsed.rejected] == [(n, "manager_employee_id") for n in (2, 3, 4)]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("employee_id;display_name;mail\nE1;Ann;ann@corp.example\n", "missing required column(s): email"),
        ('employee_id,display_name,email\nE1,"' + "x" * 200_000 + '",a@corp.example\n', "line 2"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(text: str, says: str) -> None:
    with pytest.raises(FileError, match=r"(?s).*" + says.replace("(", r"\(").replace(")", r"\)")):
        parse_delta(text)


def test_the_report_counts_lines_and_lists_every_error_in_line_order() -> None:
    parsed = parse_delta(
        "\n".join(
            [HEADER, "E1,Ann,bad,Eng,,EMEA,99", "E2,Bo,bo@corp.example,Eng,,EMEA,3", "E3,Cy,x,Eng,,EMEA,3"]
        )
    )
    refused = [RowError(3, "user_name", "another directory entry already has this user_name", "E2")]
    counts = {"applied": 0, "unchanged": 0, "joined": 0, "moved": 0, "left": 0}
    body = report(parsed, counts, refused, max_errors=3)
    assert body["total"] == 3 and body["rejected"] == 3 and body["delimiter"] == "comma"
    assert [(e["line"], e["field"]) for e in body["errors"]] == [
        (2, "email"),
        (2, "seniority_level"),
        (3, "user_name"),
    ]
    assert body["errors_truncated"] is True
    assert _errors(HEADER + "\nE1,Ann,ann@corp.example,Eng,,EMEA,3\n") == []
