"""UTC conversion of local windows: offsets, DST, week wrap-around, bitsets."""

from __future__ import annotations

from datetime import date, timedelta
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bridge_matching.domain.engine import AvailabilityWindow as W
from bridge_matching.domain.engine import MatchingPolicy, Participant, availability, run_matching
from bridge_matching.domain.engine.availability import (
    WEEK_MINUTES,
    AvailabilityBits,
    encode_availability,
    encode_programme,
    overlap_minutes,
    programme_overlap_minutes,
    raw_utc_intervals,
    utc_intervals,
)
from bridge_matching.domain.engine.constraints import pair_overlap_minutes, pair_violations
from bridge_matching.domain.engine.index import PopulationIndex
from bridge_matching.domain.policy import PolicyIn, to_engine_policy

JAN = date(2025, 1, 6)  # northern winter: no DST in the US/EU, DST in Sydney/NZ
MAR = date(2025, 3, 17)  # US already on DST, EU not yet


def overlap(a: tuple[W, ...], tz_a: str, b: tuple[W, ...], tz_b: str, week: date = JAN) -> int:
    return overlap_minutes(utc_intervals(a, tz_a, week), utc_intervals(b, tz_b, week))


def test_los_angeles_evening_meets_tokyo_next_morning() -> None:
    # LA Mon 17:00-19:00 PST = Tue 01:00-03:00 UTC = Tokyo Tue 10:00-12:00 JST.
    la = (W(0, "17:00", "19:00"),)
    tokyo = (W(1, "10:00", "12:00"),)
    assert overlap(la, "America/Los_Angeles", tokyo, "Asia/Tokyo") == 120
    # Same clock times on the same weekday do not overlap at all.
    assert overlap(la, "America/Los_Angeles", (W(0, "10:00", "12:00"),), "Asia/Tokyo") == 0


def test_half_hour_offset_kolkata() -> None:
    # Kolkata 14:30-16:30 IST = 09:00-11:00 UTC; London Mon 10:00-12:00 GMT.
    assert (
        overlap((W(0, "14:30", "16:30"),), "Asia/Kolkata", (W(0, "10:00", "12:00"),), "Europe/London") == 60
    )


def test_monday_morning_in_auckland_is_sunday_evening_utc() -> None:
    # Auckland is UTC+13 in January: Mon 08:00-10:00 = Sun 19:00-21:00 UTC, i.e. the
    # interval sits at the *end* of the reference week after wrapping.
    ivs = utc_intervals((W(0, "08:00", "10:00"),), "Pacific/Auckland", JAN)
    assert ivs == ((6 * 1440 + 19 * 60, 6 * 1440 + 21 * 60),)
    london_sunday = (W(6, "20:00", "22:00"),)
    assert overlap((W(0, "08:00", "10:00"),), "Pacific/Auckland", london_sunday, "Europe/London") == 60


def test_window_split_across_week_boundary_chatham() -> None:
    # Chatham is UTC+13:45 in January: Mon 13:00-15:00 = Sun 23:15 - Mon 01:15 UTC.
    ivs = utc_intervals((W(0, "13:00", "15:00"),), "Pacific/Chatham", JAN)
    assert ivs == ((0, 75), (WEEK_MINUTES - 45, WEEK_MINUTES))
    london = (W(6, "23:00", "24:00"), W(0, "00:00", "01:00"))
    assert overlap((W(0, "13:00", "15:00"),), "Pacific/Chatham", london, "Europe/London") == 105


def test_overnight_window_runs_into_next_day() -> None:
    ivs = utc_intervals((W(6, "22:00", "02:00"),), "Europe/London", JAN)
    assert ivs == ((0, 120), (WEEK_MINUTES - 120, WEEK_MINUTES))


def test_dst_is_resolved_by_the_reference_week() -> None:
    ny = (W(0, "09:00", "10:00"),)
    berlin = (W(0, "14:00", "15:00"),)
    # January: 6 h apart, no overlap; mid-March: US on DST, EU not -> 5 h apart.
    assert overlap(ny, "America/New_York", berlin, "Europe/Berlin", JAN) == 0
    assert overlap(ny, "America/New_York", berlin, "Europe/Berlin", MAR) == 60


