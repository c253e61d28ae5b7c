"""A circle's common weekly slot: a stretch of at least the policy's minutes when every member is free,
in every week of the programme, each week with its own time-zone offsets (DST included).

Two paths, independent on purpose (the second is the first's oracle in the tests):

- Bitsets, for the engine. The pair engine's programme encoding (``engine.availability``) gives each
  person's free slots, in UTC minutes of the week, in every *distinct* week of the programme. From
  those, :func:`run_starts` marks the slots where a person is free for ``k`` slots in a row
  (``k`` = the policy's minutes in slots). A group has a common slot in a week exactly when the AND of
  its members' run-start bitsets is not zero: someone free for ``k`` slots from ``s`` on is free in
  ``[s, s + k)``, and if everyone is, that is the common slot. So a circle's feasibility is an AND
  of its members' rows and a test for zero per week, and a candidate's is one more AND.
- Intervals, for one circle at a time (:func:`common_slot_minutes`): each member's UTC intervals in
  each week of the programme (no deduplication), intersected, and the longest stretch measured.

The week is a ring (a stretch may run from Sunday into Monday UTC), in both paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from bridge_matching.domain.engine.availability import WEEK_MINUTES, Interval, utc_intervals
from bridge_matching.domain.engine.model import AvailabilityWindow

U64 = npt.NDArray[np.uint64]
BoolA = npt.NDArray[np.bool_]


def slots_needed(minutes: int, slot_minutes: int) -> int:
    """Slots in a row that cover ``minutes`` (a stretch is a whole number of slots)."""
    return max(0, -(-minutes // slot_minutes))


def unpack(bits: U64, n_slots: int) -> BoolA:
    """Rows of packed little-endian uint64 words -> rows of ``n_slots`` booleans."""
    raw = np.ascontiguousarray(bits).view(np.uint8).reshape(bits.shape[0], -1)
    out: BoolA = np.unpackbits(raw, axis=1, bitorder="little")[:, :n_slots].astype(np.bool_)
    return out


def pack(dense: BoolA, words: int) -> U64:
    """Rows of booleans -> rows of ``words`` packed little-endian uint64 words."""
    rows, width = dense.shape
    padded = np.zeros((rows, words * 64), dtype=np.bool_)
    padded[:, :width] = dense
    out: U64 = np.packbits(padded, axis=1, bitorder="little").view("<u8").astype(np.uint64)
    return out.reshape(rows, words)


def run_starts(free: BoolA, k: int) -> BoolA:
    """``out[p, s]``: row ``p`` is free in the ``k`` slots from ``s`` on, around the ring.

    Doubling: after each step ``r[s]`` is the AND of a longer stretch, so about log2(k) ANDs of the
    whole array instead of k.
    """
    n_slots = free.shape[1]
    if k <= 1:
        return free.copy() if k == 1 else np.ones_like(free)
    if k > n_slots:
        return np.zeros_like(free)
    r = np.concatenate([free, free[:, : k - 1]], axis=1)
    length = 1
    while length < k:
        step = min(length, k - length)
        r = r[:, :-step] & r[:, step:]
        length += step
    return np.ascontiguousarray(r)


def longest_run(free: int, n_slots: int) -> tuple[int, int]:
    """(start slot, length in slots) of the longest stretch of set bits of ``free`` (an ``n_slots``-bit
    ring); the earliest of equally long ones; (0, 0) when none. A full ring is one stretch of it all."""
    full = (1 << n_slots) - 1
    free &= full
    if not free:
        return 0, 0
    if free == full:
        return 0, n_slots
    # Rotate so the ring starts just after an unset bit: no stretch then crosses the end.
    gap = (~free & (free + 1)).bit_length() - 1  # the lowest unset bit
    shift = gap + 1
    rotated = ((free >> shift) | (free << (n_slots - shift))) & full
    length, runs = 0, rotated
    while runs:
        last, runs = runs, runs & (runs >> 1)
        length += 1
    starts = []
    while last:  # bit i of ``last``: a longest stretch starts at i (rotated)
        low = last & -last
        starts.append((low.bit_length() - 1 + shift) % n_slots)
        last ^= low
    return min(starts), length


@dataclass(frozen=True, slots=True)
class WeeklySlot:
    """Where a circle meets: UTC minute of the week it starts at, and how long every member is free.

    ``every_week``: the same UTC stretch works in every week of the programme; else the stretch is the
    programme's first week's, and daylight-saving changes move it (each week still has one)."""

    start_minute: int  # UTC minute of the week, 0 = Monday 00:00 UTC
    duration_minutes: int
    every_week: bool

    def as_tuple(self) -> tuple[int, int, int]:
        """(UTC weekday, start minute of that day UTC, duration): ``Circle.weekly_slot``."""
        return self.start_minute // (24 * 60), self.start_minute % (24 * 60), self.duration_minutes


def common_slot(
    free_by_week: Sequence[int], n_slots: int, slot_minutes: int, min_minutes: int
) -> WeeklySlot | None:
    """The slot to report for a group whose common free slots in each distinct week are the bits of
    ``free_by_week``; None if some week has no stretch of ``min_minutes``.

    The longest stretch free in *every* week if it is long enough (one UTC time all programme long),
    else the longest of the first week. Capped at a day, as the events carry it."""
    k = max(1, slots_needed(min_minutes, slot_minutes))
    always = -1
    for week in free_by_week:
        if longest_run(week, n_slots)[1] < k:
            return None
        always &= week
    start, length = longest_run(always, n_slots)
    every_week = length >= k
    if not every_week:
        start, length = longest_run(free_by_week[0], n_slots)
    duration = min(length * slot_minutes, 24 * 60)
    return WeeklySlot(start * slot_minutes, duration, every_week)


# -- the interval path (one group, every week) -----------------------------------------------------


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _longest_on_ring(intervals: Sequence[Interval]) -> int:
    """Longest stretch, in minutes, of merged sorted intervals on the week's ring."""
    if not intervals:
        return 0
    lengths = [e - s for s, e in intervals]
    if len(intervals) > 1 and intervals[0][0] == 0 and intervals[-1][1] == WEEK_MINUTES:
        lengths.append(lengths[0] + lengths[-1])  # Sunday night into Monday
    return max(lengths)


def common_slot_minutes(
    members: Sequence[tuple[Sequence[AvailabilityWindow], str]], weeks: Sequence[date]
) -> int:
    """The longest stretch, in minutes, when every member (windows, zone) is free, in the programme's
    week where it is shortest: each week converted with its own offsets."""
    if not members:
        return 0
    shortest = WEEK_MINUTES
    for week in weeks:
        common: list[Interval] = [(0, WEEK_MINUTES)]
        for windows, zone in members:
            common = _intersect(common, utc_intervals(windows, zone, week))
            if not common:
                return 0
        shortest = min(shortest, _longest_on_ring(common))
    return shortest
