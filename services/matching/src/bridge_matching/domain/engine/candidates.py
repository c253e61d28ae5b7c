"""Sparse candidate graph generation.

Never materialises an N x M matrix. Mentors are bucketed into blocks by
(region if the policy requires same region, language): sharing a language is a
hard constraint, so a mentee only ever looks inside the blocks of the languages
it speaks. Inside a block, a bounded *pool* is drawn from inverted indexes:
mentors who share a skill the mentee wants, mentors who want a skill the mentee
shares, plus a filler slice of the block. Slices start at a per-mentee rotating
offset so popular mentors are not in every pool (spreads load, helps coverage).
Pools are checked against every hard constraint and scored exactly, then only
the top-K per mentee (and top-K' per mentor) survive. Mentees left with too few
feasible candidates get an exhaustive scan of their blocks, so pruning never
hides a compatible partner from someone who has few.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .index import PopulationIndex
from .scoring import Scores, feasible_with_overlap, score

Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]

POOL_FILL = 48  # filler mentors per (mentee, language block)
POOL_SKILL = 32  # mentors per wanted skill per block
POOL_REVERSE = 16  # mentors wanting one of the mentee's skills, per block
STARVED_BELOW = 3  # feasible pool candidates under which a mentee gets a full scan
CHUNK_MENTEES = 1024


@dataclass(frozen=True, slots=True)
class CandidateGraph:
    """Feasible oriented edges, sorted by (mentee, mentor)."""

    mentors: Idx
    mentees: Idx
    scores: Scores
    # ``scores.cost_units()``, already computed for ranking (element-wise, so equal).
    units: I64 | None = None

    @property
    def size(self) -> int:
        return int(self.mentors.size)

    def cost_units(self) -> I64:
        return self.scores.cost_units() if self.units is None else self.units.copy()


def _members(bits: npt.NDArray[np.uint64], size: int, who: Idx) -> tuple[Idx, Idx]:
    """(row, code) for every set bit of ``bits[who]``, ordered by row then code."""
    dense = np.unpackbits(bits[who].astype("<u8").view(np.uint8), axis=1, bitorder="little")
    rows, codes = np.nonzero(dense[:, :size])
    return who[rows], codes.astype(np.intp)


def _cross(a_owner: Idx, b_owner: Idx, n: int) -> tuple[Idx, Idx]:
    """All (i, j) with a_owner[i] == b_owner[j]; ``b_owner`` must be sorted."""
    count_b = np.bincount(b_owner, minlength=n)
    start_b = np.cumsum(count_b) - count_b
    reps = count_b[a_owner]
    i = np.repeat(np.arange(a_owner.size), reps)
    within = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    return i, start_b[a_owner][i] + within


class _Blocks:
    """Inverted lists of mentor positions, flattened into one array.

    List keys are (kind, region, language[, skill]): kind 0 = everyone speaking
    the language, 1 = those sharing the skill, 2 = those wanting it; region -1 is
    the global list. List ids follow the sorted key order. Built with numpy from
    the index bitsets (a packed int64 per key keeps the tuple order).
    """

    def __init__(self, index: PopulationIndex, mentor_ok: npt.NDArray[np.bool_]) -> None:
        mode = index.policy.region_mode
        self.n = index.n
        self.same_region = mode == "same_region"
        # With region_mode "any", pools also draw from the mentee's own region:
        # nearby time zones overlap far more often, so these slices are rarely
        # wasted on the availability rule (the global lists keep far pairs possible).
        self.own_region_too = mode == "any"
        self.index = index
        self.n_regions = len(index.regions) + 1
        self.n_langs = max(len(index.languages), 1)
        self.n_skills = len(index.skills) + 1
        mentors = np.flatnonzero(mentor_ok)
        who, key_parts = self._expand(mentors, share_kind=1, learn_kind=2)
        keys = np.concatenate(key_parts) if key_parts else np.zeros(0, dtype=np.int64)
        flat = np.concatenate(who) if who else np.zeros(0, dtype=np.intp)
        self.keys, list_of = np.unique(keys, return_inverse=True)
        list_of = list_of.astype(np.intp)
        sizes = np.bincount(list_of, minlength=self.keys.size).astype(np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.sizes = sizes
        # Sort each list by (seniority, position): the mentors less senior than a
        # mentee are then a prefix, so pools never waste slots on the seniority rule.
        order = np.lexsort((flat, index.seniority[flat], list_of))
        self.flat: Idx = flat[order]
        list_of = list_of[order]
        self.levels = np.unique(index.seniority)
        level_of_flat = np.searchsorted(self.levels, index.seniority[self.flat])
        # below[l, j] = entries of list l whose seniority level is < j
        width = self.levels.size + 1
        counts = np.bincount(list_of * width + level_of_flat + 1, minlength=self.keys.size * width)
        self.below = np.cumsum(counts.reshape(self.keys.size, width), axis=1)

    def _key(self, kind: int, region: Idx, lang: Idx, skill: Idx | int) -> I64:
        k = (kind * self.n_regions + (region + 1)) * self.n_langs + lang
        return np.asarray(k * self.n_skills + (skill if isinstance(skill, int) else skill + 1))

    def _regions(self, people: Idx, langs: Idx) -> tuple[Idx, Idx, Idx]:
        """(person, region, language) rows: own region and/or the global list (-1)."""
        own = self.index.region[people].astype(np.intp)
        if self.same_region:
            return people, own, langs
        glob = np.full(people.size, -1, dtype=np.intp)
        if not self.own_region_too:
            return people, glob, langs
        return np.r_[people, people], np.r_[glob, own], np.r_[langs, langs]

    def _expand(self, people: Idx, *, share_kind: int, learn_kind: int) -> tuple[list[Idx], list[I64]]:
        """Keys of every (kind, region, language[, skill]) list ``people`` belong to
        (or, for mentees, look in), with the owner of each key."""
        index = self.index
        who, lang = _members(index.lang_bits, len(index.languages), people)
        who, region, lang = self._regions(who, lang)
        owners: list[Idx] = [who]
        keys: list[I64] = [self._key(0, region, lang, 0)]
        for kind, bits in ((share_kind, index.share_bits), (learn_kind, index.learn_bits)):
            s_who, skill = _members(bits, len(index.skills), people)
            i, j = _cross(who, s_who, index.n)
            owners.append(who[i])
            keys.append(self._key(kind, region[i], lang[i], skill[j]))
        return owners, keys

    def lookup(self, keys: I64) -> I64:
        """List id of each key, or -1 where no such list exists."""
        at = np.minimum(np.searchsorted(self.keys, keys), max(self.keys.size - 1, 0))
        found = self.keys[at] == keys if self.keys.size else np.zeros(keys.shape, np.bool_)
        return np.where(found, at, -1).astype(np.int64)

    def block_ids(self, index: PopulationIndex, mentees: Idx) -> tuple[I64, I64]:
        """(owner, list id) of the whole language blocks of ``mentees``."""
        who, lang = _members(index.lang_bits, len(index.languages), mentees)
        region = index.region[who].astype(np.intp) if self.same_region else np.full(who.size, -1)
        lid = self.lookup(self._key(0, region, lang, 0))
        return who[lid >= 0].astype(np.int64), lid[lid >= 0]

    def segments(self, mentees: Idx) -> tuple[I64, I64, I64]:
        """(owner, list id, how many to take) of every mentee's pool slices: the
        fill slice of each language block, mentors sharing a skill the mentee
        wants, mentors wanting a skill the mentee shares."""
        # A mentee's wanted skills meet the mentors' *shared* ones (kind 1) and vice versa.
        owners, keys = self._expand(mentees, share_kind=2, learn_kind=1)
        takes = (POOL_FILL, POOL_REVERSE, POOL_SKILL)
        lids = [self.lookup(k) for k in keys]
        found = [lid >= 0 for lid in lids]
        parts = list(zip(owners, lids, found, takes, strict=True))
        return (
            np.concatenate([o[f] for o, _, f, _ in parts]).astype(np.int64),
            np.concatenate([lid[f] for _, lid, f, _ in parts]),
            np.concatenate([np.full(int(f.sum()), t, dtype=np.int64) for _, _, f, t in parts]),
        )

    def gather(self, index: PopulationIndex, owners: I64, list_ids: I64, takes: I64) -> tuple[Idx, Idx]:
        """Expand segments into (mentor, mentee) arrays with rotating offsets,
        drawing only from each list's less-senior-than-the-mentee prefix."""
        level = np.searchsorted(self.levels, index.seniority[owners])
        sizes = self.below[list_ids, level]
        takes = np.minimum(takes, sizes)
        # Deterministic per-(mentee, list) rotation (Knuth multiplicative hash).
        rot = (owners * 2654435761 + list_ids * 40503) % np.maximum(sizes, 1)
        total = int(takes.sum())
        # pos = offset + (rot + within) % size, with within < take <= size and
        # rot < size, so the modulo is one conditional subtraction.
        pos = np.arange(total, dtype=np.int64)
        pos += np.repeat(rot - (np.cumsum(takes) - takes), takes)  # rot + within
        seg_sizes = np.repeat(sizes, takes)
        np.subtract(pos, seg_sizes, out=pos, where=pos >= seg_sizes)
        pos += np.repeat(self.offsets[list_ids], takes)
        return self.flat[pos], np.repeat(owners, takes).astype(np.intp)


