"""Columnar (numpy) view of a population, built once per run.

Participants are sorted by id so every array order - and therefore the solver's
arc order and its tie-breaking - is independent of the caller's input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from .availability import encode_programme
from .model import PairLike, Participant, pair_ids
from .policy import MatchingPolicy

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BoolA = npt.NDArray[np.bool_]

# A meeting preference as the set of ways a person will meet: two preferences are compatible when
# the sets intersect (the same way, or one of them says "either").
MEETING_BITS = {"in_person": 1, "video": 2, "either": 3}


def _codes(values: Sequence[str]) -> tuple[npt.NDArray[np.int32], list[str]]:
    vocab = sorted(set(values))
    lookup = {v: i for i, v in enumerate(vocab)}
    return np.fromiter((lookup[v] for v in values), dtype=np.int32, count=len(values)), vocab


def _set_bits(sets: Sequence[frozenset[str]], vocab: list[str]) -> U64:
    """Rows of packed bitsets (bit i of word w = vocab[64 * w + i]), via numpy."""
    lookup = {v: i for i, v in enumerate(vocab)}
    words = max(1, (len(vocab) + 63) // 64)
    counts = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
    codes = np.fromiter(
        (lookup[v] for values in sets for v in values), dtype=np.int64, count=int(counts.sum())
    )
    dense = np.zeros((len(sets), words * 64), dtype=np.bool_)
    dense[np.repeat(np.arange(len(sets)), counts), codes] = True
    packed = np.packbits(dense, axis=1, bitorder="little")
    return np.ascontiguousarray(packed.view("<u8").astype(np.uint64))


def pair_keys(a: npt.NDArray[np.intp], b: npt.NDArray[np.intp], n: int) -> I64:
    return a.astype(np.int64) * n + b.astype(np.int64)


class PopulationIndex:
    def __init__(
        self,
        participants: Iterable[Participant],
        policy: MatchingPolicy,
        *,
        history: Iterable[PairLike] = (),
        excluded_pairs: Iterable[PairLike] = (),
        org_chart: Mapping[str, str | None] | None = None,
    ) -> None:
        people = sorted(participants, key=lambda p: p.id)
        ids = [p.id for p in people]
        if len(set(ids)) != len(ids):
            raise ValueError("participant ids must be unique")
        self.policy = policy
        self._member_cache: list[tuple[I64, BoolA]] = []
        self.people = people
        self.n = len(people)
        self.pos = {pid: i for i, pid in enumerate(ids)}
        self.can_mentor: BoolA = np.array([p.can_mentor for p in people], dtype=np.bool_)
        self.can_mentee: BoolA = np.array([p.can_be_mentee for p in people], dtype=np.bool_)
        self.either: BoolA = self.can_mentor & self.can_mentee
        self.seniority: I64 = np.array([p.seniority for p in people], dtype=np.int64)
        self.mentor_capacity: I64 = np.where(
            self.can_mentor,
            np.minimum(
                np.array([p.capacity for p in people], dtype=np.int64),
                policy.max_mentees_per_mentor,
            ),
            0,
        )
        self.region, self.regions = _codes([p.region for p in people])
        self.department, self.departments = _codes([p.department for p in people])
        self.languages: list[str] = sorted(set().union(*(p.languages for p in people)))
        self.lang_bits = _set_bits([p.languages for p in people], self.languages)
        # Skills compare case-insensitively: profiles keep them as written ("TikTok").
        share = [frozenset(s.casefold() for s in p.skills_to_share) for p in people]
        learn = [frozenset(s.casefold() for s in p.skills_to_learn) for p in people]
        # Share and learn use one vocabulary so their bitsets are comparable.
        self.skills: list[str] = sorted(set().union(*share, *learn))
        self.share_bits = _set_bits(share, self.skills)
        self.learn_bits = _set_bits(learn, self.skills)
        self.learn_count: I64 = np.array([len(s) for s in learn], dtype=np.int64)
        self.meeting: I64 = np.array([MEETING_BITS[p.meeting_preference] for p in people], dtype=np.int64)
        weeks = policy.programme_weeks()  # minimum weekly overlap over these weeks
        self.avail = encode_programme([p.availability for p in people], [p.time_zone for p in people], weeks)
        self._build_chains(org_chart)
        self.forbidden: I64 = self._pair_set(
            [(p.id, b) for p in people for b in p.blocked_partner_ids]
            + [pair_ids(x) for x in excluded_pairs]
            + ([] if policy.allow_repeat_partners else [pair_ids(x) for x in history])
        )
        self.requested: I64 = self._pair_set([(p.id, r) for p in people for r in p.requested_partner_ids])

    def _build_chains(self, org_chart: Mapping[str, str | None] | None) -> None:
        """Depth-limited management chains for everyone, vectorised over people.

        Same semantics as :func:`chains.ancestors` (nearest manager first, stop at
        the first repeated id): parent pointers are coded in a shared employee
        space where participants keep their position and other managers get
        codes >= n, then all chains are walked one level at a time.
        """
        depth = self.policy.management_exclusion_depth
        manager_of: dict[str, str | None] = dict(org_chart or {})
        for p in self.people:
            manager_of.setdefault(p.id, p.manager_id)
        code = dict(self.pos)
        for emp, boss in manager_of.items():
            for x in (emp, boss):
                if x is not None and x not in code:
                    code[x] = len(code)
        parent = np.full(len(code) + 1, -1, dtype=np.int64)  # last slot: "no one"
        emps = np.fromiter((code[k] for k in manager_of), dtype=np.int64, count=len(manager_of))
        bosses = np.fromiter(
            (-1 if b is None else code[b] for b in manager_of.values()),
            dtype=np.int64,
            count=len(manager_of),
        )
        parent[emps] = bosses
        chains = np.full((max(depth, 1), self.n), -1, dtype=np.int64)
        current = np.arange(self.n, dtype=np.int64)
        for k in range(depth):
            nxt = parent[current]  # current == -1 reads the "no one" slot
            repeated = nxt == np.arange(self.n)
            for prev in chains[:k]:
                repeated |= nxt == prev
            nxt[repeated] = -1
            chains[k] = nxt
            current = nxt
        self.ancestor_cols: I64 = chains  # [k, p] = k-th manager above p, or -1
        self.ancestors: I64 = np.ascontiguousarray(chains.T)

    def _pair_set(self, pairs: Iterable[tuple[str, str]]) -> I64:
        """Sorted unordered-pair keys (both orientations) for ids in the population."""
        keys: list[int] = []
        for a, b in pairs:
            ia, ib = self.pos.get(a), self.pos.get(b)
            if ia is not None and ib is not None:
                keys.append(ia * self.n + ib)
                keys.append(ib * self.n + ia)
        return np.unique(np.array(keys, dtype=np.int64))

    def contains(
        self, keys_sorted: I64, mentors: npt.NDArray[np.intp], mentees: npt.NDArray[np.intp]
    ) -> BoolA:
        found: BoolA = np.zeros(mentors.shape, dtype=np.bool_)
        if keys_sorted.size == 0:
            return found
        # Pair sets hold both orientations, so a pair can only be present if both
        # people appear in some pair: a cheap per-person mask skips most lookups.
        member = self._members(keys_sorted)
        maybe = np.flatnonzero(member[mentors] & member[mentees])
        if maybe.size == 0:
            return found
        keys = pair_keys(mentors[maybe], mentees[maybe], self.n)
        at = np.searchsorted(keys_sorted, keys)
        at = np.minimum(at, keys_sorted.size - 1)
        found[maybe] = keys_sorted[at] == keys
        return found

    def _members(self, keys_sorted: I64) -> BoolA:
        for keys, member in self._member_cache:
            if keys is keys_sorted:
                return member
        member = np.zeros(self.n, dtype=np.bool_)
        member[keys_sorted // self.n] = True
        self._member_cache.append((keys_sorted, member))
        return member
