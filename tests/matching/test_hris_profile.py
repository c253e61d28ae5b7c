"""Profile input cleaning (issue 12, item 6): language tags, skills as written, overnight windows and
employee ids compared case-insensitively, for the API's ParticipantIn as for the import."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from bridge_matching.domain import languages
from bridge_matching.domain.cohort import CohortIn
from bridge_matching.domain.profile import ParticipantIn, Window, clean_tags, resolve_references
from bridge_matching.domain.rows import ParticipantRow
from tests.matching.api.support import cohort_body, person


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("EN-us", "en"),
        ("en_GB", "en"),
        ("zh-Hant-TW", "zh"),
        ("sr-Latn-RS", "sr"),
        ("es-419", "es"),
        ("de-CH-1996", "de"),
        ("yue", "yue"),
        ("zh-yue", "yue"),
        ("eng", "en"),  # ISO 639-3 spelling of an ISO 639-1 language
        ("iw", "he"),  # deprecated
        ("i-klingon", "tlh"),  # grandfathered
        (" fil ", "fil"),
    ],
)
def test_bcp47_tags_become_their_primary_language_subtag(tag: str, code: str) -> None:
    assert languages.normalise(tag).code == code
    assert ParticipantIn.model_validate(person("A1", "mentor", 2, languages=[tag])).languages == [code]


@pytest.mark.parametrize("tag", ["klingon", "English", "xx", "en--GB", "x-private", "und", "zxx", "e"])
def test_unknown_languages_are_refused_naming_the_field_and_what_is_accepted(tag: str) -> None:
    with pytest.raises(languages.UnknownLanguage):
        languages.normalise(tag)
    with pytest.raises(ValidationError) as err:
        ParticipantIn.model_validate(person("A1", "mentor", 2, languages=["en", tag]))
    [e] = err.value.errors()
    assert e["loc"] == ("languages", 1) and e["type"] == "value_error"
    assert "ISO 639-1 or ISO 639-3" in e["msg"] and "en-GB" in e["msg"]


def test_languages_are_deduplicated_after_normalising() -> None:
    p = ParticipantIn.model_validate(person("A1", "mentor", 2, languages=["EN-us", "en-GB", "de", "en"]))
    assert p.languages == ["de", "en"]
    assert languages.normalise("en").changed is False and languages.normalise("EN").changed is True


def test_skills_keep_their_case_and_drop_case_insensitive_repeats() -> None:
    assert clean_tags(["Generative  AI", "generative ai", " TikTok ", "SQL", "sql", ""]) == [
        "Generative AI",
        "SQL",
        "TikTok",
    ]
    p = ParticipantIn.model_validate(person("A1", "mentor", 2, skills_to_share=["TikTok", "tiktok", "C++"]))
    assert p.skills_to_share == ["C++", "TikTok"]
    taxonomy = CohortIn.model_validate(cohort_body(skill_taxonomy=["Generative AI", "generative ai"]))
    assert taxonomy.skill_taxonomy == ["Generative AI"]


def test_overnight_windows_are_accepted_and_round_trip() -> None:
    w = Window.model_validate({"weekday": 4, "start": "22:00", "end": "02:00"})
    assert Window.model_validate(w.model_dump()) == w
    p = ParticipantIn.model_validate(person("A1", "mentor", 2, availability=[w.model_dump()]))
    assert ParticipantIn.model_validate(p.model_dump()).availability == [w]
    assert Window.model_validate({"weekday": 0, "start": "00:00", "end": "24:00"}).end == "24:00"
    with pytest.raises(ValidationError, match="end must differ from start"):
        Window.model_validate({"weekday": 4, "start": "22:00", "end": "22:00"})


def test_ids_are_compared_case_insensitively_in_the_profile() -> None:
    p = ParticipantIn.model_validate(person("A1", "mentor", 2, requested_partners=["b1", "B1", "c1"]))
    assert p.requested_partners == ["b1", "c1"]
    bad: list[dict[str, Any]] = [
        {"manager": "a1"},
        {"requested_partners": ["a1"]},
        {"blocked_partners": ["A1 "]},
        {"requested_partners": ["b1"], "blocked_partners": ["B1"]},
    ]
    for extra in bad:
        with pytest.raises(ValidationError):
            ParticipantIn.model_validate(person("A1", "mentor", 2, **extra))


def _row(emp: str, **over: Any) -> ParticipantRow:
    p = ParticipantIn.model_validate(person(emp, "mentee", 9))
    now = datetime(2027, 1, 1, tzinfo=UTC)
    return dataclasses.replace(
        ParticipantRow(
            id=uuid.uuid4(),
            cohort_id=uuid.uuid4(),
            status="enrolled",
            created_at=now,
            updated_at=now,
            withdrawn_at=None,
            withdrawn_reason=None,
            **p.model_dump(mode="json"),
        ),
        **over,
    )


def test_references_are_spelled_as_the_participant_they_name() -> None:
    rows = [
        _row("A1", requested_partners=["b1"], blocked_partners=["c1", "X7"]),
        _row("B1", manager_employee_id="BOSS"),
        _row("C1", manager_employee_id="boss", requested_partners=["a1"]),
        _row("D1", blocked_partners=["x7"]),
    ]
    a, b, c, d = resolve_references(rows)
    assert a.requested_partners == ["B1"] and a.blocked_partners == ["C1", "X7"]
    assert b is rows[1]  # nothing to change: the same row
    # Not enrolled: one spelling for every reference to the same person (the first seen).
    assert c.manager_employee_id == "BOSS" and c.requested_partners == ["A1"]
    assert d.blocked_partners == ["X7"]


def test_the_engine_reads_an_overnight_window_into_the_next_day() -> None:
    from datetime import date

    from bridge_matching.domain.engine import AvailabilityWindow
    from bridge_matching.domain.engine.availability import overlap_minutes, utc_intervals

    friday_night = Window.model_validate({"weekday": 4, "start": "22:00", "end": "02:00"})
    late = utc_intervals(
        (AvailabilityWindow(friday_night.weekday, friday_night.start, friday_night.end),),
        "Europe/London",
        date(2027, 1, 4),
    )
    saturday_small_hours = utc_intervals(
        (AvailabilityWindow(5, "00:00", "03:00"),), "Europe/London", date(2027, 1, 4)
    )
    assert overlap_minutes(late, saturday_small_hours) == 120