def _dedupe(m: Idx, e: Idx, n: int) -> tuple[Idx, Idx]:
    """Unique edges ordered by (mentee, mentor); a plain sort beats hash-unique here."""
    bits = max(n - 1, 1).bit_length()  # (mentee, mentor) order, shifts instead of divisions
    keys = e.astype(np.int64)
    keys <<= bits
    keys |= m
    keys.sort()
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys
    return (keys & ((1 << bits) - 1)).astype(np.intp), (keys >> bits).astype(np.intp)


def _dedupe_carry(m: Idx, e: Idx, carry: I64, n: int) -> tuple[Idx, Idx, I64]:
    """Unique edges ordered by (mentee, mentor). ``carry`` is a function of the
    pair, so which duplicate survives does not matter (no stable sort needed).

    When (pair, carry) fits in one int64 (``carry`` >= 0), one packed key is sorted.
    The inputs are concatenated runs that are each already sorted (pool chunks in
    mentee order, then the extra and starved pairs), so a run-aware stable sort
    of that key costs little more than a copy.
    """
    bits_n = max(n - 1, 1).bit_length()
    bits_c = max(int(carry.max()) if carry.size else 0, 1).bit_length()
    if carry.size and int(carry.min()) >= 0 and 2 * bits_n + bits_c <= 62:
        packed = e.astype(np.int64)
        packed <<= bits_n
        packed |= m
        packed <<= bits_c
        packed |= carry
        packed.sort(kind="stable")
        packed = packed[np.r_[True, packed[1:] != packed[:-1]]]
        mask_n, mask_c = (1 << bits_n) - 1, (1 << bits_c) - 1
        mentor = ((packed >> bits_c) & mask_n).astype(np.intp)
        mentee = (packed >> (bits_n + bits_c)).astype(np.intp)
        return mentor, mentee, (packed & mask_c).astype(np.int64)
    keys = e.astype(np.int64) * n + m
    order = np.argsort(keys)
    keys = keys[order]
    first = np.r_[True, keys[1:] != keys[:-1]] if keys.size else np.zeros(0, dtype=np.bool_)
    keep = order[first]
    return m[keep], e[keep], carry[keep]


