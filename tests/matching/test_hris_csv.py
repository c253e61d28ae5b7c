"""HRIS files as HR exports them (issue 12, item 6): the delimiter, a byte order mark, language tags,
overnight windows and employee ids that differ only in case."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge_matching.domain.csv_import import FileError, Parsed, detect_delimiter, parse_csv, to_csv
from tests.matching.api.support import person

EMEA = ["EMEA"]


def _excel(rows: list[dict[str, Any]], delimiter: str) -> str:
    """As Excel saves "CSV UTF-8" in an EU locale (`;`) or "Text" (tab): a BOM, CRLF line ends, and a
    cell holding the list separator quoted."""
    text: str = to_csv(rows, delimiter=delimiter, bom=True, lineterminator="\r\n")
    return text


def _summary(p: Parsed) -> tuple[Any, ...]:
    return (
        p.total,
        [(line, prof.model_dump()) for line, prof in p.accepted],
        [e.as_dict() for e in p.rejected],
        [n.as_dict() for n in p.notes],
    )


ROWS = [
    person("M1", "mentor", 2, languages=["en", "de"], skills_to_share=["Generative AI", "TikTok"]),
    person("L1", "mentee", 10, manager="M1", requested_partners=["M1"]),
]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_files_with_a_bom_import_like_the_comma_file(delimiter: str) -> None:
    text = _excel(ROWS, delimiter)
    assert text.startswith("\ufeffemployee_id" + delimiter)
    if delimiter == ";":
        assert '"en;de"' in text  # Excel quotes a cell holding the delimiter
    parsed = parse_csv(text, cohort_regions=EMEA)
    assert parsed.delimiter == delimiter
    assert [p.employee_id for _, p in parsed.accepted] == ["M1", "L1"] and parsed.rejected == []
    assert _summary(parsed) == _summary(parse_csv(to_csv(ROWS), cohort_regions=EMEA))
    m1 = parsed.accepted[0][1]
    assert m1.languages == ["de", "en"] and m1.skills_to_share == ["Generative AI", "TikTok"]


def test_a_pipe_separates_list_items_in_any_file() -> None:
    piped = [
        {**r, **{k: "|".join(r[k]) for k in ("languages", "skills_to_share", "skills_to_learn")}}
        for r in ROWS
    ]
    for r in piped:
        r["availability"] = "Mon 09:00-17:00 | Fri 22:00-02:00"
    text = to_csv(piped, delimiter=";")
    assert '"' not in text
    parsed = parse_csv(text, cohort_regions=EMEA)
    assert parsed.rejected == []
    m1 = parsed.accepted[0][1]
    assert m1.languages == ["de", "en"] and m1.skills_to_share == ["Generative AI", "TikTok"]
    assert [(w.weekday, w.start, w.end) for w in m1.availability] == [
        (0, "09:00", "17:00"),
        (4, "22:00", "02:00"),
    ]


def test_the_delimiter_is_the_one_that_finds_the_columns() -> None:
    assert detect_delimiter("employee_id;role;display_name") == ";"
    assert detect_delimiter("employee_id\trole\tdisplay_name") == "\t"
    assert detect_delimiter("employee_id,role;x") == ","
    assert detect_delimiter('"employee_id";"role, as HR says";"display_name"') == ";"
    assert detect_delimiter("a;b;c") == ";"  # nothing known: the most frequent
    assert detect_delimiter("") == ","


def test_a_header_mismatch_names_the_columns_found_and_the_delimiter() -> None:
    header = "Employee ID;Role;Name"
    with pytest.raises(FileError) as err:
        parse_csv(f"\ufeff{header}\r\nA1;mentor;Ann\r\n", cohort_regions=EMEA)
    message = str(err.value)
    assert "missing required column(s): employee_id, role" not in message  # role was found
    assert "missing required column(s): employee_id, display_name" in message
    assert "semicolon-separated" in message
    assert "'employee id', 'role', 'name'" in message


def test_region_and_case_variants_of_a_language_become_its_code_with_a_note() -> None:
    rows = [person("A1", "mentor", 2, languages=["en-GB", "EN-us", "de"]), person("A2", "mentee", 9)]
    parsed = parse_csv(to_csv(rows), cohort_regions=EMEA)
    assert parsed.rejected == []
    assert parsed.accepted[0][1].languages == ["de", "en"]
    assert [(n.line, n.field, n.employee_id) for n in parsed.notes] == [
        (2, "languages", "A1"),
        (2, "languages", "A1"),
    ]
    assert "'en-GB' is stored as 'en'" in parsed.notes[0].message
    assert "'EN-us' is stored as 'en'" in parsed.notes[1].message


@pytest.mark.parametrize("language", ["klingon", "English", "xx", "en,de", "x-private", "und"])
def test_an_unknown_language_rejects_the_row_and_says_what_is_accepted(language: str) -> None:
    rows = [person("A1", "mentor", 2, languages=[language]), person("A2", "mentee", 9)]
    parsed = parse_csv(to_csv(rows), cohort_regions=EMEA)
    assert [p.employee_id for _, p in parsed.accepted] == ["A2"]
    [error] = parsed.rejected
    assert (error.line, error.field, error.employee_id) == (2, "languages.0", "A1")
    assert f"{language!r} is not a known language code" in error.message
    assert "ISO 639-1 or ISO 639-3" in error.message and "en-GB" in error.message
    assert parsed.notes == []
    if language == "English":
        assert "write 'en'" in error.message


def test_overnight_windows_round_trip_and_an_empty_window_is_refused() -> None:
    overnight = [
        {"weekday": 4, "start": "22:00", "end": "02:00"},
        {"weekday": 6, "start": "23:30", "end": "00:30"},
    ]
    text = to_csv([person("N1", "mentor", 2, availability=overnight)])
    assert "Fri 22:00-02:00;Sun 23:30-00:30" in text
    [(_, p)] = parse_csv(text, cohort_regions=EMEA).accepted
    assert [w.model_dump() for w in p.availability] == overnight
    text = to_csv([person("N2", "mentor", 2)]).replace("Mon 09:00-17:00", "Mon 09:00-09:00", 1)
    parsed = parse_csv(text, cohort_regions=EMEA)
    assert parsed.accepted == [] and parsed.rejected[0].field.startswith("availability")
    assert "end must differ from start" in parsed.rejected[0].message


def test_employee_ids_differing_in_case_are_one_person() -> None:
    rows = [person("a1", "mentor", 2), person("A1", "mentee", 9), person("B1", "mentee", 9)]
    parsed = parse_csv(to_csv(rows), cohort_regions=EMEA)
    assert [p.employee_id for _, p in parsed.accepted] == ["a1", "B1"]
    [dup] = parsed.rejected
    assert (dup.line, dup.field, dup.employee_id) == (3, "employee_id", "A1")
    assert "first on line 2" in dup.message and "case-insensitively" in dup.message


def test_manager_chains_and_self_references_ignore_case() -> None:
    rows = [
        person("C1", "mentee", 10, manager="c2"),
        person("C2", "mentee", 11, manager="c1"),
        person("S1", "mentee", 10, requested_partners=["s1"]),
        person("S2", "mentee", 10, manager="s2"),
        person("R1", "mentee", 10, requested_partners=["x9"], blocked_partners=["X9"]),
        person("D1", "mentee", 10, manager="d9"),
    ]
    parsed = parse_csv(to_csv(rows), cohort_regions=EMEA, existing_managers={"D9": "D1"})
    assert parsed.accepted == []
    by_emp = {e.employee_id: e for e in parsed.rejected}
    assert by_emp["C1"].field == by_emp["C2"].field == by_emp["D1"].field == "manager_employee_id"
    assert "request or block themself" in by_emp["S1"].message
    assert "cannot be the participant themself" in by_emp["S2"].message
    assert "both requested and blocked" in by_emp["R1"].message


# --- the same rows, however Excel or a script wrote them, give the same import ----------------------

_IDS = st.text("ABCab0123", min_size=1, max_size=4)
_LANGS = st.lists(
    st.sampled_from(["en", "en-GB", "EN-us", "de", "de-CH", "fr", "ja", "yue", "klingon"]),
    min_size=1,
    max_size=3,
)
_SKILLS = st.lists(
    st.sampled_from(["Generative AI", "generative ai", "SQL", "Strategy, planning", "TikTok"]), max_size=3
)
_WINDOWS = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.sampled_from(["08:00", "22:00", "13:30"]),
        st.sampled_from(["17:00", "02:00", "13:30"]),
    ).map(lambda t: {"weekday": t[0], "start": t[1], "end": t[2]}),
    max_size=3,
)


@st.composite
def _people(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(_IDS, min_size=1, max_size=6))
    return [
        person(
            emp,
            draw(st.sampled_from(["mentor", "mentee", "either"])),
            draw(st.integers(1, 15)),
            display_name=draw(st.sampled_from(["Ann", "Böb; Jr.", 'Zoë "Z"', "Li, Wei"])),
            languages=draw(_LANGS),
            skills_to_share=draw(_SKILLS),
            availability=draw(_WINDOWS),
            manager=draw(st.one_of(st.none(), st.sampled_from(ids))),
            requested_partners=draw(st.lists(st.sampled_from(ids), max_size=2)),
        )
        for emp in ids
    ]


@settings(max_examples=60, deadline=None)
@given(
    rows=_people(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_any_delimiter_and_bom_give_the_same_import(
    rows: list[dict[str, Any]], delimiter: str, bom: bool, crlf: bool
) -> None:
    reference = parse_csv(to_csv(rows), cohort_regions=EMEA)
    text = to_csv(rows, delimiter=delimiter, bom=bom, lineterminator="\r\n" if crlf else "\n")
    parsed = parse_csv(text, cohort_regions=EMEA)
    assert parsed.delimiter == delimiter
    assert _summary(parsed) == _summary(reference)
