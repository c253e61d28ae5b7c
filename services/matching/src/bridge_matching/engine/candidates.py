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

from collections import defaultdict
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
CHUNK_MENTEES = 4096


@dataclass(frozen=True, slots=True)
class CandidateGraph:
    """Feasible oriented edges, sorted by (mentee, mentor)."""

    mentors: Idx
    mentees: Idx
    scores: Scores

    @property
    def size(self) -> int:
        return int(self.mentors.size)

    def cost_units(self) -> I64:
        return self.scores.cost_units()


class _Blocks:
    """Inverted lists of mentor positions, flattened into one array."""

    def __init__(self, index: PopulationIndex, mentor_ok: npt.NDArray[np.bool_]) -> None:
        mode = index.policy.region_mode
        same_region = mode == "same_region"
        lists: dict[tuple[int, ...], list[int]] = defaultdict(list)
        lang_lookup = {v: i for i, v in enumerate(index.languages)}
        skill_lookup = {v: i for i, v in enumerate(index.skills)}
        self.same_region = same_region
        # With region_mode "any", pools also draw from the mentee's own region:
        # nearby time zones overlap far more often, so these slices are rarely
        # wasted on the availability rule (the global lists keep far pairs possible).
        self.own_region_too = mode == "any"
        for m in np.flatnonzero(mentor_ok).tolist():
            p = index.people[m]
            own = int(index.region[m])
            regions = [own] if same_region else ([-1, own] if self.own_region_too else [-1])
            for lang, region in ((lang, r) for lang in p.languages for r in regions):
                lc = lang_lookup[lang]
                lists[(0, region, lc)].append(m)
                for s in p.skills_to_share:
                    lists[(1, region, lc, skill_lookup[s])].append(m)
                for s in p.skills_to_learn:
                    lists[(2, region, lc, skill_lookup[s])].append(m)
        keys = sorted(lists)
        self.list_id = {k: i for i, k in enumerate(keys)}
        sizes = np.array([len(lists[k]) for k in keys], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.sizes = sizes
        flat = np.array([m for k in keys for m in lists[k]], dtype=np.intp)
        # Sort each list by (seniority, position): the mentors less senior than a
        # mentee are then a prefix, so pools never waste slots on the seniority rule.
        list_of = np.repeat(np.arange(len(keys)), sizes)
        order = np.lexsort((flat, index.seniority[flat], list_of))
        self.flat: Idx = flat[order]
        self.levels = np.unique(index.seniority)
        level_of_flat = np.searchsorted(self.levels, index.seniority[self.flat])
        # below[l, j] = entries of list l whose seniority level is < j
        counts = np.zeros((len(keys), self.levels.size + 1), dtype=np.int64)
        np.add.at(counts, (list_of, level_of_flat + 1), 1)
        self.below = np.cumsum(counts, axis=1)
        self.lang_lookup = lang_lookup
        self.skill_lookup = skill_lookup

    def block_ids(self, index: PopulationIndex, e: int) -> list[int]:
        p = index.people[e]
        region = int(index.region[e]) if self.same_region else -1
        out = []
        for lang in p.languages:
            lid = self.list_id.get((0, region, self.lang_lookup[lang]))
            if lid is not None:
                out.append(lid)
        return out

    def segments(self, index: PopulationIndex, e: int) -> list[tuple[int, int]]:
        """(list id, how many to take) for one mentee's pool."""
        p = index.people[e]
        own = int(index.region[e])
        regions = [own] if self.same_region else ([-1, own] if self.own_region_too else [-1])
        segs: list[tuple[int, int]] = []
        for lang, region in ((lang, r) for lang in p.languages for r in regions):
            lc = self.lang_lookup[lang]
            lid = self.list_id.get((0, region, lc))
            if lid is None:
                continue
            segs.append((lid, POOL_FILL))
            for s in p.skills_to_learn:
                lid = self.list_id.get((1, region, lc, self.skill_lookup[s]))
                if lid is not None:
                    segs.append((lid, POOL_SKILL))
            for s in p.skills_to_share:
                lid = self.list_id.get((2, region, lc, self.skill_lookup[s]))
                if lid is not None:
                    segs.append((lid, POOL_REVERSE))
        return segs

    def gather(
        self, index: PopulationIndex, owners: I64, list_ids: I64, takes: I64
    ) -> tuple[Idx, Idx]:
        """Expand segments into (mentor, mentee) arrays with rotating offsets,
        drawing only from each list's less-senior-than-the-mentee prefix."""
        level = np.searchsorted(self.levels, index.seniority[owners])
        sizes = self.below[list_ids, level]
        takes = np.minimum(takes, sizes)
        # Deterministic per-(mentee, list) rotation (Knuth multiplicative hash).
        rot = (owners * 2654435761 + list_ids * 40503) % np.maximum(sizes, 1)
        total = int(takes.sum())
        seg = np.repeat(np.arange(takes.size), takes)
        within = np.arange(total) - np.repeat(np.cumsum(takes) - takes, takes)
        pos = self.offsets[list_ids][seg] + (rot[seg] + within) % sizes[seg]
        return self.flat[pos], owners[seg].astype(np.intp)


def _dedupe(m: Idx, e: Idx, n: int) -> tuple[Idx, Idx]:
    """Unique edges ordered by (mentee, mentor); a plain sort beats hash-unique here."""
    keys = e.astype(np.int64) * n + m
    keys.sort()
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys
    return (keys % n).astype(np.intp), (keys // n).astype(np.intp)


def _dedupe_carry(m: Idx, e: Idx, carry: I64, n: int) -> tuple[Idx, Idx, I64]:
    """Unique edges ordered by (mentee, mentor). ``carry`` is a function of the
    pair, so which duplicate survives does not matter (no stable sort needed)."""
    keys = e.astype(np.int64) * n + m
    order = np.argsort(keys)
    keys = keys[order]
    first = np.r_[True, keys[1:] != keys[:-1]] if keys.size else np.zeros(0, dtype=np.bool_)
    keep = order[first]
    return m[keep], e[keep], carry[keep]


def _rank_within(group: Idx, units: I64) -> tuple[Idx, Idx]:
    """Order by (group, best score first) and each edge's rank in its group.

    Ties keep the input order, which is (mentee, mentor) ascending, so
    tie-breaking is deterministic by id. When (group, score, position) fits in one
    int64, a plain sort of that packed key is used (much faster than a stable
    argsort, and the same order because every packed key is unique).
    """
    size = group.size
    span = int(units.max()) + 1 if size else 1
    groups = int(group.max()) + 1 if size else 1
    key = group.astype(np.int64) * span + (span - 1 - units)
    if groups * span * max(size, 1) < 2**62:
        packed = key * size + np.arange(size, dtype=np.int64)
        packed.sort()
        order = (packed % size).astype(np.intp)
    else:
        order = np.argsort(key, kind="stable")
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else np.zeros(0, dtype=np.intp)
    rank = np.arange(g.size) - np.repeat(starts, np.diff(np.r_[starts, g.size]))
    return order, rank


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

    for lo in range(0, mentees.size, CHUNK_MENTEES):
        owners: list[int] = []
        lids: list[int] = []
        takes: list[int] = []
        for e in mentees[lo : lo + CHUNK_MENTEES].tolist():
            for lid, take in blocks.segments(index, e):
                owners.append(e)
                lids.append(lid)
                takes.append(take)
        arrays = (np.array(x, dtype=np.int64) for x in (owners, lids, takes))
        keep_feasible(*_dedupe(*blocks.gather(index, *arrays), n), pool_known)
    if extra_pairs is not None:
        xm, xe = extra_pairs
        allowed = mentor_ok[xm] & mentee_ok[xe]
        keep_feasible(*_dedupe(xm[allowed], xe[allowed], n))

    # Exhaustive scan for mentees whose pool yielded too few feasible mentors.
    per_mentee = np.zeros(n, dtype=np.int64)
    for _, fe, _ in found:
        per_mentee += np.bincount(fe, minlength=n)
    starved = mentees[per_mentee[mentees] < STARVED_BELOW]
    scan_owners: list[int] = []
    scan_lids: list[int] = []
    for s in starved.tolist():
        for lid in blocks.block_ids(index, s):
            scan_owners.append(s)
            scan_lids.append(lid)
    if scan_owners:
        lid_arr = np.array(scan_lids, dtype=np.int64)
        owners_arr = np.array(scan_owners, dtype=np.int64)
        keep_feasible(
            *_dedupe(*blocks.gather(index, owners_arr, lid_arr, blocks.sizes[lid_arr]), n),
            pool_known,
        )

    m = np.concatenate([f[0] for f in found]) if found else np.zeros(0, dtype=np.intp)
    e = np.concatenate([f[1] for f in found]) if found else np.zeros(0, dtype=np.intp)
    minutes = np.concatenate([f[2] for f in found]) if found else np.zeros(0, dtype=np.int64)
    m, e, minutes = _dedupe_carry(m, e, minutes, n)

    scores = score(index, m, e, minutes)
    units = scores.cost_units()
    keep = np.zeros(m.size, dtype=np.bool_)
    order_e, rank_e = _rank_within(e, units)
    keep[order_e[rank_e < policy.candidates_per_mentee]] = True
    if policy.candidates_per_mentor > 0:
        order_m, rank_m = _rank_within(m, units)
        keep[order_m[rank_m < policy.candidates_per_mentor]] = True
    # Always keep requested pairs: the bonus is the point of requesting.
    keep |= scores.components[4] > 0
    sel = np.flatnonzero(keep)  # still ordered by (mentee, mentor)
    sub = Scores(scores.components[:, sel], scores.total[sel], scores.overlap_minutes[sel])
    return CandidateGraph(m[sel], e[sel], sub)
