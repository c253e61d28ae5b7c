"""Greedy construction: circles grown one member at a time from a seed, over numpy candidate pools.

A circle is committed to one language (its pool: the unplaced speakers of it). Its feasibility is kept
at every step: a candidate must be outside every member's reporting line and blocks, and leave a
start slot for a meeting in every distinct week (an AND of run-start bitsets, ``slots.py``). The
first distinct week is the cheap filter over the pool; the chosen candidate is checked on every week
(a Python-int AND) before they join.

Among the feasible, the candidate chosen makes the circle's objective highest (``scoring.py``,
vectorised over the pool), with bonuses that keep placement first: the generations the policy's
minimums still need, a soft cap on a scarce generation per circle (so there are enough seniors and
juniors for every circle the cohort can have), people who have no later chance (their languages'
circles are formed earlier), and flexibility (how many common start slots the circle keeps).
A circle that cannot reach its minimums is undone and its seed is not tried again in that round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge_matching.domain.circles.model import PinnedCircle
from bridge_matching.domain.circles.prepare import JUNIOR, OTHER, SENIOR, CircleCohort
from bridge_matching.domain.circles.scoring import covered_wishes, mix_score, total_of
from bridge_matching.domain.circles.slots import unpack

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Idx = npt.NDArray[np.intp]
BoolA = npt.NDArray[np.bool_]

# The most candidates one circle's growth scores at each step (the best connected to the seed).
POOL_LIMIT = 320
NEED = 4.0  # a member of a generation (or a facilitator) the circle still needs
CAP_PENALTY = 0.6  # a member beyond the circle's share of a scarce generation
LAST_CHANCE = 0.15  # a candidate whose languages have no circles formed after this one
SLACK = 0.2  # times the share of the circle's start slots a candidate keeps
DENSE_LIMIT = 1 << 24  # skill cells (people x 2 x skills) kept dense for the whole cohort (64 MiB)


@dataclass(eq=False)
class WorkCircle:
    """A circle being formed or improved (positions into the cohort)."""

    members: list[int]
    language: str
    lang: int  # languages every member speaks (mask)
    start_int: int  # AND of the members' start slots, every distinct week
    starts: U64  # the same as (weeks, words) rows
    pin: PinnedCircle | None = None
    pinned: frozenset[int] = frozenset()
    named_facilitator: int | None = None
    dropped: tuple[str, ...] = ()  # excluded people HR's pin named (they are left out)
    version: int = 0  # bumped on every change (caches key on it)

    @property
    def locked(self) -> bool:
        """HR's pin: its members stay; the local search does not touch it."""
        return self.pin is not None


def open_circle(cohort: CircleCohort, members: list[int], language: str) -> WorkCircle:
    lang = -1
    start_int = -1
    starts = np.full(cohort.starts.shape[1:], np.uint64(0xFFFF_FFFF_FFFF_FFFF), dtype=np.uint64)
    for m in members:
        lang &= cohort.lang_mask[m]
        start_int &= cohort.start_int[m]
        starts &= cohort.starts[m]
    if not members:
        lang = start_int = 0
    return WorkCircle(list(members), language, lang, start_int, starts)


def _languages(cohort: CircleCohort, mask: int) -> list[str]:
    return [lang for i, lang in enumerate(cohort.languages) if mask >> i & 1]


def add_member(cohort: CircleCohort, circle: WorkCircle, x: int) -> None:
    circle.members.append(x)
    circle.lang &= cohort.lang_mask[x]
    circle.start_int &= cohort.start_int[x]
    circle.starts &= cohort.starts[x]
    circle.version += 1


def recompute(cohort: CircleCohort, circle: WorkCircle) -> None:
    """Language and slot aggregates from scratch (after a member leaves)."""
    fresh = open_circle(cohort, circle.members, circle.language)
    circle.lang, circle.start_int, circle.starts = fresh.lang, fresh.start_int, fresh.starts
    circle.version += 1


