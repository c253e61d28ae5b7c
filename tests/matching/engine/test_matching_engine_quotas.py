"""Quotas (issue 12 item 5): never broken, priced, and exact on small instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching_engine_support import assert_valid, random_population
from test_matching_engine_properties import populations

from bridge_matching.domain.engine import MatchingPolicy, QuotaInfeasibleError, run_matching
from bridge_matching.domain.engine.constraints import pair_violations
from bridge_matching.domain.engine.index import PopulationIndex
from bridge_matching.domain.engine.scoring import score


def _quota_policy(
    cross: float | None, dept: float | None, caps: tuple[tuple[str, int], ...]
) -> MatchingPolicy:
    return MatchingPolicy(
        min_overlap_hours=0.5,
        min_cross_region_share=cross,
        max_same_department_share=dept,
        region_mentor_caps=caps,
    )


def _check_quotas(
    result_pairs: list[tuple[str, str]], people: dict[str, object], policy: MatchingPolicy
) -> None:
    if not result_pairs:
        return
    region = {pid: p.region for pid, p in people.items()}  # type: ignore[attr-defined]
    dept = {pid: p.department for pid, p in people.items()}  # type: ignore[attr-defined]
    n = len(result_pairs)
    if policy.min_cross_region_share is not None:
        cross = sum(region[m] != region[e] for m, e in result_pairs)
        assert cross >= policy.min_cross_region_share * n - 1e-9, (cross, n)
    if policy.max_same_department_share is not None:
        same = sum(dept[m] == dept[e] for m, e in result_pairs)
        assert same <= policy.max_same_department_share * n + 1e-9, (same, n)
    for reg, cap in policy.region_mentor_caps:
        assert sum(region[m] == reg for m, _ in result_pairs) <= cap


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10_000),
    st.sampled_from([None, 0.3, 0.6, 0.9]),
    st.sampled_from([None, 0.0, 0.2]),
    st.sampled_from([(), (("EMEA", 3),), (("AMER", 0), ("APAC", 5))]),
)
def test_quotas_are_never_broken_and_cost_at_most_what_they_report(
    seed: int, cross: float | None, dept: float | None, caps: tuple[tuple[str, int], ...]
) -> None:
    people = random_population(60, seed)
    policy = _quota_policy(cross, dept, caps)
    free = run_matching(people, _quota_policy(None, None, ()))
    result = run_matching(people, policy)
    assert_valid(result, people, policy)
    by_id = {p.id: p for p in people}
    _check_quotas([(p.mentor_id, p.mentee_id) for p in result.pairs], by_id, policy)
    # A quota can only cost score, and the certificate still bounds the result.
    assert result.total_score <= free.total_score + 1e-6
    assert result.stats.upper_bound >= result.total_score - 1e-6
    assert result.stats.certified_gap <= 0.001
    named = {"min_cross_region_share"} if cross is not None else set()
    named |= {"max_same_department_share"} if dept is not None else set()
    named |= {f"region_mentor_cap:{r}" for r, _ in caps}
    assert set(result.stats.quota_costs) == named


def _brute_force_with_quotas(people: list, policy: MatchingPolicy) -> float:  # type: ignore[type-arg]
    """Best total over every set of feasible pairs (tiny instances): roles, capacity, quotas."""
    manager_of = {p.id: p.manager_id for p in people}
    by_id = {p.id: p for p in people}
    index = PopulationIndex(people, policy)
    edges = []
    for m, e in itertools.permutations(people, 2):
        if not pair_violations(m, e, policy, manager_of=manager_of):
            sc = score(index, np.array([index.pos[m.id]]), np.array([index.pos[e.id]]))
            edges.append((m.id, e.id, float(sc.total[0])))
    best = 0.0
    for k in range(len(edges) + 1):
        for chosen in itertools.combinations(edges, k):
            as_mentor: dict[str, int] = {}
            as_mentee: dict[str, int] = {}
            for m, e, _ in chosen:
                as_mentor[m] = as_mentor.get(m, 0) + 1
                as_mentee[e] = as_mentee.get(e, 0) + 1
            if any(v > 1 for v in as_mentee.values()):
                continue
            if any(p in as_mentee for p in as_mentor):
                continue
            cap = {p.id: min(p.capacity, policy.max_mentees_per_mentor) for p in people}
            if any(v > cap[m] for m, v in as_mentor.items()):
                continue
            try:
                _check_quotas([(m, e) for m, e, _ in chosen], by_id, policy)
            except AssertionError:
                continue
            best = max(best, sum(w for _, _, w in chosen))
    return best


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(populations(max_size=6), st.sampled_from([0.5, 1.0]), st.sampled_from([None, 0.5]))
def test_small_instances_with_quotas_are_proven_optimal(
    people: list, cross: float, dept: float | None
) -> None:  # type: ignore[type-arg]
    policy = MatchingPolicy(
        min_overlap_hours=0.5, min_cross_region_share=cross, max_same_department_share=dept
    )
    try:
        result = run_matching(people, policy)
    except QuotaInfeasibleError:
        pytest.fail("with no pinned pairs, pairing nobody always meets the quotas")
    best = _brute_force_with_quotas(people, policy)
    assert result.total_score == pytest.approx(best, abs=1e-6)
    assert result.stats.proven_optimal


def test_unmatched_reasons_name_the_quota_at_its_limit() -> None:
    """A person left out while a compatible partner had room says which quota is at its limit."""
    people = random_population(120, 3)
    by_id = {p.id: p for p in people}
    capped = run_matching(people, _quota_policy(None, None, (("EMEA", 2),)))
    assert sum(by_id[p.mentor_id].region == "EMEA" for p in capped.pairs) == 2, "the cap binds"
    left_out = [u for u in capped.unmatched if "not_selected" in u.reason_code]
    assert left_out, "someone compatible with a free EMEA mentor is left out"
    for u in left_out:
        assert "mentors in EMEA have their cap of 2 mentees in all" in u.reason, u.reason
    free = run_matching(people, _quota_policy(None, None, ()))
    assert not any("quota" in u.reason for u in free.unmatched)
