"""Weekly availability in UTC minutes-of-week, exact, with fast bitsets.

Local windows are converted to UTC using a fixed *reference week* so DST is
resolved deterministically. The week is a ring of 10080 minutes: a window that
crosses the week boundary (e.g. Sunday 23:00 local in Tokyo is Sunday 14:00 UTC,
but Monday 01:00 in Chatham is Sunday 11:15 UTC) is split in two intervals.

For vectorised overlap we pick the coarsest slot size that divides every
interval boundary (usually 15 minutes, thanks to +5:30/+12:45 offsets), so the
bitset overlap is *exact*, not an approximation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from .model import AvailabilityWindow, _hhmm_to_minutes

DAY = 24 * 60
WEEK_MINUTES = 7 * DAY
Interval = tuple[int, int]  # half-open [start, end) in UTC minutes-of-week

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

# Pairs per chunk in vectorised overlap: keeps temporaries cache-sized.
_PAIR_CHUNK = 1 << 16


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _window_to_utc(window: AvailabilityWindow, tz: str, reference_week: date) -> tuple[Interval, ...]:
    # Cache on plain strings: hashing them is much cheaper than hashing the dataclass.
    return _convert(window.weekday, window.start, window.end, tz, reference_week)


@lru_cache(maxsize=65536)
def _convert(weekday: int, start: str, end: str, tz: str, reference_week: date) -> tuple[Interval, ...]:
    window = AvailabilityWindow(weekday, start, end)
    zone = _zone(tz)
    start_minute = window.start_minute
    day = reference_week + timedelta(days=window.weekday)
    local_start = datetime.combine(day, time(start_minute // 60, start_minute % 60), tzinfo=zone)
    # Wall-clock end, then convert: elapsed time differs from wall time across DST.
    naive_end = local_start.replace(tzinfo=None) + timedelta(minutes=window.duration_minutes)
    local_end = naive_end.replace(tzinfo=zone)
    week_origin = datetime.combine(reference_week, time(0, 0), tzinfo=UTC)
    start_utc = int((local_start.astimezone(UTC) - week_origin).total_seconds() // 60)
    end_utc = int((local_end.astimezone(UTC) - week_origin).total_seconds() // 60)
    if end_utc <= start_utc:
        return ()
    length = min(end_utc - start_utc, WEEK_MINUTES)
    start_utc %= WEEK_MINUTES
    if start_utc + length <= WEEK_MINUTES:
        return ((start_utc, start_utc + length),)
    return ((start_utc, WEEK_MINUTES), (0, start_utc + length - WEEK_MINUTES))


def merge_intervals(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def utc_intervals(
    windows: Sequence[AvailabilityWindow], tz: str, reference_week: date
) -> tuple[Interval, ...]:
    """Sorted, merged UTC minute-of-week intervals for a participant's windows."""
    return _utc_intervals(tuple(windows), tz, reference_week)


@lru_cache(maxsize=65536)
def _utc_intervals(
    windows: tuple[AvailabilityWindow, ...], tz: str, reference_week: date
) -> tuple[Interval, ...]:
    parts: list[Interval] = []
    for window in windows:
        parts.extend(_window_to_utc(window, tz, reference_week))
    return merge_intervals(parts)


def overlap_minutes(a: Sequence[Interval], b: Sequence[Interval]) -> int:
    """Exact overlap of two merged interval lists (linear merge)."""
    i = j = total = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if hi > lo:
            total += hi - lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def raw_utc_intervals(windows: Sequence[AvailabilityWindow], tz: str, reference_week: date) -> list[Interval]:
    """UTC intervals, possibly overlapping (fine for bitsets; skips the merge)."""
    parts: list[Interval] = []
    for w in windows:
        parts.extend(_convert(w.weekday, w.start, w.end, tz, reference_week))
    return parts