def test_window_across_a_dst_jump_counts_elapsed_time() -> None:
    # US DST starts Sun 2025-03-09 02:00: 01:00-04:00 wall time is 2 h elapsed.
    ivs = utc_intervals((W(6, "01:00", "04:00"),), "America/New_York", date(2025, 3, 3))
    assert sum(e - s for s, e in ivs) == 120


@st.composite
def window_lists(draw: st.DrawFn) -> tuple[tuple[W, ...], str]:
    out = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(0, 24 * 60 - 1))
        end = draw(st.integers(0, 24 * 60))
        out.append(
            W(
                draw(st.integers(0, 6)),
                f"{start // 60:02d}:{start % 60:02d}",
                f"{end // 60:02d}:{end % 60:02d}",
            )
        )
    tz = draw(st.sampled_from(["Asia/Kathmandu", "Pacific/Chatham", "America/St_Johns", "UTC", "Asia/Tokyo"]))
    return tuple(out), tz


@settings(max_examples=150, deadline=None)
@given(st.lists(window_lists(), min_size=2, max_size=6))
def test_bitset_overlap_is_exact(people: list[tuple[tuple[W, ...], str]]) -> None:
    raw = [raw_utc_intervals(ws, tz, JAN) for ws, tz in people]
    bits = AvailabilityBits(raw)
    n = len(people)
    left, right = np.meshgrid(np.arange(n), np.arange(n))
    got = bits.overlap_minutes(left.ravel(), right.ravel())
    merged = [utc_intervals(ws, tz, JAN) for ws, tz in people]
    expected = [
        overlap_minutes(merged[i], merged[j]) for i, j in zip(left.ravel(), right.ravel(), strict=True)
    ]
    assert got.tolist() == expected


DST_WEEKS = [JAN, MAR, date(2025, 3, 3), date(2025, 3, 24), date(2025, 4, 7), date(2025, 10, 27)]
ZONES = [
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/St_Johns",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Asia/Kolkata",
    "UTC",
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(window_lists(), st.sampled_from(ZONES)), min_size=1, max_size=8),
    st.sampled_from(DST_WEEKS),
)
def test_vectorised_encoding_matches_per_person_conversion(
    people: list[tuple[tuple[tuple[W, ...], str], str]], week: date
) -> None:
    # Zone offsets are cached per (zone, wall minute, week) and applied with numpy;
    # the bits must equal the per-window datetime conversion, DST weeks included.
    windows = [ws for (ws, _), _ in people]
    zones = [tz for _, tz in people]
    fast = encode_availability(windows, zones, week)
    slow = AvailabilityBits([raw_utc_intervals(ws, tz, week) for (ws, _), tz in people])
    assert fast.slot_minutes == slow.slot_minutes
    assert fast.bits.tolist() == slow.bits.tolist()