class Builder:
    """Forms circles into ``circles``; ``placed`` says who is in one."""

    def __init__(self, cohort: CircleCohort, rng: np.random.Generator) -> None:
        self.c = cohort
        n = cohort.n
        self.placed: BoolA = np.zeros(n, dtype=np.bool_)
        self.failed: BoolA = np.zeros(n, dtype=np.bool_)  # seeds that could not start a circle
        self.jitter: F64 = rng.random(n) * 1e-6  # the seed's tie-break
        self.circles: list[WorkCircle] = []
        self.last_chance: BoolA = np.zeros(n, dtype=np.bool_)
        self.n_skills = len(cohort.skills)
        self.attempts = 0  # seeds tried
        self.undone = 0  # of which could not be completed
        self._where = np.full(n, -1, dtype=np.intp)  # position -> index in the pool being grown
        # Everyone's skills as dense rows, when that is small enough to keep (else per pool).
        self._both_dense: npt.NDArray[np.float32] | None = None
        if n * 2 * self.n_skills <= DENSE_LIMIT:
            self._both_dense = np.concatenate(
                [self._dense(cohort.share_words), self._dense(cohort.learn_words)], axis=1
            )

    # -- one circle -------------------------------------------------------------------------------

    def _both(self, pool: Idx) -> npt.NDArray[np.float32]:
        if self._both_dense is not None:
            out: npt.NDArray[np.float32] = np.take(self._both_dense, pool, axis=0)
            return out
        c = self.c
        return np.concatenate(
            [
                self._dense(np.take(c.share_words, pool, axis=0)),
                self._dense(np.take(c.learn_words, pool, axis=0)),
            ],
            axis=1,
        )

    def _dense(self, rows: U64) -> npt.NDArray[np.float32]:
        """Packed skill rows -> dense 0/1 rows over the skill vocabulary."""
        raw = np.ascontiguousarray(rows).view(np.uint8).reshape(rows.shape[0], -1)
        bits = np.unpackbits(raw, axis=1, bitorder="little")[:, : self.n_skills]
        return bits.astype(np.float32)

    def _shared(self, pool: Idx, starts: U64) -> I64:
        """How many start slots of the first distinct week each of ``pool`` shares with ``starts``."""
        out = np.zeros(pool.size, dtype=np.int64)
        for col, word in zip(self.c.starts0_cols, starts.tolist(), strict=True):
            if word:
                out += np.bitwise_count(np.take(col, pool) & np.uint64(word))
        return out

    def _pool(self, circle: WorkCircle) -> Idx:
        """Unplaced speakers of the circle's language who share a start slot with it in the first
        distinct week and clash with no member, the best connected ``POOL_LIMIT`` of them."""
        c = self.c
        speak = c.lang_people.get(circle.language)
        slots = np.flatnonzero(unpack(circle.starts[0][None, :], c.n_slots)[0])
        if speak is None or slots.size == 0:
            return np.zeros(0, dtype=np.intp)
        near = np.bitwise_or.reduce(c.at[0, slots], axis=0) & speak & c.packed(~self.placed)
        mask = c.unpacked(near)
        for m in circle.members:
            mask[c.forbidden_arr[m]] = False
            mask[m] = False
        pool = np.flatnonzero(mask)
        if pool.size > POOL_LIMIT:
            shared = self._shared(pool, circle.starts[0]) + self.jitter[pool]  # jitter: no ties
            pool = np.sort(pool[np.argpartition(-shared, POOL_LIMIT)[:POOL_LIMIT]])
        return pool

    def grow(self, circle: WorkCircle, target: int, caps: tuple[int, int, int] | None = None) -> list[int]:
        """Adds members to ``circle`` up to ``target`` while feasible; returns who was added (placed).
        ``caps``: soft caps of juniors, seniors and facilitator-eligible members for this circle."""
        c, policy = self.c, self.c.policy
        members = circle.members
        gen_of = c.gen_of
        juniors = sum(1 for m in members if gen_of[m] == JUNIOR)
        seniors = sum(1 for m in members if gen_of[m] == SENIOR)
        facilitators = sum(1 for m in members if c.eligible_of[m])
        named = circle.named_facilitator is not None
        pool = self._pool(circle)
        g = c.gen[pool]
        eligible = c.eligible[pool]
        # Not enough people of a needed kind even before any choice: the circle cannot be completed.
        if (
            len(members) + pool.size < policy.min_size
            or juniors + int((g == JUNIOR).sum()) < policy.min_juniors
            or seniors + int((g == SENIOR).sum()) < policy.min_seniors
            or not (named or facilitators or eligible.any())
        ):
            return []
        k = pool.size
        self._where[pool] = np.arange(k)
        alive = np.ones(k, dtype=np.bool_)
        cs0 = np.take(c.starts0_cols, pool, axis=1)  # (words, pool): word-major
        eligible_f = eligible.astype(np.float64)
        dept, region = c.dept[pool], c.region[pool]
        learn_count = c.learn_count[pool]
        both_dense = self._both(pool)  # (pool, 2 * skills): shares, then wants
        fixed = self.jitter[pool] + LAST_CHANCE * self.last_chance[pool]
        dept_in = np.zeros(max(c.n_departments, 1), dtype=np.bool_)
        region_in = np.zeros(max(c.n_regions, 1), dtype=np.bool_)
        for m in members:
            dept_in[c.dept_of[m]] = True
            region_in[c.region_of[m]] = True
        dept_new = (~dept_in[dept]).astype(np.float64)  # 1: a department the circle lacks
        region_new = (~region_in[region]).astype(np.float64)
        n_depts, n_regions = int(dept_in.sum()), int(region_in.sum())
        rows = self._dense(np.concatenate([c.share_words[members], c.learn_words[members]]))
        sh_m, le_m = rows[: len(members)], rows[len(members) :]
        t = sh_m.sum(axis=0)  # members who share each skill
        w = le_m.sum(axis=0)  # who want it
        b = (sh_m * le_m).sum(axis=0)  # who share and want it
        covered, wishes = covered_wishes(c, members)
        added: list[int] = []
        wm, wsk = policy.weight_mix, policy.weight_skills
        wd, wr = policy.weight_department_spread, policy.weight_region_spread
        ws0 = circle.starts[0]
        while len(members) < target:
            size1 = len(members) + 1
            slots_left = target - len(members)
            need_j = max(0, policy.min_juniors - juniors)
            need_s = max(0, policy.min_seniors - seniors)
            needs_facilitator = not (named or facilitators)
            # Per generation (junior, other, senior): the mix with one more, the needs, the caps.
            by_gen = [0.0, 0.0, 0.0]
            allowed_gen = [True, True, True]
            for code, dj, ds in ((JUNIOR, 1, 0), (OTHER, 0, 0), (SENIOR, 0, 1)):
                value = wm * mix_score(juniors + dj, seniors + ds, size1)
                if (dj and need_j) or (ds and need_s):
                    value += NEED
                if caps is not None and ((dj and juniors + 1 > caps[0]) or (ds and seniors + 1 > caps[1])):
                    value -= CAP_PENALTY
                by_gen[code] = value
                allowed_gen[code] = need_j + need_s < slots_left or bool((dj and need_j) or (ds and need_s))
            facilitator_bonus = NEED if needs_facilitator else 0.0
            if caps is not None and facilitators + 1 > caps[2]:
                facilitator_bonus -= CAP_PENALTY
            # Wishes a newcomer covers (as teacher of the members, and as learner from them).
            weights = np.concatenate([np.where(t == 0, w - b, 0) + np.where(t == 1, b, 0), t > 0])
            gain = both_dense @ weights.astype(np.float32)
            cov = (covered + gain) / np.maximum(wishes + learn_count, 1)
            score = np.take(np.array(by_gen), g)
            score += wsk * cov
            score += (wd / min(size1, c.n_departments)) * (n_depts + dept_new)
            score += (wr / min(size1, c.n_regions)) * (n_regions + region_new)
            score += fixed
            score += facilitator_bonus * eligible_f
            current = int(np.bitwise_count(ws0).sum())
            if current:
                score += (SLACK / current) * np.bitwise_count(cs0 & ws0[:, None]).sum(axis=0)
            allowed = alive & np.take(np.array(allowed_gen), g)
            if needs_facilitator and slots_left == 1:
                allowed &= eligible
            score[~allowed] = -np.inf
            chosen = -1
            while True:
                idx = int(np.argmax(score))  # the first of the best: ties go to the lowest id
                if score[idx] == -np.inf:
                    break
                if c.feasible_starts(circle.start_int & c.start_int[int(pool[idx])]):
                    chosen = idx
                    break
                alive[idx] = False  # fails a later week: never feasible for this circle again
                score[idx] = -np.inf
            if chosen < 0:
                break
            x = int(pool[chosen])
            add_member(c, circle, x)
            added.append(x)
            self.placed[x] = True
            juniors += int(gen_of[x] == JUNIOR)
            seniors += int(gen_of[x] == SENIOR)
            facilitators += int(c.eligible_of[x])
            if dept_new[chosen]:
                n_depts += 1
                dept_new[dept == dept[chosen]] = 0.0
            if region_new[chosen]:
                n_regions += 1
                region_new[region == region[chosen]] = 0.0
            sh, le = both_dense[chosen, : self.n_skills], both_dense[chosen, self.n_skills :]
            t = t + sh
            w = w + le
            b = b + sh * le
            covered, wishes = covered_wishes(c, members)
            ws0 = circle.starts[0]
            alive[chosen] = False
            clash = self._where[c.forbidden_arr[x]]
            alive[clash[clash >= 0]] = False
            alive &= (cs0 & ws0[:, None]).any(axis=0)
            if not alive.any():
                break
        self._where[pool] = -1
        return added

    def complete(self, circle: WorkCircle) -> bool:
        """Whether the circle meets the policy's minimums and has a possible facilitator."""
        c, policy = self.c, self.c.policy
        members = circle.members
        if len(members) < policy.min_size:
            return False
        juniors = sum(1 for m in members if c.gen_of[m] == JUNIOR)
        seniors = sum(1 for m in members if c.gen_of[m] == SENIOR)
        if juniors < policy.min_juniors or seniors < policy.min_seniors:
            return False
        return circle.named_facilitator is not None or any(c.eligible_of[m] for m in members)

    def undo(self, circle: WorkCircle, added: list[int]) -> None:
        for x in added:
            self.placed[x] = False
        keep = set(added)
        circle.members[:] = [m for m in circle.members if m not in keep]
        recompute(self.c, circle)

    # -- rounds of seeds --------------------------------------------------------------------------

    def _target(self, language: str) -> tuple[int, tuple[int, int, int]]:
        """Circle size for the next circle of ``language``, and the per-circle cap of juniors and
        seniors: the unplaced speakers shared over as many circles as their scarcest need allows."""
        c, policy = self.c, self.c.policy
        pool = c.speakers[language]
        pool = pool[~self.placed[pool]]
        total = int(pool.size)
        g = c.gen[pool]
        juniors, seniors = int((g == JUNIOR).sum()), int((g == SENIOR).sum())
        facilitators = int(c.eligible[pool].sum())
        limits = [total // policy.min_size, facilitators]
        if policy.min_juniors:
            limits.append(juniors // policy.min_juniors)
        if policy.min_seniors:
            limits.append(seniors // policy.min_seniors)
        circles = max(1, min(limits))
        size = -(-total // circles)
        target = max(policy.min_size, min(policy.max_size, size))
        cap_j = max(policy.min_juniors, -(-target * juniors // max(total, 1)))
        cap_s = max(policy.min_seniors, -(-target * seniors // max(total, 1)))
        cap_f = max(1, -(-target * facilitators // max(total, 1)))
        return target, (cap_j, cap_s, cap_f)

    def try_seed(self, seed: int, language: str) -> WorkCircle | None:
        self.attempts += 1
        circle = open_circle(self.c, [seed], language)
        self.placed[seed] = True
        target, caps = self._target(language)
        added = self.grow(circle, target, caps)
        if self.complete(circle):
            self.circles.append(circle)
            return circle
        self.undo(circle, added)
        self.placed[seed] = False
        self.failed[seed] = True
        self.undone += 1
        return None

    def insert_leftovers(self) -> int:
        """Places unplaced people in circles that have room, where every rule still holds; each
        goes where the circle's objective gains most (or loses least). Returns how many."""
        c = self.c
        if not self.circles:
            return 0
        circles = self.circles
        room = np.array([len(x.members) < c.policy.max_size for x in circles], dtype=np.bool_)
        first_week = np.stack([x.starts[0] for x in circles])
        totals = [total_of(c, x.members) for x in circles]
        waiting = np.flatnonzero(~self.placed)
        waiting = waiting[np.lexsort((self.jitter[waiting], c.start_slots[waiting]))]
        placed = 0
        for x in waiting.tolist():
            near = np.flatnonzero(room & (first_week & c.starts0[x]).any(axis=1))
            best, best_gain = -1, -np.inf
            for k in near.tolist():
                circle = circles[k]
                if not circle.lang & c.lang_mask[x]:
                    continue
                if not c.feasible_starts(circle.start_int & c.start_int[x]):
                    continue
                if not c.forbidden[x].isdisjoint(circle.members):
                    continue
                gain = total_of(c, [*circle.members, x]) - totals[k]
                if gain > best_gain:
                    best, best_gain = k, gain
            if best < 0:
                continue
            circle = circles[best]
            add_member(c, circle, x)
            if circle.language not in _languages(c, circle.lang):
                circle.language = _languages(c, circle.lang)[0]
            self.placed[x] = True
            placed += 1
            totals[best] += best_gain
            first_week[best] = circle.starts[0]
            room[best] = len(circle.members) < c.policy.max_size
        return placed

    def run_round(self, order: list[str], *, stop_when_done: bool) -> None:
        """Seeds circles language by language (``order``: fewest speakers first, so bilinguals are
        drawn into the rarer languages' circles while they are free). With ``stop_when_done``, a
        language's circles stop once nobody is left who has no later language (everybody else can
        still be placed in a later language's circles)."""
        c = self.c
        rank = {lang: i for i, lang in enumerate(order)}
        last = np.full(c.n, -1, dtype=np.int64)
        for lang in order:
            last[c.speakers[lang]] = rank[lang]
        for i, lang in enumerate(order):
            speakers = c.speakers[lang]
            self.last_chance[:] = False
            self.last_chance[speakers[last[speakers] == i]] = True
            eligible = speakers[c.eligible[speakers]]
            # Those with no later chance first, then the least available (the hardest to place).
            keys = np.lexsort((self.jitter[eligible], c.start_slots[eligible], ~self.last_chance[eligible]))
            for seed in eligible[keys].tolist():
                if self.placed[seed] or self.failed[seed]:
                    continue
                if stop_when_done and i < len(order) - 1:
                    waiting = speakers[self.last_chance[speakers] & ~self.placed[speakers]]
                    if waiting.size == 0:
                        break
                unplaced = int((~self.placed[speakers]).sum())
                if unplaced < c.policy.min_size:
                    break
                self.try_seed(seed, lang)
        self.last_chance[:] = False
