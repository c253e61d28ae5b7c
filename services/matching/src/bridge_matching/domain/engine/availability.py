"""Weekly availability in UTC minutes-of-week, exact, with fast bitsets.

Local windows are converted to UTC using a fixed *reference week* so DST is
resolved deterministically. The week is a ring of 10080 minutes: a window that
crosses the week boundary (e.g. Sunday 23:00 local in Tokyo is Sunday 14:00 UTC,
but Monday 01:00 in Chatham is Sunday 11:15 UTC) is split in two intervals.

For vectorised overlap we pick the coarsest slot size that divides every
interval boundary (usually 15 minutes, thanks to +5:30/+12:45 offsets), so the
bitset overlap is *exact*, not an approximation.

Over a whole programme, a pair's weekly overlap is the minimum over its weeks
(``programme_overlap_minutes`` is the scalar definition, ``encode_programme``
the vectorised one; see ``ProgrammeAvailability`` for how the work is kept small).
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
I16 = npt.NDArray[np.int16]

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


def programme_overlap_minutes(
    a: Sequence[AvailabilityWindow],
    tz_a: str,
    b: Sequence[AvailabilityWindow],
    tz_b: str,
    weeks: Sequence[date],
) -> int:
    """Weekly overlap over a programme: the minimum over its weeks, each converted with
    its own offsets (the scalar definition, week by week, no deduplication)."""
    return min(overlap_minutes(utc_intervals(a, tz_a, w), utc_intervals(b, tz_b, w)) for w in weeks)


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


def _count_rows(cols: U64, a: npt.NDArray[np.intp], b: npt.NDArray[np.intp]) -> I64:
    """Common set bits of rows a[k] and b[k] (word-major ``cols``), one chunk."""
    acc = np.zeros(a.shape, dtype=np.int64)
    for col in cols:
        both = np.take(col, a)
        both &= np.take(col, b)
        acc += np.bitwise_count(both)
    return acc


# --- Whole programme -------------------------------------------------------------------------
#
# A zone's *variant* is its local-to-UTC mapping over one week, restricted to the wall minutes
# that the cohort's windows in that zone use. A variant is a *shift* when every such minute moves
# by the same amount (a week without a DST change nearby); the week of a DST change usually is
# not. Weeks whose variants are the same in every zone are one distinct week.
#
# Two facts keep the work small and the result exact:
# - On the 10080-minute ring, moving both people's sets by the same amount keeps their overlap,
#   so in weeks where both are shifts the overlap depends only on the difference of the shifts.
# - A person whose own windows all move by one of the zone's shifts in a DST week (e.g. weekday
#   windows, with the change on a Sunday) has that shift's bitset in that week: no extra row.
# So each person gets one bitset row per shift of their zone plus one per DST week variant their
# windows really see, and a pair is evaluated once per distinct (shift difference | own variant)
# combination over the distinct weeks, taken from a table per pair of person classes
# (zone + which DST variants the person sees as shifts).

_SPAN = 9 * DAY  # key space per zone: > any wall minute (a Sunday start + a day)
# Above this many classes, people whose pattern is not their zone's commonest get a row for every
# non-shift variant of their zone (same result, more rows) so the class-pair table stays small.
_MAX_CLASSES = 512


def _daily_offsets(tz: str, first: date, days: int) -> list[int]:
    """UTC offset (seconds) at 00:00 UTC of ``days`` consecutive days from ``first``."""
    zone = _zone(tz)
    t0 = int(datetime.combine(first, time(0, 0), tzinfo=UTC).timestamp())
    out = []
    for k in range(days):
        off = datetime.fromtimestamp(t0 + k * 86400, zone).utcoffset()
        out.append(0 if off is None else int(off.total_seconds()))
    return out


def _shift_weeks(tz: str, weeks: Sequence[date]) -> list[int | None]:
    """Per week: the zone's whole-minute shift (utc = wall - shift) if its offset is the same
    over every instant a window of that week can map to, else None (convert exactly).

    Offsets are sampled daily from the Sunday before to the Thursday after the week (local
    windows of a week map to Monday -14 h .. the next Tuesday +12 h in UTC). Two changes less
    than a day apart that undo each other would be missed: tzdata has no two changes of any zone
    less than a day apart from 2000 to 2040 (checked against every zone's transition list).
    """
    if not weeks:
        return []
    first = weeks[0] - timedelta(days=1)
    offs = np.array(_daily_offsets(tz, first, 7 * (len(weeks) - 1) + 12), dtype=np.int64)
    change = np.r_[0, np.cumsum(offs[1:] != offs[:-1])]
    out: list[int | None] = []
    for week in weeks:
        lo = (week - first).days - 1
        if change[lo] == change[lo + 11]:
            out.append(-((-int(offs[lo])) // 60))  # utc minute = floor(wall - off / 60)
        else:
            out.append(None)
    return out


class ProgrammeAvailability:
    """Exact minimum weekly overlap over a programme's weeks, vectorised over pairs.

    Interface as :class:`AvailabilityBits`: ``overlap_minutes(left, right)`` for person rows.
    Attributes: ``weeks`` (one Monday per distinct week), ``rows`` (bitset rows in all),
    ``slot_minutes``, ``max_combos`` (most weeks any pair is evaluated for).
    """

    def __init__(
        self,
        windows: Sequence[Sequence[AvailabilityWindow]],
        zones: Sequence[str],
        weeks: Sequence[date],
    ) -> None:
        if not weeks:
            raise ValueError("a programme has at least one week")
        n = len(windows)
        self.n = n
        counts = np.fromiter(map(len, windows), dtype=np.int64, count=n)
        flat = [w for ws in windows for w in ws]
        k = len(flat)
        owner = np.repeat(np.arange(n, dtype=np.int64), counts)
        zone_vocab = sorted(set(zones))
        z_count = len(zone_vocab)
        lookup = {z: i for i, z in enumerate(zone_vocab)}
        person_zone = np.fromiter(map(lookup.__getitem__, zones), dtype=np.int64, count=n)
        win_zone = person_zone[owner]
        starts = [w.start for w in flat]
        ends = [w.end for w in flat]
        minutes = {v: _hhmm_to_minutes(v) for v in {*starts, *ends}}
        start_min = np.fromiter(map(minutes.__getitem__, starts), dtype=np.int64, count=k)
        end_min = np.fromiter(map(minutes.__getitem__, ends), dtype=np.int64, count=k)
        weekday = np.fromiter((w.weekday for w in flat), dtype=np.int64, count=k)
        duration = np.where(end_min > start_min, end_min - start_min, end_min + DAY - start_min)
        wall_start = weekday * DAY + start_min
        wall_end = wall_start + duration
        keys, inverse = np.unique(
            np.concatenate([win_zone * _SPAN + wall_start, win_zone * _SPAN + wall_end]),
            return_inverse=True,
        )
        start_key, end_key = inverse[:k], inverse[k:]
        key_bounds = np.searchsorted(keys, np.arange(z_count + 1) * _SPAN)

        # Variants per zone and week: ("s", shift) or ("v", exact UTC minutes of the zone's keys).
        var_of = np.zeros((z_count, len(weeks)), dtype=np.int64)
        self._shifts: list[list[int]] = []  # per zone: the shift of each shift variant
        self._exact: list[list[I64]] = []  # per zone: UTC minutes of keys, per non-shift variant
        for zi, tz in enumerate(zone_vocab):
            walls = keys[key_bounds[zi] : key_bounds[zi + 1]] - zi * _SPAN
            ids: dict[tuple[str, int | bytes], int] = {}
            shifts: list[int] = []
            exact: list[I64] = []
            for w, shift in enumerate(_shift_weeks(tz, weeks)):
                if walls.size == 0:
                    shift = 0
                key: tuple[str, int | bytes]
                exact_vec: I64 | None = None
                if shift is None:
                    vec = np.array(
                        [_utc_minute(tz, weeks[w], int(m)) for m in walls.tolist()], dtype=np.int64
                    )
                    moved = walls - vec
                    if bool((moved == moved[0]).all()):
                        shift = int(moved[0])
                    else:
                        exact_vec = vec
                if exact_vec is None:
                    assert shift is not None
                    key = ("s", shift)
                else:
                    key = ("v", exact_vec.tobytes())
                if key not in ids:
                    ids[key] = len(ids)
                    if exact_vec is None:
                        assert shift is not None
                        shifts.append(shift)
                    else:
                        exact.append(exact_vec)
                var_of[zi, w] = ids[key]
            # Renumber: shift variants 0..S-1 (first seen first), then exact ones S..
            order = [i for key, i in ids.items() if key[0] == "s"] + [
                i for key, i in ids.items() if key[0] == "v"
            ]
            renum = np.empty(len(order), dtype=np.int64)
            renum[order] = np.arange(len(order))
            var_of[zi] = renum[var_of[zi]]
            self._shifts.append(shifts)
            self._exact.append(exact)
        _, first_week = np.unique(var_of, axis=1, return_index=True)
        keep = np.sort(first_week)
        self.weeks: tuple[date, ...] = tuple(weeks[i] for i in keep.tolist())
        week_var = var_of[:, keep]  # (zones, distinct weeks)
        d_count = week_var.shape[1]

        # Per person and non-shift variant: which shift their own windows follow (-1: none).
        max_exact = max((len(e) for e in self._exact), default=0)
        alias = np.full((n, max_exact), -2, dtype=np.int64)  # -2: the zone has no such variant
        # Windows of a zone, people in order (a stable radix sort on small codes).
        by_zone = np.argsort(win_zone.astype(np.int32 if z_count > 32767 else np.int16), kind="stable")
        zone_win_bounds = np.searchsorted(win_zone[by_zone], np.arange(z_count + 1))
        for zi in range(z_count):
            exact = self._exact[zi]
            if not exact:
                continue
            people = np.flatnonzero(person_zone == zi)
            shift_arr = np.array(self._shifts[zi], dtype=np.int64)
            alias[people, : len(exact)] = 0 if shift_arr.size else -1
            wins = by_zone[zone_win_bounds[zi] : zone_win_bounds[zi + 1]]
            if wins.size == 0:
                continue
            who = owner[wins]
            heads = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
            base_key = key_bounds[zi]
            for j, vec in enumerate(exact):
                moved_s = wall_start[wins] - vec[start_key[wins] - base_key]
                moved_e = wall_end[wins] - vec[end_key[wins] - base_key]
                lo = np.minimum.reduceat(np.minimum(moved_s, moved_e), heads)
                hi = np.maximum.reduceat(np.maximum(moved_s, moved_e), heads)
                if shift_arr.size == 0:
                    alias[who[heads], j] = -1
                    continue
                by_shift = np.argsort(shift_arr)
                sorted_shifts = shift_arr[by_shift]
                pos = np.minimum(np.searchsorted(sorted_shifts, lo), shift_arr.size - 1)
                found = (lo == hi) & (sorted_shifts[pos] == lo)
                alias[who[heads], j] = np.where(found, by_shift[pos], -1)

        # Classes: (zone, alias pattern).
        classes, person_class = _classes(person_zone, alias)
        if classes.shape[0] > _MAX_CLASSES:
            commonest: dict[int, int] = {}
            for c in np.argsort(-np.bincount(person_class), kind="stable").tolist():
                commonest.setdefault(int(classes[c, 0]), c)
            dominant = np.zeros(classes.shape[0], dtype=np.bool_)
            dominant[list(commonest.values())] = True
            rare = ~dominant[person_class]
            alias[rare] = np.where(alias[rare] == -2, -2, -1)
            classes, person_class = _classes(person_zone, alias)
        c_count = classes.shape[0]

        # Per class: local row of each variant, and its state in each distinct week.
        n_local = np.zeros(c_count, dtype=np.int64)
        is_shift = np.zeros((c_count, d_count), dtype=np.bool_)
        shift_in = np.zeros((c_count, d_count), dtype=np.int64)
        local_in = np.zeros((c_count, d_count), dtype=np.int64)
        own_local = np.full((c_count, max(max_exact, 1)), -1, dtype=np.int64)
        for c in range(c_count):
            zi = int(classes[c, 0])
            shifts, exact = self._shifts[zi], self._exact[zi]
            s_count = len(shifts)
            own = 0
            for j in range(len(exact)):
                if classes[c, 1 + j] == -1:
                    own_local[c, j] = s_count + own
                    own += 1
            n_local[c] = s_count + own
            for d in range(d_count):
                v = int(week_var[zi, d])
                if v < s_count:
                    is_shift[c, d], shift_in[c, d], local_in[c, d] = True, shifts[v], v
                elif classes[c, v - s_count + 1] >= 0:
                    a = int(classes[c, v - s_count + 1])
                    is_shift[c, d], shift_in[c, d], local_in[c, d] = True, shifts[a], a
                else:
                    local_in[c, d] = own_local[c, v - s_count]

        # Class-pair table: the distinct combinations over the distinct weeks.
        combos = self._combos(is_shift, shift_in, local_in, int(n_local.max(initial=1)))
        self._count, self._left, self._right = combos
        self.max_combos = int(self._count.max(initial=1))
        self._classes = c_count
        self._class_of = person_class.astype(np.int32)  # small codes: cheaper gathers
        rows_per_person = n_local[person_class]
        # Row of local row 0 of person p is p; local row l > 0 is self._extra[p] + l.
        extra = rows_per_person - 1
        self._extra = (n + np.cumsum(extra) - extra - 1).astype(np.intp)
        # Flat (local row, person) -> bitset row, for one gather per lookup.
        most = int(n_local.max(initial=1))
        table = np.repeat(self._extra[None, :], most, axis=0) + np.arange(most)[:, None]
        table[0] = np.arange(n)
        self._row_of = np.ascontiguousarray(table.reshape(-1))
        self.rows = int(rows_per_person.sum())

        # Bitset rows: every shift variant for everyone in the zone, own exact variants.
        row_parts: list[I64] = []
        start_parts: list[I64] = []
        end_parts: list[I64] = []
        for zi in range(z_count):
            wins = by_zone[zone_win_bounds[zi] : zone_win_bounds[zi + 1]]
            if wins.size == 0:
                continue
            who = owner[wins]
            for s_idx, shift in enumerate(self._shifts[zi]):
                row_parts.append(who if s_idx == 0 else self._extra[who] + s_idx)
                start_parts.append(wall_start[wins] - shift)
                end_parts.append(wall_end[wins] - shift)
            base_key = key_bounds[zi]
            for j, vec in enumerate(self._exact[zi]):
                loc = own_local[person_class[who], j]
                mine = loc >= 0
                sel = wins[mine]
                row_parts.append(self._row(who[mine], loc[mine]))
                start_parts.append(vec[start_key[sel] - base_key])
                end_parts.append(vec[end_key[sel] - base_key])
        rows = np.concatenate(row_parts) if row_parts else np.zeros(0, dtype=np.int64)
        start_utc = np.concatenate(start_parts) if start_parts else np.zeros(0, dtype=np.int64)
        end_utc = np.concatenate(end_parts) if end_parts else np.zeros(0, dtype=np.int64)
        self.bits = _bits_from_utc(self.rows, rows, start_utc, end_utc)
        self.slot_minutes = self.bits.slot_minutes
        # Most often every pair's first combination is both people's row 0 (their own index).
        self._first_is_row0 = not self._left[0].any() and not self._right[0].any()
        self._local_in = local_in

    def week_bits(self, week: int = 0) -> U64:
        """Everyone's bitset (person order, ``slot_minutes`` slots) in distinct week ``week``
        (Monday ``self.weeks[week]``): one week's overlap bounds the minimum from above."""
        local = np.take(self._local_in[:, week], self._class_of)
        out: U64 = self.bits.bits[self._row(np.arange(self.n, dtype=np.intp), local)]
        return out

    def _row(self, people: npt.NDArray[np.intp], local: npt.NDArray[np.integer]) -> npt.NDArray[np.intp]:
        at = local.astype(np.intp) * self.n
        at += people
        out: npt.NDArray[np.intp] = np.take(self._row_of, at)
        return out

    @staticmethod
    def _combos(
        is_shift: npt.NDArray[np.bool_], shift_in: I64, local_in: I64, n_local: int
    ) -> tuple[I64, list[I16], list[I16]]:
        """Per class pair (a * C + b): how many combinations, and the local rows of each."""
        c_count, d_count = is_shift.shape
        count = np.zeros(c_count * c_count, dtype=np.int64)
        # Per block of left classes: the local rows of its combinations, k = 0, 1, ...
        blocks: list[tuple[int, list[I16], list[I16]]] = []
        block = max(1, (1 << 20) // max(1, c_count * d_count))
        for a0 in range(0, c_count, block):
            a1 = min(c_count, a0 + block)
            both = is_shift[a0:a1, None, :] & is_shift[None, :, :]
            rel = shift_in[a0:a1, None, :] - shift_in[None, :, :]
            la = np.broadcast_to(local_in[a0:a1, None, :], both.shape).reshape(-1, d_count)
            lb = np.broadcast_to(local_in[None, :, :], both.shape).reshape(-1, d_count)
            # Shift differences are a few thousand minutes at most; own variants sit above.
            key = np.where(both.reshape(-1, d_count), rel.reshape(-1, d_count), (1 << 40) + la * n_local + lb)
            order = np.argsort(key, axis=1, kind="stable")
            sorted_key = np.take_along_axis(key, order, axis=1)
            first = np.ones(sorted_key.shape, dtype=np.bool_)
            first[:, 1:] = sorted_key[:, 1:] != sorted_key[:, :-1]
            # Each combination's earliest week, earliest first (independent of key order).
            pick = np.where(first, order, d_count)
            pick.sort(axis=1)
            nk = first.sum(axis=1)
            count[a0 * c_count : a1 * c_count] = nk
            r = np.arange(nk.size)
            lefts: list[I16] = []
            rights: list[I16] = []
            for k in range(int(nk.max(initial=1))):
                d = np.where(nk > k, pick[:, k], pick[:, 0])
                lefts.append(la[r, d].astype(np.int16))
                rights.append(lb[r, d].astype(np.int16))
            blocks.append((a0 * c_count, lefts, rights))
        k_max = int(count.max(initial=1))
        left_rows: list[I16] = []
        right_rows: list[I16] = []
        for k in range(k_max):
            left = np.zeros(c_count * c_count, dtype=np.int16)
            right = np.zeros(c_count * c_count, dtype=np.int16)
            for lo, lefts, rights in blocks:
                size = lefts[0].size
                left[lo : lo + size] = lefts[k] if k < len(lefts) else lefts[0]
                right[lo : lo + size] = rights[k] if k < len(rights) else rights[0]
            left_rows.append(left)
            right_rows.append(right)
        return count, left_rows, right_rows

    def overlap_minutes(
        self, left: npt.NDArray[np.intp], right: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.int64]:
        """Exact minimum weekly overlap, in minutes, of each (left[k], right[k]) person pair."""
        out = np.empty(left.shape, dtype=np.int64)
        cols, cls, c_count = self.bits.cols, self._class_of, self._classes
        for lo in range(0, left.size, _PAIR_CHUNK):
            a, b = left[lo : lo + _PAIR_CHUNK], right[lo : lo + _PAIR_CHUNK]
            if self.max_combos == 1 and self._first_is_row0:
                out[lo : lo + _PAIR_CHUNK] = _count_rows(cols, a, b)
                continue
            if self._first_is_row0:
                acc = _count_rows(cols, a, b)
                # Only pairs with some overlap so far can have a lower week (0 is the minimum).
                sel = np.flatnonzero(acc)
                cp = np.take(cls, a[sel]) * c_count
                cp += np.take(cls, b[sel])
            else:
                cp = np.take(cls, a) * c_count
                cp += np.take(cls, b)
                ra = self._row(a, np.take(self._left[0], cp))
                acc = _count_rows(cols, ra, self._row(b, np.take(self._right[0], cp)))
                sel = np.flatnonzero(acc)
                cp = cp[sel]
            keep = np.take(self._count, cp) > 1
            sel, cp = sel[keep], cp[keep]
            for k in range(1, self.max_combos):
                if sel.size == 0:
                    break
                ra = self._row(a[sel], np.take(self._left[k], cp))
                got = _count_rows(cols, ra, self._row(b[sel], np.take(self._right[k], cp)))
                low = np.minimum(acc[sel], got)
                acc[sel] = low
                keep = (np.take(self._count, cp) > k + 1) & (low > 0)
                sel, cp = sel[keep], cp[keep]
            out[lo : lo + _PAIR_CHUNK] = acc
        out *= self.slot_minutes
        return out


def _classes(zone: I64, alias: I64) -> tuple[I64, I64]:
    """Distinct rows of [zone, alias...] (sorted) and each person's row index."""
    base = int(alias.max(initial=0)) + 3
    if alias.shape[1] and (int(zone.max(initial=0)) + 1) * base ** alias.shape[1] >= 1 << 62:
        rows, inverse = np.unique(np.concatenate([zone[:, None], alias], axis=1), axis=0, return_inverse=True)
        return rows, inverse.reshape(-1)
    code = zone.copy()
    for col in alias.T:  # alias values are -2 .. (shift variants of the zone) - 1
        code = code * base + (col + 2)
    _, first, person_class = np.unique(code, return_index=True, return_inverse=True)
    classes = np.concatenate([zone[:, None], alias], axis=1)[first]
    return classes, person_class.reshape(-1)


def _bits_from_utc(n: int, rows: I64, start_utc: I64, end_utc: I64) -> AvailabilityBits:
    """Bitsets from UTC minutes (from the week's Monday 00:00 UTC) of window ends, wrapped on
    the week ring exactly as ``_convert`` does (empty windows dropped, at most a week long)."""
    valid = end_utc > start_utc
    rows, start_utc, end_utc = rows[valid], start_utc[valid], end_utc[valid]
    length = np.minimum(end_utc - start_utc, WEEK_MINUTES)
    start_utc = start_utc % WEEK_MINUTES
    stop = start_utc + length
    wraps = stop > WEEK_MINUTES
    return AvailabilityBits.from_arrays(
        n,
        np.concatenate([rows, rows[wraps]]),
        np.concatenate([start_utc, np.zeros(int(wraps.sum()), dtype=np.int64)]),
        np.concatenate([np.minimum(stop, WEEK_MINUTES), stop[wraps] - WEEK_MINUTES]),
    )


def encode_programme(
    windows: Sequence[Sequence[AvailabilityWindow]], zones: Sequence[str], weeks: Sequence[date]
) -> ProgrammeAvailability:
    """Availability of many people over a programme's weeks (see ``ProgrammeAvailability``)."""
    return ProgrammeAvailability(windows, zones, weeks)
