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
from .scoring import Scores, feasible, score

Idx = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]

POOL_FILL = 48  # filler mentors per (mentee, language block)
POOL_SKILL = 32  # mentors per wanted skill per block
POOL_REVERSE = 16  # mentors wanting one of the mentee's skills, per block
STARVED_BELOW = 3  # feasible pool candidates under which a mentee gets a full scan
CHUNK_MENTEES = 4096


@dataclass(frozen=True, slots=True)
class CandidateGraph:
    """Feasible oriented edges, sorted by (mentee, -score, mentor)."""

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
        same_region = index.policy.region_mode == "same_region"
        lists: dict[tuple[int, ...], list[int]] = defaultdict(list)
        lang_lookup = {v: i for i, v in enumerate(index.languages)}
        skill_lookup = {v: i for i, v in enumerate(index.skills)}
        self.same_region = same_region
        for m in np.flatnonzero(mentor_ok).tolist():
            p = index.people[m]
            region = int(index.region[m]) if same_region else -1
            for lang in p.languages:
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
        flat = [m for k in keys for m in lists[k]]  # lists are already ascending
        self.flat: Idx = np.array(flat, dtype=np.intp)
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
        region = int(index.region[e]) if self.same_region else -1
        segs: list[tuple[int, int]] = []
        for lang in p.languages:
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

    def gather(self, owners: I64, list_ids: I64, takes: I64) -> tuple[Idx, Idx]:
        """Expand segments into (mentor, mentee) arrays with rotating offsets."""
        sizes = self.sizes[list_ids]
        takes = np.minimum(takes, sizes)
        # Deterministic per-(mentee, list) rotation (Knuth multiplicative hash).
        rot = (owners * 2654435761 + list_ids * 40503) % np.maximum(sizes, 1)
        total = int(takes.sum())
        seg = np.repeat(np.arange(takes.size), takes)
        within = np.arange(total) - np.repeat(np.cumsum(takes) - takes, takes)
        pos = self.offsets[list_ids][seg] + (rot[seg] + within) % sizes[seg]
        return self.flat[pos], owners[seg].astype(np.intp)


def _dedupe(m: Idx, e: Idx, n: int) -> tuple[Idx, Idx]:
    keys = np.unique(e.astype(np.int64) * n + m)
    return (keys % n).astype(np.intp), (keys // n).astype(np.intp)


def _rank_within(group: Idx, neg_score: I64, other: Idx) -> tuple[Idx, I64]:
    """Order by (group, best score, other id) and each edge's rank in its group."""
    order = np.lexsort((other, neg_score, group))
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
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
    found_m: list[Idx] = []
    found_e: list[Idx] = []
    for lo in range(0, mentees.size, CHUNK_MENTEES):
        owners: list[int] = []
        lids: list[int] = []
        takes: list[int] = []
        for e in mentees[lo : lo + CHUNK_MENTEES].tolist():
            for lid, take in blocks.segments(index, e):
                owners.append(e)
                lids.append(lid)
                takes.append(take)
        m, ee = blocks.gather(
            np.array(owners, dtype=np.int64), np.array(lids, dtype=np.int64), np.array(takes, dtype=np.int64)
        )
        m, ee = _dedupe(m, ee, n)
        ok = feasible(index, m, ee)
        found_m.append(m[ok])
        found_e.append(ee[ok])
    if extra_pairs is not None:
        xm, xe = extra_pairs
        allowed = mentor_ok[xm] & mentee_ok[xe]
        xm, xe = xm[allowed], xe[allowed]
        ok = feasible(index, xm, xe)
        found_m.append(xm[ok])
        found_e.append(xe[ok])
    m = np.concatenate(found_m) if found_m else np.zeros(0, dtype=np.intp)
    e = np.concatenate(found_e) if found_e else np.zeros(0, dtype=np.intp)
    m, e = _dedupe(m, e, n)

    # Exhaustive scan for mentees whose pool yielded too few feasible mentors.
    per_mentee = np.bincount(e, minlength=n)
    starved = mentees[per_mentee[mentees] < STARVED_BELOW]
    if starved.size:
        owners_l: list[int] = []
        lids_l: list[int] = []
        for s in starved.tolist():
            for lid in blocks.block_ids(index, s):
                owners_l.append(s)
                lids_l.append(lid)
        if owners_l:
            lid_arr = np.array(lids_l, dtype=np.int64)
            sm, se = blocks.gather(np.array(owners_l, dtype=np.int64), lid_arr, blocks.sizes[lid_arr])
            sm, se = _dedupe(sm, se, n)
            ok = feasible(index, sm, se)
            m, e = _dedupe(np.concatenate([m, sm[ok]]), np.concatenate([e, se[ok]]), n)

    scores = score(index, m, e)
    neg = -scores.cost_units()
    order_e, rank_e = _rank_within(e, neg, m)
    keep = np.zeros(m.size, dtype=np.bool_)
    keep[order_e[rank_e < policy.candidates_per_mentee]] = True
    if policy.candidates_per_mentor > 0:
        order_m, rank_m = _rank_within(m, neg, e)
        keep[order_m[rank_m < policy.candidates_per_mentor]] = True
    # Always keep requested pairs: the bonus is the point of requesting.
    keep |= scores.components[4] > 0
    sel = np.flatnonzero(keep)
    sel = sel[np.lexsort((m[sel], neg[sel], e[sel]))]
    sub = Scores(scores.components[:, sel], scores.total[sel], scores.overlap_minutes[sel])
    return CandidateGraph(m[sel], e[sel], sub)
