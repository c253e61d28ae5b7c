"""The engine's certificate holds: ``upper_bound``, ``certified_gap`` and ``proven_optimal``
checked against optima computed here, independently of the engine's candidate graph,
pricing, LP and MIP.

* Small cohorts (n <= 9, many "either"): every role assignment of the "either" people is
  enumerated and each bipartite problem solved exactly by a memoised search; feasibility
  comes from the scalar oracle ``constraints.pair_violations``, weights from the score
  definition (``_Oracle.weight``).
* Medium cohorts (n 150-400): every pair of the cohort is checked by brute force and the
  whole problem solved as a MIP with HiGHS in a formulation of its own (a role variable per
  "either" person, not the engine's one row per person).
* No pair outside the pairing joins an unmatched mentee and a mentor with a free place
  (the pricing really is exhaustive); the same cohort in another order gives the same run.

Objective units are the engine's: ``rint(score * 1e6) + 1`` per pair (``MatchStats.upper_bound``
is in those units divided by 1e6), so every comparison below is between integers or carries
a tolerance of 1e-6.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import highspy
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from matching_engine_support import MEETINGS, ZONES, assert_valid, manager_map, meeting_compatible, person

from bridge_matching.domain.engine import (
    AvailabilityWindow,
    MatchingPolicy,
    MatchResult,
    Participant,
    Weights,
    pair_violations,
    pricing,
    run_matching,
    solver,
)
from bridge_matching.domain.engine.availability import overlap_minutes, utc_intervals
from bridge_matching.domain.engine.chains import ancestors
from bridge_matching.domain.engine.constraints import pair_overlap_minutes
from bridge_matching.domain.engine.lp import solve_pairing_mip

SCALE = 1_000_000  # the engine's score units (scoring.SCORE_SCALE), restated on purpose
TOL = 1e-6

Edge = tuple[str, str]  # (mentor id, mentee id)


# --- the independent oracle: feasibility and weights of every pair ------------------------------


class _Oracle:
    """Feasible pairs of a whole cohort and their weights, by brute force over all pairs.

    The weekly overlap is the scalar definition (``utc_intervals`` + ``overlap_minutes`` week by
    week, minimum over the programme), not the engine's bitsets; weeks in which both people have
    the same UTC intervals are computed once. ``exact=True`` asks ``pair_violations`` and
    ``pair_overlap_minutes`` about every pair; otherwise the checks are restated here (and
    ``check_against_pair_violations`` compares the two on a sample).
    """

    def __init__(
        self,
        people: Sequence[Participant],
        policy: MatchingPolicy,
        *,
        history: Sequence[Edge] = (),
        excluded: Sequence[Edge] = (),
        exact: bool = False,
    ) -> None:
        self.people = list(people)
        self.by_id = {p.id: p for p in people}
        self.policy = policy
        self.history = list(history)
        self.excluded = list(excluded)
        self.exact = exact
        self.managers = manager_map(people)
        weeks = policy.programme_weeks()
        codes: dict[tuple[tuple[int, int], ...], int] = {}
        self.week_codes: dict[str, tuple[int, ...]] = {}
        for p in people:
            # Weeks with the same constant UTC offset give the same UTC intervals: convert once.
            keys = _week_keys(p.time_zone, weeks)
            first: dict[object, date] = {}
            for key, w in zip(keys, weeks, strict=True):
                first.setdefault(key, w)
            code_of = {
                key: codes.setdefault(utc_intervals(p.availability, p.time_zone, w), len(codes))
                for key, w in first.items()
            }
            self.week_codes[p.id] = tuple(code_of[key] for key in keys)
        self.intervals = list(codes)
        self._overlap: dict[tuple[int, int], int] = {}
        depth = policy.management_exclusion_depth
        self.chain = {p.id: set(ancestors(p.id, self.managers, depth)) for p in people}
        forbidden = {frozenset(e) for e in excluded}
        if not policy.allow_repeat_partners:
            forbidden |= {frozenset(e) for e in history}
        for p in people:
            forbidden |= {frozenset((p.id, b)) for b in p.blocked_partner_ids}
        self.forbidden = forbidden
        self.capacity = {
            p.id: min(p.capacity, policy.max_mentees_per_mentor) if p.can_mentor else 0 for p in people
        }

    def minutes(self, a: Participant, b: Participant) -> int:
        if self.exact:
            return pair_overlap_minutes(a, b, self.policy)
        best = -1
        for key in set(zip(self.week_codes[a.id], self.week_codes[b.id], strict=True)):
            value = self._overlap.get(key)
            if value is None:
                value = self._overlap[key] = overlap_minutes(self.intervals[key[0]], self.intervals[key[1]])
            best = value if best < 0 else min(best, value)
        return best

    def violations(self, m: Participant, e: Participant) -> list[str]:
        return pair_violations(
            m, e, self.policy, manager_of=self.managers, history=self.history, excluded_pairs=self.excluded
        )

    def feasible(self, m: Participant, e: Participant) -> bool:
        if self.exact:
            return not self.violations(m, e)
        policy = self.policy
        if m.id == e.id or not m.can_mentor or not e.can_be_mentee:
            return False
        if not m.languages & e.languages or not m.seniority < e.seniority:
            return False
        if policy.region_mode == "same_region" and m.region != e.region:
            return False
        if policy.region_mode == "cross_region" and m.region == e.region:
            return False
        if m.id in self.chain[e.id] or e.id in self.chain[m.id]:
            return False
        if frozenset((m.id, e.id)) in self.forbidden:
            return False
        return self.minutes(m, e) >= policy.min_overlap_hours * 60

    def weight(self, m: Participant, e: Participant) -> float:
        """The score from its definition (skills compare case-insensitively)."""

        def cover(give: frozenset[str], want: frozenset[str]) -> float:
            wanted = {s.casefold() for s in want}
            return len({s.casefold() for s in give} & wanted) / len(wanted) if wanted else 0.0

        w = self.policy.weights
        requested = e.id in m.requested_partner_ids or m.id in e.requested_partner_ids
        hours = self.minutes(m, e) / 60
        return (
            w.skills_mentor_to_mentee * cover(m.skills_to_share, e.skills_to_learn)
            + w.skills_mentee_to_mentor * cover(e.skills_to_share, m.skills_to_learn)
            + w.availability * min(hours / self.policy.overlap_target_hours, 1.0)
            + w.cross_department * (m.department != e.department)
            + w.requested_partner * requested
            + w.meeting_preference * meeting_compatible(m, e)
        )

    def units(self, m: Participant, e: Participant) -> int:
        return round(self.weight(m, e) * SCALE) + 1

    def edges(self) -> dict[Edge, int]:
        """Every feasible (mentor, mentee) of the cohort with its weight in units."""
        out: dict[Edge, int] = {}
        for m, e in itertools.permutations(self.people, 2):
            if self.feasible(m, e):
                out[m.id, e.id] = self.units(m, e)
        return out

    def check_against_pair_violations(self, edges: dict[Edge, int], sample: int, seed: int) -> None:
        """The restated checks and overlap agree with the scalar oracle on random pairs and
        on random feasible ones."""
        rng = random.Random(seed)
        feasible = sorted(edges)
        pairs = [tuple(rng.sample(self.people, 2)) for _ in range(sample)]
        pairs += [(self.by_id[m], self.by_id[e]) for m, e in rng.sample(feasible, min(sample, len(feasible)))]
        for m, e in pairs:
            assert self.feasible(m, e) == (not self.violations(m, e)), (m.id, e.id, self.violations(m, e))
            assert self.minutes(m, e) == pair_overlap_minutes(m, e, self.policy), (m.id, e.id)


@cache
def _week_keys(tz: str, weeks: tuple[date, ...]) -> tuple[object, ...]:
    """Per programme week: ("constant", offset) when the zone's UTC offset is the same from two
    days before the week to three days after it (windows may run past midnight), else the week."""
    zone = ZoneInfo(tz)
    keys: list[object] = []
    for week in weeks:
        origin = datetime.combine(week, time(0, 0), tzinfo=UTC)
        before = (origin - timedelta(days=2)).astimezone(zone).utcoffset()
        after = (origin + timedelta(days=10)).astimezone(zone).utcoffset()
        keys.append(("constant", before) if before == after else ("week", week))
    return tuple(keys)


# --- exact optima --------------------------------------------------------------------------------


def brute_force_optimum(
    people: Sequence[Participant], edges: dict[Edge, int], capacity: dict[str, int]
) -> int:
    """Max total units over every pairing of the whole feasible graph (tiny cohorts only).

    Every role assignment of the "either" people, each solved as a bipartite b-matching by
    a search over the mentees memoised on the mentors' remaining places.
    """
    either = [p.id for p in people if p.role == "either"]
    best = 0
    for roles in itertools.product(("mentor", "mentee"), repeat=len(either)):
        role = {p.id: p.role for p in people} | dict(zip(either, roles, strict=True))
        mentors = [pid for pid in role if role[pid] == "mentor" and capacity[pid] > 0]
        slot = {pid: k for k, pid in enumerate(mentors)}
        options: list[list[tuple[int, int]]] = []
        for e in (pid for pid in role if role[pid] == "mentee"):
            opts = [(slot[m], u) for (m, ee), u in edges.items() if ee == e and m in slot]
            if opts:
                options.append(opts)

        frozen = tuple(tuple(o) for o in options)

        @cache
        def go(
            i: int, places: tuple[int, ...], frozen: tuple[tuple[tuple[int, int], ...], ...] = frozen
        ) -> int:
            if i == len(frozen):
                return 0
            value = go(i + 1, places)
            for k, u in frozen[i]:
                if places[k] > 0:
                    rest = (*places[:k], places[k] - 1, *places[k + 1 :])
                    value = max(value, u + go(i + 1, rest))
            return value

        best = max(best, go(0, tuple(capacity[m] for m in mentors)))
    return best


def mip_optimum(people: Sequence[Participant], edges: dict[Edge, int], capacity: dict[str, int]) -> int:
    """Max total units over every pairing, as a MIP of its own (HiGHS, solved to optimality).

    Binary ``x`` per feasible pair, binary ``z`` per "either" person (1 = mentors):
    mentee row ``sum x(., p) + z_p <= 1``, mentor row ``sum x(p, .) <= cap_p * z_p``.
    """
    pairs = sorted(edges)
    either = [p.id for p in people if p.role == "either"]
    zcol = {pid: len(pairs) + k for k, pid in enumerate(either)}
    as_mentee: dict[str, list[int]] = {}
    as_mentor: dict[str, list[int]] = {}
    for j, (m, e) in enumerate(pairs):
        as_mentor.setdefault(m, []).append(j)
        as_mentee.setdefault(e, []).append(j)
    rows: list[tuple[list[int], list[float], float]] = []
    for p in people:
        cols, vals = list(as_mentee.get(p.id, [])), [1.0] * len(as_mentee.get(p.id, []))
        if p.id in zcol:
            cols.append(zcol[p.id])
            vals.append(1.0)
        if p.can_be_mentee and cols:
            rows.append((cols, vals, 1.0))
        cols, vals = list(as_mentor.get(p.id, [])), [1.0] * len(as_mentor.get(p.id, []))
        if not cols:
            continue
        if p.id in zcol:
            cols.append(zcol[p.id])
            vals.append(-float(capacity[p.id]))
            rows.append((cols, vals, 0.0))
        else:
            rows.append((cols, vals, float(capacity[p.id])))
    ncol = len(pairs) + len(either)
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.5)  # the objective is an integer number of units
    h.setOptionValue("time_limit", 120.0)
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = len(rows)
    lp.col_cost_ = np.array([-float(edges[pair]) for pair in pairs] + [0.0] * len(either))
    lp.col_lower_ = np.zeros(ncol)
    lp.col_upper_ = np.ones(ncol)
    lp.row_lower_ = np.full(len(rows), -highspy.kHighsInf)
    lp.row_upper_ = np.array([r[2] for r in rows], dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.cumsum([0] + [len(r[0]) for r in rows]).astype(np.int32)
    lp.a_matrix_.index_ = np.array([c for r in rows for c in r[0]], dtype=np.int32)
    lp.a_matrix_.value_ = np.array([v for r in rows for v in r[1]], dtype=np.float64)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * ncol
    h.passModel(lp)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.modelStatusToString(h.getModelStatus())
    x = np.asarray(h.getSolution().col_value)[: len(pairs)] > 0.5
    return sum(edges[pair] for pair, on in zip(pairs, x.tolist(), strict=True) if on)


# --- the assertions shared by the small and the medium tests ------------------------------------


def engine_units(result: MatchResult, oracle: _Oracle) -> int:
    """The engine's pairing valued with the oracle's weights (and those weights checked)."""
    total = 0
    for pair in result.pairs:
        m, e = oracle.by_id[pair.mentor_id], oracle.by_id[pair.mentee_id]
        # Pair scores are rounded to 6 decimals.
        assert abs(pair.score - oracle.weight(m, e)) <= 5e-7 + 1e-12, (pair, oracle.weight(m, e))
        total += oracle.units(m, e)
    assert abs(result.total_score - sum(p.score for p in result.pairs)) <= TOL + 5e-7 * len(result.pairs)
    return total


def assert_certificate(result: MatchResult, optimum_units: int, oracle: _Oracle) -> None:
    stats = result.stats
    value = engine_units(result, oracle)
    optimum = optimum_units / SCALE
    context = (stats, value, optimum_units)
    assert value <= optimum_units, context  # the oracle's optimum really is one
    assert stats.upper_bound >= optimum - TOL, context  # the certificate holds
    assert 0.0 <= stats.certified_gap <= 1.0, context
    if not stats.proven_optimal and stats.upper_bound > 0:  # the gap is the bound's
        assert abs(stats.certified_gap - (stats.upper_bound - value / SCALE) / stats.upper_bound) < TOL, (
            context
        )
    assert value / SCALE >= optimum * (1 - stats.certified_gap) - TOL, context
    if stats.proven_optimal:
        assert value == optimum_units, context
        assert stats.certified_gap == 0.0, context


# --- 1. small cohorts: brute force over every role assignment -----------------------------------


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _random_windows(rng: random.Random) -> tuple[AvailabilityWindow, ...]:
    """One to four windows anywhere in the week, some past midnight, some ending at 24:00."""
    out = []
    for _ in range(rng.randint(1, 4)):
        start = rng.randrange(96) * 15
        end = (start + rng.choice([45, 60, 120, 300, 600, 900, 1200])) % (24 * 60)
        end_text = "24:00" if end == 0 and rng.random() < 0.5 else _hhmm(end)
        out.append(AvailabilityWindow(rng.randrange(7), _hhmm(start), end_text))
    return tuple(out)


def _office_hours(rng: random.Random) -> tuple[AvailabilityWindow, ...]:
    """Long windows on several days: most pairs overlap, so the graph is dense."""
    start = rng.choice(["07:00", "08:30", "10:00", "13:00"])
    end = rng.choice(["17:00", "19:45", "23:00", "02:00"])
    return tuple(AvailabilityWindow(d, start, end) for d in sorted(rng.sample(range(7), rng.randint(2, 5))))


_OFFICE_ZONES = ["Europe/London", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]

# Programmes: none (a year from the reference week), and short ones across DST changes.
_PROGRAMMES: list[tuple[date | None, date | None]] = [
    (None, None),
    (date(2025, 3, 3), date(2025, 3, 23)),  # US spring forward
    (date(2025, 10, 20), date(2025, 11, 9)),  # Europe, then US, fall back
    (date(2025, 3, 31), date(2025, 4, 13)),  # southern hemisphere fall back (Sydney, Chatham)
]


@dataclasses.dataclass(frozen=True)
class SmallCase:
    people: list[Participant]
    policy: MatchingPolicy
    history: list[Edge]
    excluded: list[Edge]


SMALL_KINDS = ("sparse", "dense", "either")


def small_case(kind: str, seed: int) -> SmallCase:
    """A random cohort of 2 to 9 people with a random policy. "sparse" cohorts have random
    windows, zones and languages; "dense" ones office hours in nearby zones and a shared
    language; "either" ones are dense and everyone is "either": many odd cycles, which make the
    pairing LP fractional (the integer pairing and the MIP step must then resolve them).

    Built from ``seed`` with ``random`` rather than drawn field by field: hypothesis's own draws
    repeat small values (two people, everyone at seniority 0, no feasible pair) far too often
    to exercise the solver."""
    rng = random.Random(seed)
    n = rng.choice([2, 3, 4, 5, 6, 7, 8, 9, 9, 9])
    dense = kind != "sparse"
    roles = ["either"] if kind == "either" else ["mentor", "mentee", "either", "either", "either"]
    ids = [f"p{i}" for i in range(n)]
    skills = ["ai", "SQL", "sql", "sales", "budgets"]
    people = [
        person(
            pid,
            rng.choice(roles),
            rng.randrange(5),
            department=rng.choice(["Eng", "Sales", "HR"]),
            manager_id=rng.choice(ids) if rng.random() < 0.3 else None,
            region=rng.choice(["EMEA", "APAC"]),
            languages={"en"} if dense else set(rng.sample(["en", "de", "ja"], rng.randint(1, 2))),
            time_zone=rng.choice(_OFFICE_ZONES if dense else ZONES),
            availability=_office_hours(rng) if dense else _random_windows(rng),
            skills_to_share=set(rng.sample(skills, rng.randint(0, 3))),
            skills_to_learn=set(rng.sample(skills, rng.randint(0, 2))),
            capacity=rng.randint(1, 3),
            blocked_partner_ids={rng.choice(ids)} if rng.random() < 0.15 else set(),
            requested_partner_ids=set(rng.sample(ids, rng.choice([0, 0, 1, 2]))),
        )
        for pid in ids
    ]
    # Meeting preferences and their weight come from a generator of their own, so everything else
    # about a cohort (and the counterexamples pinned below) is what its seed gave before.
    meet = random.Random(seed ^ 0x6D656574)
    people = [dataclasses.replace(p, meeting_preference=meet.choice(MEETINGS)) for p in people]
    start, end = rng.choice(_PROGRAMMES)
    values = [0.0, 0.5, 1.0, 2.0, 3.0]
    weights = (
        Weights(*(rng.choice(values) for _ in range(5)), meeting_preference=meet.choice(values))
        if rng.random() < 0.3
        else Weights()
    )
    policy = MatchingPolicy(
        weights=weights,
        min_overlap_hours=rng.choice([0.5, 1.0, 2.0]),
        overlap_target_hours=rng.choice([2.0, 4.0]),
        region_mode=rng.choice(["any", "any", "any", "same_region", "cross_region"]),
        max_mentees_per_mentor=rng.randint(1, 3),
        management_exclusion_depth=rng.randint(0, 3),
        allow_repeat_partners=rng.random() < 0.3,
        availability_mode=rng.choice(["whole_programme", "whole_programme", "typical_week"]),
        programme_start=start,
        programme_end=end,
    )
    history = [tuple(rng.sample(ids, 2)) for _ in range(rng.randint(0, 2))]
    excluded = [tuple(rng.sample(ids, 2)) for _ in range(rng.randint(0, 1))]
    return SmallCase(people, policy, history, excluded)  # type: ignore[arg-type]


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(SMALL_KINDS), seed=st.integers(0, 2**32 - 1))
def test_certificate_holds_against_brute_force_on_small_cohorts(kind: str, seed: int) -> None:
    case = small_case(kind, seed)
    people, policy, history, excluded = case.people, case.policy, case.history, case.excluded
    result = run_matching(people, policy, history=history, excluded_pairs=excluded)
    assert_valid(result, people, policy, history=history, excluded=excluded)
    oracle = _Oracle(people, policy, history=history, excluded=excluded, exact=True)
    optimum = brute_force_optimum(people, oracle.edges(), oracle.capacity)
    assert_certificate(result, optimum, oracle)
    # At this size the MIP step always closes the gap.
    assert result.stats.proven_optimal, (result.stats, optimum)
    assert improving_pairs(result, oracle) == []


# Counterexamples found by the property above over more seeds (1,800 cohorts, seeds 1000-1599
# of each kind) at 0e6e205: 4 failed, all with proven_optimal claimed below the optimum. Two
# causes, fixed in 8c2ea3f and pinned on the smallest inputs of ``lp.solve_pairing_mip`` below:
# a start passed with setSolution came back from getSolution() although HiGHS reported a better
# optimum, and in score units the 1e-6 tie-break unit sat under HiGHS's tolerances.


@pytest.mark.parametrize(
    ("kind", "seed"), [("either", 1127), ("either", 1336), ("either", 1451), ("dense", 1061)]
)
def test_certificate_holds_on_found_counterexamples(kind: str, seed: int) -> None:
    test_certificate_holds_against_brute_force_on_small_cohorts.hypothesis.inner_test(kind, seed)  # type: ignore[attr-defined]


def _best_subset(mentor_cap: list[int], mentee_cap: list[int], cols: list[tuple[int, int, int]]) -> int:
    """Max units over every subset of columns that is a pairing (each person one role)."""
    best = 0
    for mask in range(1 << len(cols)):
        chosen = [c for k, c in enumerate(cols) if mask >> k & 1]
        mentors = [m for m, _, _ in chosen]
        mentees = [e for _, e, _ in chosen]
        if set(mentors) & set(mentees) or len(set(mentees)) < len(mentees):
            continue
        if any(mentors.count(m) > mentor_cap[m] for m in mentors) or any(mentee_cap[e] < 1 for e in mentees):
            continue
        best = max(best, sum(u for _, _, u in chosen))
    return best


def _mip_answer(
    mentor_cap: list[int], mentee_cap: list[int], cols: list[tuple[int, int, int]]
) -> tuple[int, float, float, bool]:
    m = np.array([c[0] for c in cols], dtype=np.intp)
    e = np.array([c[1] for c in cols], dtype=np.intp)
    u = np.array([c[2] for c in cols], dtype=np.int64)
    mip = solve_pairing_mip(
        np.array(mentor_cap, dtype=np.int64),
        np.array(mentee_cap, dtype=np.int64),
        m,
        e,
        u,
        max_nodes=5_000,
    )
    return int(u[mip.selected].sum()), mip.value, mip.bound, mip.optimal


def test_pairing_mip_returns_the_pairing_it_reports() -> None:
    """Seven "either" people with one place each; the start (p5-p1, p4-p6) is worth 10."""
    cols = [
        (2, 1, 5000001), (5, 1, 4000001), (4, 3, 5000001), (0, 4, 7000001),
        (0, 5, 4000001), (2, 5, 3500001), (0, 6, 4000001), (4, 6, 6000001),
    ]  # fmt: skip
    caps = [1] * 7
    chosen, value, bound, optimal = _mip_answer(caps, caps, cols)
    assert abs(chosen - value) < 0.5, (chosen, value)  # the pairing is worth what is reported
    assert optimal
    if optimal:
        assert chosen == _best_subset(caps, caps, cols) == round(bound), (chosen, bound)


def test_pairing_mip_resolves_the_tie_break_unit() -> None:
    """Two pairings score 19.75: one of 4 pairs and one of 5; the solver's own objective
    (+1 unit a pair) prefers the second."""
    cols = [
        (2, 0, 4000001), (3, 0, 5000001), (5, 0, 2000001), (2, 3, 3000001), (1, 4, 6000001),
        (3, 4, 8000001), (0, 6, 5000001), (3, 6, 5000001), (2, 7, 1750001), (0, 8, 5000001),
        (1, 8, 2000001), (2, 8, 2000001), (5, 8, 2000001),
    ]  # fmt: skip
    mentor_cap = [2, 2, 1, 2, 2, 2, 0, 1, 2]
    mentee_cap = [1, 0, 1, 1, 1, 1, 1, 1, 1]
    chosen, _, bound, optimal = _mip_answer(mentor_cap, mentee_cap, cols)
    best = _best_subset(mentor_cap, mentee_cap, cols)
    assert best == 19_750_005
    assert bound >= best - 0.5, (bound, best)
    assert optimal
    if optimal:
        assert chosen == best, (chosen, best)


# --- 2. medium cohorts: a MIP of every feasible pair --------------------------------------------


# Medium cohorts take seconds each: a few examples, and no shrinking (minutes of re-runs for
# little gain; a failure prints n, either_share and seed, which rebuild the cohort).
_MEDIUM: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,
    "phases": (Phase.explicit, Phase.reuse, Phase.generate),
    "suppress_health_check": [HealthCheck.too_slow],
}

# Mostly zones a few hours apart (so many pairs overlap), some far away and some on :45 offsets.
_MEDIUM_ZONES = ZONES[:3] * 3 + ZONES[3:]


def medium_cohort(n: int, either_share: float, seed: int) -> tuple[list[Participant], list[Edge], list[Edge]]:
    """A random cohort with every feature the engine handles, plus history and exclusions."""
    rng = random.Random(seed)
    skills = [f"skill{i}" for i in range(14)]
    ids = [f"u{i:04d}" for i in range(n)]
    people = []
    for i, pid in enumerate(ids):
        windows = []
        for day in rng.sample(range(7), rng.randint(2, 5)):
            start = rng.randrange(6 * 4, 16 * 4) * 15
            end = min(start + rng.choice([60, 120, 180, 240, 480]), 24 * 60)
            end_text = "24:00" if end == 24 * 60 else f"{end // 60:02d}:{end % 60:02d}"
            windows.append(AvailabilityWindow(day, f"{start // 60:02d}:{start % 60:02d}", end_text))
        r = rng.random()
        role = (
            "either"
            if r < either_share
            else ("mentor" if r < either_share + (1 - either_share) / 2 else "mentee")
        )
        people.append(
            person(
                pid,
                role,
                rng.randrange(0, 7),
                department=rng.choice(["Eng", "Sales", "HR", "Ops"]),
                manager_id=ids[rng.randrange(0, i)] if i and rng.random() < 0.7 else None,
                region=rng.choice(["EMEA", "APAC", "AMER"]),
                languages=set(rng.sample(["en", "de", "ja"], rng.choice([1, 2]))),
                time_zone=rng.choice(_MEDIUM_ZONES),
                availability=tuple(windows),
                skills_to_share=set(rng.sample(skills, rng.randint(0, 4))),
                skills_to_learn=set(rng.sample(skills, rng.randint(0, 3))),
                capacity=rng.randint(1, 3),
                blocked_partner_ids={rng.choice(ids)} if rng.random() < 0.05 else set(),
                requested_partner_ids={rng.choice(ids)} if rng.random() < 0.08 else set(),
            )
        )
    history = [(rng.choice(ids), rng.choice(ids)) for _ in range(n // 8)]
    excluded = [(rng.choice(ids), rng.choice(ids)) for _ in range(n // 20)]
    meet = random.Random(seed ^ 0x6D656574)  # its own generator: the rest is as the seed gave before
    people = [dataclasses.replace(p, meeting_preference=meet.choice(MEETINGS)) for p in people]
    return people, history, excluded


@settings(max_examples=3, **_MEDIUM)
@example(n=400, either_share=0.4, seed=1)  # the heaviest case, always run
@example(n=300, either_share=0.25, seed=7)
@given(
    n=st.integers(150, 400),
    either_share=st.sampled_from([0.0, 0.1, 0.25, 0.4]),
    seed=st.integers(0, 2**32 - 1),
)
def test_certificate_holds_against_a_mip_of_every_pair_on_medium_cohorts(
    n: int, either_share: float, seed: int
) -> None:
    people, history, excluded = medium_cohort(n, either_share, seed)
    policy = MatchingPolicy()
    result = run_matching(people, policy, history=history, excluded_pairs=excluded)
    assert_valid(result, people, policy, history=history, excluded=excluded)
    oracle = _Oracle(people, policy, history=history, excluded=excluded)
    edges = oracle.edges()
    oracle.check_against_pair_violations(edges, 25, seed)
    optimum = mip_optimum(people, edges, oracle.capacity)
    assert_certificate(result, optimum, oracle)
    assert result.stats.certified_gap <= 0.001, result.stats
    assert improving_pairs(result, oracle) == []


# A mentee's first scans keep only its SCAN_CAPS best pairs (by bound) and bound the rest
# (``Priced.unseen``). Cohorts this small never reach the real caps (64, 256, 1024); with caps of
# 1, 2 and 3 (three levels, as in production) they bind for almost every mentee, so the bound, the
# exhaustive last round and the rescans at every level run.


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(SMALL_KINDS), seed=st.integers(0, 2**32 - 1))
def test_certificate_holds_when_the_pool_cap_binds_on_small_cohorts(kind: str, seed: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pricing, "SCAN_CAPS", (1, 2, 3))
        test_certificate_holds_against_brute_force_on_small_cohorts.hypothesis.inner_test(kind, seed)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("n", "either_share", "seed"), [(300, 0.25, 7), (250, 0.0, 3)])
def test_certificate_holds_when_the_pool_cap_binds_on_medium_cohorts(
    n: int, either_share: float, seed: int
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pricing, "SCAN_CAPS", (2, 4, 8))
        test_certificate_holds_against_a_mip_of_every_pair_on_medium_cohorts.hypothesis.inner_test(  # type: ignore[attr-defined]
            n, either_share, seed
        )


# With "either" people column generation stops once a round's certified bound is within
# solver.GAP_TOLERANCE of the LP value. At the real tolerance (3e-4) these small cohorts mostly
# converge before it matters; a looser one makes the early stop happen, and the certificate must
# still hold.
# (Seed 11, not 7, since the cohorts have meeting preferences: (300, 0.25, 7) now converges in
# three rounds at either tolerance, so it no longer stops early.)


@pytest.mark.parametrize(("n", "either_share", "seed"), [(400, 0.4, 1), (300, 0.25, 11)])
def test_certificate_holds_when_column_generation_stops_within_the_gap_tolerance(
    n: int, either_share: float, seed: int
) -> None:
    people, history, excluded = medium_cohort(n, either_share, seed)
    policy = MatchingPolicy()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(solver, "GAP_TOLERANCE", 0.0)
        converged = run_matching(people, policy, history=history, excluded_pairs=excluded)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(solver, "GAP_TOLERANCE", 5e-4)
        early = run_matching(people, policy, history=history, excluded_pairs=excluded)
    assert early.stats.pricing_rounds < converged.stats.pricing_rounds, (early.stats, converged.stats)
    assert_valid(early, people, policy, history=history, excluded=excluded)
    oracle = _Oracle(people, policy, history=history, excluded=excluded)
    optimum = mip_optimum(people, oracle.edges(), oracle.capacity)
    assert_certificate(early, optimum, oracle)
    assert early.stats.certified_gap <= 0.001, early.stats


# --- 3. the pricing is exhaustive: no free feasible pair is left out -----------------------------


def improving_pairs(result: MatchResult, oracle: _Oracle) -> list[Edge]:
    """Feasible pairs between an unmatched person who may be mentored and a mentor with a free
    place who is not a mentee: adding one would raise the score (every pair weighs >= 1 unit)."""
    load: dict[str, int] = {}
    mentees: set[str] = set()
    for pair in result.pairs:
        load[pair.mentor_id] = load.get(pair.mentor_id, 0) + 1
        mentees.add(pair.mentee_id)
    free_mentors = [
        p for p in oracle.people if p.id not in mentees and load.get(p.id, 0) < oracle.capacity[p.id]
    ]
    free_mentees = [p for p in oracle.people if p.can_be_mentee and p.id not in mentees and p.id not in load]
    return [(m.id, e.id) for m in free_mentors for e in free_mentees if oracle.feasible(m, e)]


@settings(max_examples=6, **_MEDIUM)
@given(
    n=st.integers(40, 300),
    either_share=st.sampled_from([0.0, 0.2, 0.5, 0.9]),
    seed=st.integers(0, 2**32 - 1),
    programme=st.sampled_from(_PROGRAMMES),
    min_overlap=st.sampled_from([0.5, 1.0, 2.0]),
    cap=st.integers(1, 3),
)
def test_no_free_feasible_pair_is_left_out(
    n: int,
    either_share: float,
    seed: int,
    programme: tuple[date | None, date | None],
    min_overlap: float,
    cap: int,
) -> None:
    people, history, excluded = medium_cohort(n, either_share, seed)
    policy = MatchingPolicy(
        min_overlap_hours=min_overlap,
        max_mentees_per_mentor=cap,
        programme_start=programme[0],
        programme_end=programme[1],
    )
    result = run_matching(people, policy, history=history, excluded_pairs=excluded)
    oracle = _Oracle(people, policy, history=history, excluded=excluded)
    assert improving_pairs(result, oracle) == [], result.stats


# --- 4. determinism: the input order does not matter ---------------------------------------------


def _without_timings(result: MatchResult) -> MatchResult:
    return dataclasses.replace(result, stats=dataclasses.replace(result.stats, timings_s={}))


@settings(max_examples=4, **_MEDIUM)
@given(
    n=st.integers(20, 250),
    either_share=st.sampled_from([0.0, 0.3, 0.6]),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_shuffled_input_gives_the_same_pairs_and_stats(
    n: int, either_share: float, seed: int, data: st.DataObject
) -> None:
    people, history, excluded = medium_cohort(n, either_share, seed)
    policy = MatchingPolicy()
    first = run_matching(people, policy, history=history, excluded_pairs=excluded)
    shuffled = data.draw(st.permutations(people))
    again = run_matching(
        shuffled,
        policy,
        history=data.draw(st.permutations(history)),
        excluded_pairs=[(b, a) for a, b in data.draw(st.permutations(excluded))],
    )
    assert _without_timings(again) == _without_timings(first)
    assert first.stats.timings_s.keys() == again.stats.timings_s.keys()


@pytest.mark.parametrize(("n", "either_share", "seed"), [(300, 0.3, 5), (250, 0.0, 9)])
def test_exact_checks_in_parallel_slices_give_the_same_pairs_and_stats(
    n: int, either_share: float, seed: int
) -> None:
    """The pricing scan checks its survivors in slices on two threads: tiny slices (many of
    them, run concurrently) must give exactly what one thread and one slice give."""
    people, history, excluded = medium_cohort(n, either_share, seed)
    policy = MatchingPolicy()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pricing, "EXACT_THREADS", 1)
        mp.setattr(pricing, "EXACT_CHUNK", 1 << 30)
        serial = run_matching(people, policy, history=history, excluded_pairs=excluded)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pricing, "EXACT_CHUNK", 97)
        sliced = run_matching(people, policy, history=history, excluded_pairs=excluded)
    assert _without_timings(sliced) == _without_timings(serial)