def top_k(group: Idx, units: I64, k: int) -> Idx:
    """Indices of the ``k`` best edges (highest ``units``) of every group.

    Order is by (group, best score first); ties keep the input order, which is
    (mentee, mentor) ascending, so tie-breaking is deterministic by id. When
    (group, score, position) fits in one int64, a plain sort of that packed key is
    used (much faster than a stable argsort, and the same order because every
    packed key is unique). The top ``k`` of a group are then the first ``k`` of its
    contiguous run in that order, so no per-edge rank array is needed. Works in
    place on a few edge-sized arrays: at 50k people their fresh pages cost more
    than the sort itself.
    """
    size = group.size
    if size == 0:
        return np.zeros(0, dtype=np.intp)
    span = int(units.max()) + 1
    groups = int(group.max()) + 1
    bits = max(size - 1, 1).bit_length()
    if (groups * span) << bits < 2**62:
        key = group.astype(np.int64)
        key *= span
        key += span - 1
        key -= units
        key <<= bits
        key |= np.arange(size, dtype=np.int64)
        key.sort()
        key &= (1 << bits) - 1
        order = key.astype(np.intp, copy=False)
    else:
        key = group.astype(np.int64) * span + (span - 1 - units)
        order = np.argsort(key, kind="stable")
    counts = np.bincount(group, minlength=groups)
    first = np.cumsum(counts) - counts
    take = np.minimum(counts, k)
    total = int(take.sum())
    within = np.arange(total) - np.repeat(np.cumsum(take) - take, take)
    picked: Idx = order[np.repeat(first, take) + within]
    return picked