@lru_cache(maxsize=65536)
def _utc_minute(tz: str, reference_week: date, wall_minute: int) -> int:
    """UTC minute (from the reference Monday 00:00 UTC) of a local wall-clock minute
    counted from the reference Monday 00:00 local; same rules as ``_convert``."""
    naive = datetime.combine(reference_week, time(0, 0)) + timedelta(minutes=wall_minute)
    week_origin = datetime.combine(reference_week, time(0, 0), tzinfo=UTC)
    utc = naive.replace(tzinfo=_zone(tz)).astimezone(UTC)
    return int((utc - week_origin).total_seconds() // 60)


def encode_availability(
    windows: Sequence[Sequence[AvailabilityWindow]], zones: Sequence[str], reference_week: date
) -> AvailabilityBits:
    """Bitsets for many people at once; same bits as ``AvailabilityBits`` over
    ``raw_utc_intervals`` per person.

    Time-zone offsets are computed once per distinct (zone, local wall minute of
    the reference week), not once per participant window; the rest is numpy.
    """
    n = len(windows)
    counts = np.fromiter(map(len, windows), dtype=np.int64, count=n)
    flat = [w for ws in windows for w in ws]
    rows = np.repeat(np.arange(n, dtype=np.int64), counts)
    zone_vocab = sorted(set(zones))
    zone_lookup = {z: i for i, z in enumerate(zone_vocab)}
    zone_of = np.fromiter(map(zone_lookup.__getitem__, zones), dtype=np.int64, count=n)[rows]
    starts = [w.start for w in flat]
    ends = [w.end for w in flat]
    minutes = {v: _hhmm_to_minutes(v) for v in {*starts, *ends}}
    k = len(flat)
    start_min = np.fromiter(map(minutes.__getitem__, starts), dtype=np.int64, count=k)
    end_min = np.fromiter(map(minutes.__getitem__, ends), dtype=np.int64, count=k)
    weekday = np.fromiter((w.weekday for w in flat), dtype=np.int64, count=k)
    duration = np.where(end_min > start_min, end_min - start_min, end_min + DAY - start_min)
    wall_start = weekday * DAY + start_min
    wall_end = wall_start + duration
    span = 9 * DAY  # > any wall minute (Sunday start + a day)
    keys, inverse = np.unique(
        np.concatenate([zone_of * span + wall_start, zone_of * span + wall_end]),
        return_inverse=True,
    )
    utc = np.array(
        [_utc_minute(zone_vocab[x // span], reference_week, x % span) for x in keys.tolist()],
        dtype=np.int64,
    )
    start_utc, end_utc = utc[inverse[:k]], utc[inverse[k:]]
    valid = end_utc > start_utc
    rows, start_utc, end_utc = rows[valid], start_utc[valid], end_utc[valid]
    length = np.minimum(end_utc - start_utc, WEEK_MINUTES)
    start_utc %= WEEK_MINUTES
    stop = start_utc + length
    wraps = stop > WEEK_MINUTES
    return AvailabilityBits.from_arrays(
        n,
        np.concatenate([rows, rows[wraps]]),
        np.concatenate([start_utc, np.zeros(int(wraps.sum()), dtype=np.int64)]),
        np.concatenate([np.minimum(stop, WEEK_MINUTES), stop[wraps] - WEEK_MINUTES]),
    )


def _low_bits(k: I64) -> U64:
    """uint64 with the low ``k`` bits set, for 0 <= k <= 64."""
    ones = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
    shifted = np.left_shift(np.uint64(1), np.minimum(k, 63).astype(np.uint64)) - np.uint64(1)
    out: U64 = np.where(k >= 64, ones, shifted)
    return out


class AvailabilityBits:
    """Per-participant availability as packed uint64 bitsets over equal slots."""

    _ROWS_PER_CHUNK = 4096

    def __init__(self, intervals: Sequence[Sequence[Interval]]) -> None:
        rows = np.repeat(np.arange(len(intervals)), [len(ivs) for ivs in intervals])
        flat = np.array([iv for ivs in intervals for iv in ivs], dtype=np.int64).reshape(-1, 2)
        self._fill(len(intervals), rows, flat[:, 0], flat[:, 1])

    @classmethod
    def from_arrays(
        cls, n: int, rows: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], ends: I64
    ) -> AvailabilityBits:
        """Bitsets from flat interval arrays: row ``rows[k]`` has [starts[k], ends[k])."""
        self = cls.__new__(cls)
        self._fill(n, rows, starts, ends)
        return self

    def _fill(self, n: int, rows: I64, start_min: I64, end_min: I64) -> None:
        bounds = np.unique(np.concatenate([start_min, end_min]))
        slot = math.gcd(WEEK_MINUTES, *bounds.tolist()) if bounds.size else WEEK_MINUTES
        self.slot_minutes = slot
        n_slots = WEEK_MINUTES // slot
        self.words = (n_slots + 63) // 64
        width = self.words * 64 + 1
        self.bits: U64 = np.zeros((n, self.words), dtype=np.uint64)
        starts, ends = start_min // slot, end_min // slot
        order = np.argsort(rows, kind="stable")
        rows, starts, ends = rows[order], starts[order], ends[order]
        if starts.size == 0 or (
            int(starts.min()) >= 0 and int(ends.max()) <= self.words * 64 and bool((ends >= starts).all())
        ):
            self._fill_words(rows, starts, ends)
            return
        # Difference array + cumsum marks covered slots for many rows at once.
        for lo in range(0, n, self._ROWS_PER_CHUNK):
            hi = min(lo + self._ROWS_PER_CHUNK, n)
            a, b = np.searchsorted(rows, [lo, hi])
            base = (rows[a:b] - lo) * width
            size = (hi - lo) * width
            diff = np.bincount(base + starts[a:b], minlength=size)
            diff -= np.bincount(base + ends[a:b], minlength=size)
            dense = np.cumsum(diff.reshape(hi - lo, width)[:, :-1], axis=1) > 0
            packed = np.packbits(dense, axis=1, bitorder="little")
            self.bits[lo:hi] = packed.view("<u8").reshape(hi - lo, self.words)
        # Word-major copy: one 1-D gather per word is much faster than gathering
        # whole rows (no (E, words) temporaries), see ``overlap_minutes``.
        self.cols: U64 = np.ascontiguousarray(self.bits.T)

    def _fill_words(self, rows: I64, starts: I64, ends: I64) -> None:
        """Well-formed intervals (0 <= start <= end <= 64 * words, rows sorted):
        build each 64-slot word directly as the OR of per-interval bit masks.
        Same bits as the difference-array fill, without an (N, slots) temporary."""
        live = ends > starts
        rows, starts, ends = rows[live], starts[live], ends[live]
        if rows.size:
            first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            owners = rows[first]
            for w in range(self.words):
                lo = np.clip(starts - 64 * w, 0, 64)
                hi = np.clip(ends - 64 * w, 0, 64)
                mask = _low_bits(hi) & ~_low_bits(lo)
                self.bits[owners, w] = np.bitwise_or.reduceat(mask, first)
        self.cols = np.ascontiguousarray(self.bits.T)

    def overlap_minutes(
        self, left: npt.NDArray[np.intp], right: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.int64]:
        """Exact overlap in minutes for each (left[k], right[k]) row pair."""
        out = np.empty(left.shape, dtype=np.int64)
        for lo in range(0, left.size, _PAIR_CHUNK):
            a, b = left[lo : lo + _PAIR_CHUNK], right[lo : lo + _PAIR_CHUNK]
            acc = np.zeros(a.shape, dtype=np.int64)
            for col in self.cols:
                both = np.take(col, a)
                both &= np.take(col, b)
                acc += np.bitwise_count(both)
            out[lo : lo + _PAIR_CHUNK] = acc
        out *= self.slot_minutes
        return out