def _dense_fill(n: int, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, words: int) -> np.ndarray:
    """Reference: slot j is set when some interval [start, end) of the row covers it."""
    dense = np.zeros((n, words * 64), dtype=np.bool_)
    for r, s, e in zip(rows.tolist(), starts.tolist(), ends.tolist(), strict=True):
        dense[r, s:e] = True
    return np.packbits(dense, axis=1, bitorder="little").view("<u8").reshape(n, words)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 12),
    st.sampled_from([1, 15, 30, 60]),
    st.lists(
        st.tuples(st.integers(0, 11), st.integers(0, WEEK_MINUTES), st.integers(0, WEEK_MINUTES)), max_size=30
    ),
)
def test_word_fill_matches_a_dense_slot_fill(n: int, unit: int, raw: list[tuple[int, int, int]]) -> None:
    # Overlapping, empty and word-straddling intervals, on unit-aligned bounds.
    ivs = [(r % n, min(a, b) // unit * unit, max(a, b) // unit * unit) for r, a, b in raw]
    rows = np.array([i[0] for i in ivs], dtype=np.int64)
    starts = np.array([i[1] for i in ivs], dtype=np.int64)
    ends = np.array([i[2] for i in ivs], dtype=np.int64)
    bits = AvailabilityBits.from_arrays(n, rows, starts, ends)
    slot = bits.slot_minutes
    expected = _dense_fill(n, rows, starts // slot, ends // slot, bits.words)
    assert np.array_equal(bits.bits, expected)
    assert np.array_equal(bits.cols, bits.bits.T)


# --- The whole programme: the least week counts ---------------------------------------------

TORONTO_EVENINGS = (W(0, "18:00", "20:00"), W(1, "18:00", "20:00"))
SYDNEY_MORNINGS = (W(1, "10:00", "12:00"), W(2, "10:00", "12:00"))


def _toronto_and_sydney() -> tuple[Participant, Participant]:
    mentor = Participant(
        "toronto",
        "mentor",
        1,
        department="Eng",
        manager_id=None,
        region="AMER",
        languages=frozenset({"en"}),
        time_zone="America/Toronto",
        availability=TORONTO_EVENINGS,
    )
    leader = Participant(
        "sydney",
        "mentee",
        5,
        department="Sales",
        manager_id=None,
        region="APAC",
        languages=frozenset({"en"}),
        time_zone="Australia/Sydney",
        availability=SYDNEY_MORNINGS,
    )
    return mentor, leader


def _pair_minutes(policy: MatchingPolicy, a: Participant, b: Participant) -> tuple[int, int]:
    """(vectorised through the engine's index, scalar oracle) overlap of a pair."""
    index = PopulationIndex([a, b], policy)
    m, e = np.array([index.pos[a.id]]), np.array([index.pos[b.id]])
    return int(index.avail.overlap_minutes(m, e)[0]), pair_overlap_minutes(a, b, policy)


def test_toronto_and_sydney_meet_in_january_but_not_in_july() -> None:
    # Toronto Mon/Tue 18:00-20:00 and Sydney Tue/Wed 10:00-12:00: in January (EST -5, AEDT +11)
    # both are 23:00-01:00 UTC, 4 h/week; in July (EDT -4, AEST +10) Toronto is 22:00-24:00
    # and Sydney 00:00-02:00 UTC: nothing.
    mentor, leader = _toronto_and_sydney()
    assert overlap(TORONTO_EVENINGS, "America/Toronto", SYDNEY_MORNINGS, "Australia/Sydney", JAN) == 240
    july = date(2025, 7, 7)
    assert overlap(TORONTO_EVENINGS, "America/Toronto", SYDNEY_MORNINGS, "Australia/Sydney", july) == 0
    programme = MatchingPolicy(programme_start=date(2025, 1, 13), programme_end=date(2025, 7, 31))
    typical = MatchingPolicy(
        availability_mode="typical_week", programme_start=date(2025, 1, 13), programme_end=date(2025, 7, 31)
    )
    winter_only = MatchingPolicy(programme_start=date(2025, 1, 13), programme_end=date(2025, 2, 28))
    assert _pair_minutes(programme, mentor, leader) == (0, 0)
    assert _pair_minutes(typical, mentor, leader) == (240, 240)
    assert _pair_minutes(winter_only, mentor, leader) == (240, 240)
    # No dates: a year from the reference week, so July counts.
    assert _pair_minutes(MatchingPolicy(), mentor, leader) == (0, 0)
    managers: dict[str, str | None] = {mentor.id: None, leader.id: None}
    assert "availability" in pair_violations(mentor, leader, programme, manager_of=managers)
    assert pair_violations(mentor, leader, typical, manager_of=managers) == []
    # The engine agrees: not matched over the programme, matched on a typical week, and the
    # explanation's figure is the least week's.
    assert run_matching([mentor, leader], programme).pairs == ()
    (pair,) = run_matching([mentor, leader], typical).pairs
    assert pair.breakdown.overlap_hours == 4.0
    march = MatchingPolicy(programme_start=date(2025, 1, 13), programme_end=date(2025, 3, 31))
    (pair,) = run_matching([mentor, leader], march).pairs  # Toronto on EDT, Sydney still on AEDT
    assert pair.breakdown.overlap_hours == 2.0 and "2 h" in pair.explanation


def test_a_week_with_a_dst_change_is_its_own_week() -> None:
    # New York's spring-forward Sunday (2025-03-09): 01:00-04:00 local lasts 2 h that week and 3 h
    # in the weeks around it; a UTC person free all Sunday overlaps 3 h, 2 h in that week only.
    ny = (W(6, "01:00", "04:00"),)
    utc_all_sunday = (W(6, "00:00", "24:00"),)
    weeks = [date(2025, 2, 24) + timedelta(weeks=k) for k in range(4)]  # Feb 24 .. Mar 17
    per_week = [overlap(ny, "America/New_York", utc_all_sunday, "UTC", w) for w in weeks]
    assert per_week == [180, 120, 180, 180]
    avail = encode_programme(
        [ny, utc_all_sunday, TORONTO_EVENINGS], ["America/New_York", "UTC", "America/Toronto"], weeks
    )
    assert avail.overlap_minutes(np.array([0, 1]), np.array([1, 0])).tolist() == [120, 120]
    # Toronto's weekday evenings see no change that week: one row per shift, no extra row.
    assert avail.rows == 3 + 1 + 2  # ny: EST, EDT, the switch week; utc: one; toronto: EST, EDT
    assert date(2025, 3, 3) in avail.weeks
    # A programme of that week alone: New York has no shift week, only its own row.
    only = encode_programme([ny, utc_all_sunday], ["America/New_York", "UTC"], [date(2025, 3, 3)])
    assert only.overlap_minutes(np.array([0]), np.array([1])).tolist() == [120] and only.rows == 2


def test_distinct_weeks_are_computed_once() -> None:
    # No DST anywhere: a year of weeks is one distinct week and one bitset row per person.
    people = [(OFFICE_DAYS, "Asia/Kolkata"), (OFFICE_DAYS, "Asia/Tokyo"), ((), "UTC")]
    year = MatchingPolicy().programme_weeks()
    assert len(year) == 52 and year[0] == date(2025, 1, 6)
    avail = encode_programme([w for w, _ in people], [z for _, z in people], year)
    assert avail.weeks == (date(2025, 1, 6),) and avail.rows == 3 and avail.max_combos == 1
    # London and Berlin change on the same instant: their pairs need one week; London and
    # Kolkata two (5.5 h apart in winter, 4.5 h in summer).
    avail = encode_programme([OFFICE_DAYS] * 3, ["Europe/London", "Europe/Berlin", "Asia/Kolkata"], year)
    assert avail.rows == 2 + 2 + 1
    pairs = avail._count[avail._class_of[[0, 0]] * avail._classes + avail._class_of[[1, 2]]]
    assert pairs.tolist() == [1, 2]


OFFICE_DAYS = tuple(W(d, "09:00", "17:00") for d in range(5))


def test_programme_weeks() -> None:
    p = MatchingPolicy(programme_start=date(2026, 3, 4), programme_end=date(2026, 3, 16))  # Wed .. Mon
    assert p.programme_weeks() == (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16))
    typical = MatchingPolicy(availability_mode="typical_week", programme_start=date(2026, 3, 4))
    assert typical.programme_weeks() == (date(2026, 3, 2),)
    assert MatchingPolicy(availability_mode="typical_week").programme_weeks() == (JAN,)
    ends = MatchingPolicy(availability_mode="typical_week", programme_end=date(2026, 3, 4))
    assert ends.programme_weeks() == (JAN,)  # no first week known: the reference week
    start_only = MatchingPolicy(programme_start=date(2026, 3, 4)).programme_weeks()
    assert len(start_only) == 52 and start_only[0] == date(2026, 3, 2)
    end_only = MatchingPolicy(programme_end=date(2026, 3, 4)).programme_weeks()
    assert len(end_only) == 52 and end_only[-1] == date(2026, 3, 2)
    with pytest.raises(ValueError, match="programme_end"):
        MatchingPolicy(programme_start=date(2026, 3, 4), programme_end=date(2026, 3, 1))
    with pytest.raises(ValueError, match="availability_mode"):
        MatchingPolicy(availability_mode="sometimes")  # type: ignore[arg-type]


def test_hr_policy_and_cohort_dates_reach_the_engine() -> None:
    engine = to_engine_policy({}, programme_start=date(2026, 3, 2), programme_end=date(2026, 8, 31))
    assert engine.availability_mode == "whole_programme"
    assert engine.programme_weeks()[0] == date(2026, 3, 2) and engine.programme_weeks()[-1] == date(
        2026, 8, 31
    )
    from_matching = to_engine_policy({"availability_mode": "typical_week"}, matching_date=date(2026, 2, 18))
    assert from_matching.programme_weeks() == (date(2026, 2, 16),)
    assert len(to_engine_policy(None, matching_date=date(2026, 2, 18)).programme_weeks()) == 52
    assert to_engine_policy(None).programme_weeks()[0] == JAN
    with pytest.raises(ValidationError):
        PolicyIn.model_validate({"availability_mode": "monthly"})


LONG_ZONES = [
    "America/Toronto",
    "America/New_York",
    "America/St_Johns",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute DST change
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/Sao_Paulo",
    "UTC",
]


@st.composite
def any_windows(draw: st.DrawFn) -> tuple[W, ...]:
    out = []
    for _ in range(draw(st.integers(0, 4))):
        grid = draw(st.booleans())
        start = draw(st.integers(0, 95)) * 15 if grid else draw(st.integers(0, 24 * 60 - 1))
        end = draw(st.integers(0, 96)) * 15 if grid else draw(st.integers(0, 24 * 60))
        out.append(
            W(
                draw(st.integers(0, 6)),
                f"{start // 60:02d}:{start % 60:02d}",
                f"{end // 60:02d}:{end % 60:02d}",
            )
        )
    return tuple(out)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(any_windows(), st.sampled_from(LONG_ZONES)), min_size=1, max_size=9),
    st.dates(date(2024, 1, 1), date(2027, 12, 31)),
    st.integers(0, 420),
    st.sampled_from(["whole_programme", "typical_week"]),
    st.booleans(),
)
def test_vectorised_programme_overlap_matches_the_scalar_definition(
    people: list[tuple[tuple[W, ...], str]], start: date, days: int, mode: str, few_classes: bool
) -> None:
    policy = MatchingPolicy(
        availability_mode=mode,  # type: ignore[arg-type]
        programme_start=start,
        programme_end=start + timedelta(days=days),
    )
    weeks = policy.programme_weeks()
    # few_classes: the fallback for many (zone, DST pattern) classes, rows for every DST week.
    with mock.patch.object(availability, "_MAX_CLASSES", 1 if few_classes else availability._MAX_CLASSES):
        avail = encode_programme([w for w, _ in people], [z for _, z in people], weeks)
    n = len(people)
    left, right = (x.ravel() for x in np.meshgrid(np.arange(n), np.arange(n)))
    got = avail.overlap_minutes(left, right).tolist()
    expected = [
        programme_overlap_minutes(people[i][0], people[i][1], people[j][0], people[j][1], weeks)
        for i, j in zip(left.tolist(), right.tolist(), strict=True)
    ]
    assert got == expected
    # Each distinct week's bitsets give that week's overlap (an upper bound of the minimum).
    for d, monday in enumerate(avail.weeks):
        bits = avail.week_bits(d)
        one = np.bitwise_count(bits[left] & bits[right]).sum(axis=1) * avail.slot_minutes
        assert one.tolist() == [
            overlap(people[i][0], people[i][1], people[j][0], people[j][1], monday)
            for i, j in zip(left.tolist(), right.tolist(), strict=True)
        ]
    # Through the engine's own index and the scalar constraint checker, with the same policy.
    participants = [
        Participant(f"p{k:02d}", "either", k, "Eng", None, "EMEA", frozenset({"en"}), tz, ws)
        for k, (ws, tz) in enumerate(people)
    ]
    index = PopulationIndex(participants, policy)
    assert index.avail.overlap_minutes(left, right).tolist() == expected
    managers: dict[str, str | None] = {p.id: None for p in participants}
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            broken = pair_violations(participants[i], participants[j], policy, manager_of=managers)
            assert ("availability" in broken) == (expected[j * n + i] < 60), (i, j)
    # The scalar definition is the least of the per-week overlaps.
    i, j = 0, n - 1
    assert expected[i * n + j] == min(
        overlap(people[j][0], people[j][1], people[i][0], people[i][1], w) for w in weeks
    )
