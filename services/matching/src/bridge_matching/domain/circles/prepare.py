"""The cohort as the circle engine reads it: columns built once per run (numpy arrays and Python-int
bitsets), in participant-id order so that the caller's order never changes the result.

What is reused from the pair engine: the programme's weeks and each person's free slots in every
distinct week (``engine.availability.encode_programme``), management chains (``engine.chains``), and
skills compared case-insensitively as ``engine.index`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from bridge_matching.domain.circles.model import CirclePolicy
from bridge_matching.domain.circles.slots import pack, run_starts, slots_needed, unpack
from bridge_matching.domain.engine.availability import encode_programme
from bridge_matching.domain.engine.chains import ancestors
from bridge_matching.domain.engine.model import Participant

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BoolA = npt.NDArray[np.bool_]
Idx = npt.NDArray[np.intp]

JUNIOR, OTHER, SENIOR = 0, 1, 2


def _codes(values: Sequence[str]) -> tuple[npt.NDArray[np.int32], list[str]]:
    vocab = sorted(set(values))
    lookup = {v: i for i, v in enumerate(vocab)}
    return np.fromiter((lookup[v] for v in values), dtype=np.int32, count=len(values)), vocab


def _words(masks: Sequence[int], words: int) -> U64:
    """Python-int bitsets -> rows of uint64 words (for vectorised popcounts)."""
    raw = b"".join(m.to_bytes(words * 8, "little") for m in masks)
    out: U64 = np.frombuffer(raw, dtype="<u8").astype(np.uint64).reshape(len(masks), words)
    return out


@dataclass(eq=False)
class CircleCohort:
    """Everyone who can be placed (the excluded are not here), position = rank of the id."""

    policy: CirclePolicy
    people: list[Participant]
    pos: dict[str, int]
    n: int
    gen: npt.NDArray[np.int8]  # JUNIOR, OTHER, SENIOR
    level: I64
    eligible: BoolA  # facilitator-eligible
    dept: npt.NDArray[np.int32]
    region: npt.NDArray[np.int32]
    n_departments: int
    n_regions: int
    languages: list[str]  # vocabulary; bit i of a language mask is languages[i]
    lang_mask: list[int]
    lang_words: U64  # (n, language words): ``lang_mask`` as packed rows
    speakers: dict[str, Idx]  # language -> positions who speak it, in order
    # Skills, casefolded, one vocabulary for both sides (bit i = skills[i]).
    skills: list[str]
    share: list[int]
    learn: list[int]
    share_words: U64  # (n, skill words), the same bits as ``share``
    learn_words: U64
    learn_count: I64
    # Availability. ``weeks``: Monday of each distinct programme week; ``slot_minutes``: the grid.
    weeks: tuple[date, ...]
    programme_weeks: tuple[date, ...]
    slot_minutes: int
    n_slots: int
    k: int  # slots a meeting needs
    words: int  # uint64 words per week row
    free: U64  # (n, D, words): free slots, per distinct week
    starts: U64  # (n, D, words): slots a meeting of k slots can start at, per distinct week
    starts0: U64  # (n, words): the same for the first distinct week (the cheap first filter)
    starts0_cols: U64  # (words, n): word-major copy (a 1-D gather per word is much faster than rows)
    start_int: list[int]  # ``starts`` of a person as one Python int (week d at bits d*64*words...)
    week_masks: tuple[int, ...]  # the bits of week d in a ``start_int``
    start_slots: I64  # how many start slots a person has, all weeks together (how flexible)
    # Management chains (within the policy's depth) and blocks, either way: who may not share a circle.
    forbidden: list[frozenset[int]]
    forbidden_arr: list[Idx]
    chain_conflicts: list[frozenset[int]]  # the management part of ``forbidden``
    # Transposed (who can start a meeting at each slot), for whole-cohort questions about one person:
    # at[d, s] = packed bits over people (bit p of word p // 64) who can start at slot s in week d.
    at: U64  # (D, n_slots, people words)
    people_words: int
    lang_people: dict[str, U64]  # language -> packed bits of its speakers
    # Plain-list copies of the small columns, for the scalar loops (a list read is cheaper than numpy's).
    gen_of: list[int]
    dept_of: list[int]
    region_of: list[int]
    eligible_of: list[bool]

    def feasible_starts(self, mask: int) -> bool:
        """Whether an AND of ``start_int`` rows still has a start slot in every distinct week."""
        return all(mask & week for week in self.week_masks)

    def bad_weeks(self, mask: int) -> list[int]:
        return [d for d, week in enumerate(self.week_masks) if not mask & week]

    def start_slots_of(self, p: int, week: int) -> Idx:
        out: Idx = np.flatnonzero(unpack(self.starts[p, week][None, :], self.n_slots)[0])
        return out

    def slot_mates(self, p: int, weeks: int | None = None) -> U64:
        """Packed bits of everyone (``p`` included) who shares a meeting start slot with ``p`` in each
        of the first ``weeks`` distinct weeks (all by default)."""
        out = np.zeros(self.people_words, dtype=np.uint64)
        for d in range(self.starts.shape[1] if weeks is None else weeks):
            slots = self.start_slots_of(p, d)
            if slots.size == 0:
                return np.zeros(self.people_words, dtype=np.uint64)
            row = np.bitwise_or.reduce(self.at[d, slots], axis=0)
            out = row if d == 0 else out & row
        return out

    def packed(self, mask: BoolA) -> U64:
        """Packed bits over people (bit p of word p // 64) of a boolean mask of length n."""
        out: U64 = pack(mask[None, :], self.people_words)[0]
        return out

    def unpacked(self, bits: U64) -> BoolA:
        out: BoolA = unpack(bits[None, :], self.n)[0]
        return out


def build_cohort(
    people: Sequence[Participant],
    policy: CirclePolicy,
    *,
    facilitator_eligible: frozenset[str],
    manager_of: Mapping[str, str | None],
) -> CircleCohort:
    ordered = sorted(people, key=lambda p: p.id)
    ids = [p.id for p in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("participant ids must be unique")
    n = len(ordered)
    pos = {pid: i for i, pid in enumerate(ids)}
    level = np.array([p.seniority for p in ordered], dtype=np.int64)
    gen = np.full(n, OTHER, dtype=np.int8)
    gen[level <= policy.junior_max_level] = JUNIOR
    gen[level >= policy.senior_min_level] = SENIOR
    eligible = np.array([p.id in facilitator_eligible for p in ordered], dtype=np.bool_)
    dept, departments = _codes([p.department for p in ordered])
    region, regions = _codes([p.region for p in ordered])

    languages = sorted(set().union(*(p.languages for p in ordered))) if ordered else []
    lang_bit = {lang: 1 << i for i, lang in enumerate(languages)}
    lang_mask = [sum(lang_bit[x] for x in p.languages) for p in ordered]
    speakers = {
        lang: np.flatnonzero(np.fromiter(((m >> i) & 1 for m in lang_mask), dtype=np.bool_, count=n))
        for i, lang in enumerate(languages)
    }

    share_sets = [frozenset(s.casefold() for s in p.skills_to_share) for p in ordered]
    learn_sets = [frozenset(s.casefold() for s in p.skills_to_learn) for p in ordered]
    skills = sorted(set().union(*share_sets, *learn_sets)) if ordered else []
    skill_bit = {s: 1 << i for i, s in enumerate(skills)}
    share = [sum(skill_bit[s] for s in x) for x in share_sets]
    learn = [sum(skill_bit[s] for s in x) for x in learn_sets]
    skill_words = max(1, (len(skills) + 63) // 64)

    programme_weeks = policy.programme_weeks()
    avail = encode_programme(
        [p.availability for p in ordered], [p.time_zone for p in ordered], programme_weeks
    )
    slot = avail.slot_minutes
    n_slots = (7 * 24 * 60) // slot
    words = (n_slots + 63) // 64
    k = slots_needed(policy.min_common_minutes, slot)
    d_count = len(avail.weeks)
    free = np.zeros((n, d_count, words), dtype=np.uint64)
    starts = np.zeros((n, d_count, words), dtype=np.uint64)
    for d in range(d_count):
        week = avail.week_bits(d) if n else np.zeros((0, words), dtype=np.uint64)
        free[:, d, :] = week[:, :words]
        starts[:, d, :] = pack(run_starts(unpack(week, n_slots), k), words)  # k = 0: no rule
    starts0 = np.ascontiguousarray(starts[:, 0, :]) if d_count else np.zeros((n, words), dtype=np.uint64)
    flat = np.ascontiguousarray(starts).reshape(n, d_count * words)
    start_int = [int.from_bytes(row.tobytes(), "little") for row in flat]
    week_bits = 64 * words
    week_masks = tuple(((1 << week_bits) - 1) << (week_bits * d) for d in range(d_count))
    start_slots = np.bitwise_count(flat).sum(axis=1).astype(np.int64)

    people_words = max(1, (n + 63) // 64)
    at = np.zeros((d_count, n_slots, people_words), dtype=np.uint64)
    for d in range(d_count):
        dense = unpack(starts[:, d, :], n_slots)  # (n, slots)
        at[d] = pack(np.ascontiguousarray(dense.T), people_words)
    lang_people = {}
    for lang, who in speakers.items():
        mask = np.zeros(n, dtype=np.bool_)
        mask[who] = True
        lang_people[lang] = pack(mask[None, :], people_words)[0]

    chain_conflicts, forbidden = _conflicts(ordered, pos, manager_of, policy.management_exclusion_depth)
    return CircleCohort(
        policy=policy,
        people=ordered,
        pos=pos,
        n=n,
        gen=gen,
        level=level,
        eligible=eligible,
        dept=dept,
        region=region,
        n_departments=len(departments),
        n_regions=len(regions),
        languages=languages,
        lang_mask=lang_mask,
        lang_words=_words(lang_mask, max(1, (len(languages) + 63) // 64)),
        speakers=speakers,
        skills=skills,
        share=share,
        learn=learn,
        share_words=_words(share, skill_words),
        learn_words=_words(learn, skill_words),
        learn_count=np.array([len(x) for x in learn_sets], dtype=np.int64),
        weeks=tuple(avail.weeks),
        programme_weeks=programme_weeks,
        slot_minutes=slot,
        n_slots=n_slots,
        k=k,
        words=words,
        free=free,
        starts=starts,
        starts0=starts0,
        starts0_cols=np.ascontiguousarray(starts0.T),
        start_int=start_int,
        week_masks=week_masks,
        start_slots=start_slots,
        forbidden=forbidden,
        forbidden_arr=[np.array(sorted(f), dtype=np.intp) for f in forbidden],
        chain_conflicts=chain_conflicts,
        at=at,
        people_words=people_words,
        lang_people=lang_people,
        gen_of=gen.tolist(),
        dept_of=dept.tolist(),
        region_of=region.tolist(),
        eligible_of=eligible.tolist(),
    )


def _conflicts(
    people: Sequence[Participant],
    pos: Mapping[str, int],
    manager_of: Mapping[str, str | None],
    depth: int,
) -> tuple[list[frozenset[int]], list[frozenset[int]]]:
    """Per person: who is within ``depth`` levels of their reporting line (either way), and that plus
    who blocked them or whom they blocked. The caller's chart first, then each profile's manager."""
    chart: dict[str, str | None] = dict(manager_of)
    for p in people:
        chart.setdefault(p.id, p.manager_id)
    chains: list[set[int]] = [set() for _ in people]
    if depth > 0:
        for i, p in enumerate(people):
            for boss in ancestors(p.id, chart, depth):
                j = pos.get(boss)
                if j is not None and j != i:
                    chains[i].add(j)
                    chains[j].add(i)
    forbidden = [set(c) for c in chains]
    for i, p in enumerate(people):
        for other in p.blocked_partner_ids:
            j = pos.get(other)
            if j is not None and j != i:
                forbidden[i].add(j)
                forbidden[j].add(i)
    return [frozenset(c) for c in chains], [frozenset(f) for f in forbidden]
