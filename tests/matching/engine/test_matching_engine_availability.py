"""UTC conversion of local windows: offsets, DST, week wrap-around, bitsets."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge_matching.domain.engine import AvailabilityWindow as W
from bridge_matching.domain.engine.availability import (
    WEEK_MINUTES,
    AvailabilityBits,
    encode_availability,
    overlap_minutes,
    raw_utc_intervals,
    utc_intervals,
)

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