def build_candidate_graph(
    index: PopulationIndex,
    mentor_ok: npt.NDArray[np.bool_],
    mentee_ok: npt.NDArray[np.bool_],
    *,
    extra_pairs: tuple[Idx, Idx] | None = None,
) -> CandidateGraph:
    """Top-K sparse graph of feasible (mentor, mentee) edges among allowed people.

    ``extra_pairs`` are always considered (e.g. requested partners).
    """
    n = index.n
    policy = index.policy
    blocks = _Blocks(index, mentor_ok)
    mentees = np.flatnonzero(mentee_ok)
    found: list[tuple[Idx, Idx, I64]] = []

    # Pools only draw mentors allowed to mentor from the language blocks of a
    # mentee allowed to be mentored, less senior than that mentee (so also not the
    # mentee), and from the mentee's own region when regions must match.
    by_construction = {"role", "language", "seniority"}
    if policy.region_mode != "cross_region":
        by_construction.add("region")
    pool_known = frozenset(by_construction)

    def keep_feasible(m: Idx, e: Idx, known: frozenset[str] = frozenset()) -> None:
        ok, minutes = feasible_with_overlap(index, m, e, known=known)
        found.append((m[ok], e[ok], minutes))

    seg_owner, seg_list, seg_take = blocks.segments(mentees)
    order = np.argsort(seg_owner, kind="stable")
    seg_owner, seg_list, seg_take = seg_owner[order], seg_list[order], seg_take[order]
    for lo in range(0, mentees.size, CHUNK_MENTEES):
        first, last = mentees[lo], mentees[min(lo + CHUNK_MENTEES, mentees.size) - 1]
        a, b = np.searchsorted(seg_owner, [first, last + 1])
        pool = blocks.gather(index, seg_owner[a:b], seg_list[a:b], seg_take[a:b])
        keep_feasible(*_dedupe(*pool, n), pool_known)
    if extra_pairs is not None:
        xm, xe = extra_pairs
        allowed = mentor_ok[xm] & mentee_ok[xe]
        keep_feasible(*_dedupe(xm[allowed], xe[allowed], n))

    # Exhaustive scan for mentees whose pool yielded too few feasible mentors.
    per_mentee = np.zeros(n, dtype=np.int64)
    for _, fe, _ in found:
        per_mentee += np.bincount(fe, minlength=n)
    starved = mentees[per_mentee[mentees] < STARVED_BELOW]
    if starved.size:
        owners_arr, lid_arr = blocks.block_ids(index, starved)
        keep_feasible(
            *_dedupe(*blocks.gather(index, owners_arr, lid_arr, blocks.sizes[lid_arr]), n),
            pool_known,
        )

    m = np.concatenate([f[0] for f in found]) if found else np.zeros(0, dtype=np.intp)
    e = np.concatenate([f[1] for f in found]) if found else np.zeros(0, dtype=np.intp)
    minutes = np.concatenate([f[2] for f in found]) if found else np.zeros(0, dtype=np.int64)
    found.clear()  # hand those pages back before the edge-sized work below reuses them
    m, e, minutes = _dedupe_carry(m, e, minutes, n)

    scores = score(index, m, e, minutes)
    units = scores.cost_units()
    keep = np.zeros(m.size, dtype=np.bool_)
    keep[top_k(e, units, policy.candidates_per_mentee)] = True
    if policy.candidates_per_mentor > 0:
        keep[top_k(m, units, policy.candidates_per_mentor)] = True
    # Always keep requested pairs: the bonus is the point of requesting.
    keep |= scores.components[4] > 0
    sel = np.flatnonzero(keep)  # still ordered by (mentee, mentor)
    sub = Scores(scores.components[:, sel], scores.total[sel], scores.overlap_minutes[sel])
    return CandidateGraph(m[sel], e[sel], sub, units[sel])
