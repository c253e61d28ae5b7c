"""Reasons, pins/rematch, determinism, suggestions, chains, greedy baseline."""

from __future__ import annotations

import random

import numpy as np
import pytest
from matching_engine_support import W, assert_valid, person, random_population

from bridge_matching.domain.engine import (
    MatchingPolicy,
    Pair,
    Participant,
    ancestors,
    management_chains,
    prepare,
    run_matching,
    suggest,
)
from bridge_matching.domain.engine.greedy import greedy_bmatching
from bridge_matching.domain.engine.solver import max_weight_bmatching

POLICY = MatchingPolicy(min_overlap_hours=2)


def reasons(people: list[Participant], policy: MatchingPolicy = POLICY, **kw: object) -> dict[str, str]:
    result = run_matching(people, policy, **kw)  # type: ignore[arg-type]
    return {u.participant_id: u.reason_code for u in result.unmatched}


def test_reason_language() -> None:
    got = reasons([person("m", "mentor", 1), person("e", "mentee", 5, languages={"Japanese"})])
    assert got == {"m": "language", "e": "language"}


def test_reason_seniority() -> None:
    got = reasons([person("m", "mentor", 5), person("e", "mentee", 5)])
    assert got["e"] == "seniority"


def test_reason_region_policy() -> None:
    people = [person("m", "mentor", 1, region="APAC"), person("e", "mentee", 5)]
    got = reasons(people, MatchingPolicy(region_mode="same_region"))
    assert got["e"] == "region"
    assert reasons(people, MatchingPolicy(region_mode="any")) == {}


def test_reason_availability_mentions_threshold() -> None:
    people = [
        person("m", "mentor", 1, availability=(W(0, "09:00", "10:00"),)),
        person("e", "mentee", 5, availability=(W(0, "09:00", "11:00"),)),
    ]
    result = run_matching(people, POLICY)
    by_id = {u.participant_id: u for u in result.unmatched}
    assert by_id["e"].reason_code == "availability"
    assert by_id["e"].reason == (
        "1 mentor speaks English and is less senior; they do not have 2 h a week free at the same time"
        " as e (they have 1 h)"
    )


def test_reason_management_chain_and_blocks() -> None:
    chain = [person("m", "mentor", 1, manager_id="e"), person("e", "mentee", 5)]
    assert reasons(chain)["e"] == "management"
    blocked = [person("m", "mentor", 1, blocked_partner_ids={"e"}), person("e", "mentee", 5)]
    assert reasons(blocked)["e"] == "forbidden"
    history = [person("m", "mentor", 1), person("e", "mentee", 5)]
    assert reasons(history, history=[("m", "e")])["e"] == "forbidden"
    assert reasons(history, MatchingPolicy(allow_repeat_partners=True), history=[("m", "e")]) == {}


def test_reason_capacity() -> None:
    people = [
        person("m", "mentor", 1, capacity=1),
        person("a", "mentee", 5),
        person("b", "mentee", 5),
    ]
    got = reasons(people)
    assert list(got.values()) == ["capacity"]


def test_explanation_text() -> None:
    people = [
        person("a", "mentor", 1, display_name="Aiko", languages={"German", "English"},
               department="Sales", skills_to_share={"data storytelling"},
               skills_to_learn={"stakeholder management"}),
        person("l", "mentee", 6, display_name="Lars", languages={"German"},
               skills_to_share={"stakeholder management"}, skills_to_learn={"data storytelling"},
               time_zone="Europe/Berlin", availability=(W(0, "10:00", "16:30"),)),
    ]  # fmt: skip
    (pair,) = run_matching(people, POLICY).pairs
    assert pair.explanation == (
        "Aiko (mentor) teaches Lars 'data storytelling'; Lars teaches Aiko back 'stakeholder management'; "
        "both speak German; 6.5 h a week together; different departments (Sales / Eng)"
    )
    assert pair.breakdown.skills_mentor_to_mentee == 1.0
    assert pair.breakdown.skills_mentee_to_mentor == 1.0


def test_either_is_never_in_two_roles() -> None:
    # x would be the best mentor for a and the best mentee for b at the same time.
    people = [
        person("b", "mentor", 1, skills_to_share={"ai"}),
        person("x", "either", 3, skills_to_learn={"ai"}, skills_to_share={"sales"}),
        person("a", "mentee", 5, skills_to_learn={"sales"}),
    ]
    result = run_matching(people, POLICY)
    assert_valid(result, people, POLICY)
    assert len(result.pairs) == 1
    assert result.stats.proven_optimal


def test_rematch_keeps_fixed_pairs_and_respects_exclusions() -> None:
    people = random_population(120, seed=3)
    first = run_matching(people, POLICY)
    assert len(first.pairs) > 20
    fixed = [Pair(p.mentor_id, p.mentee_id) for p in first.pairs[:10]]
    declined = first.pairs[10]
    again = run_matching(people, POLICY, fixed_pairs=fixed, excluded_pairs=[declined])
    got = {(p.mentor_id, p.mentee_id): p for p in again.pairs}
    for f in fixed:
        assert got[(f.mentor_id, f.mentee_id)].origin == "fixed"
    assert (declined.mentor_id, declined.mentee_id) not in got
    assert (declined.mentee_id, declined.mentor_id) not in got
    assert_valid(again, people, POLICY, excluded=[(declined.mentor_id, declined.mentee_id)])


def test_pinned_pair_is_kept_even_if_it_breaks_rules() -> None:
    people = [person("m", "mentor", 9), person("e", "mentee", 1), person("x", "mentee", 5)]
    result = run_matching(people, POLICY, pinned_pairs=[("m", "e")])
    pinned = [p for p in result.pairs if p.origin == "pinned"]
    assert [(p.mentor_id, p.mentee_id) for p in pinned] == [("m", "e")]
    assert pinned[0].hard_violations == ("seniority",)
    # The pin consumed m's only slot.
    assert {u.participant_id: u.reason_code for u in result.unmatched}["x"] == "seniority"


def test_unknown_pinned_id_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown participant"):
        run_matching([person("m")], POLICY, pinned_pairs=[("m", "ghost")])


def test_deterministic_across_runs_and_input_order() -> None:
    people = random_population(300, seed=11)
    base = run_matching(people, POLICY)
    shuffled = people[:]
    random.Random(5).shuffle(shuffled)
    for again in (run_matching(people, POLICY), run_matching(shuffled, POLICY)):
        assert [(p.mentor_id, p.mentee_id, p.score) for p in again.pairs] == [
            (p.mentor_id, p.mentee_id, p.score) for p in base.pairs
        ]
        assert again.unmatched == base.unmatched


def test_medium_population_valid_and_not_worse_than_greedy() -> None:
    people = random_population(400, seed=2)
    result = run_matching(people, POLICY)
    assert_valid(result, people, POLICY)
    prep = prepare(people, POLICY)
    g = prep.graph
    w = g.cost_units()
    greedy = greedy_bmatching(g.mentors, g.mentees, w, prep.mentor_cap, prep.mentee_cap)
    greedy_score = float(g.scores.total[greedy].sum())
    assert result.total_score >= greedy_score - 1e-6
    assert result.stats.upper_bound >= result.total_score - 1e-6
    # Sparse graph: at most K per mentee plus per-mentor extras, never N x M.
    assert g.size <= len(people) * (POLICY.candidates_per_mentee + POLICY.candidates_per_mentor)


def test_flow_solver_beats_greedy_on_the_classic_trap() -> None:
    # Greedy takes the 10-edge (0->0) and strands mentee 1; optimum is 9 + 9.
    m = np.array([0, 0, 1])
    e = np.array([0, 1, 0])
    w = np.array([10, 9, 9], dtype=np.int64)
    cap = np.ones(2, dtype=np.int64)
    assert w[max_weight_bmatching(m, e, w, cap, cap)].sum() == 18
    assert w[greedy_bmatching(m, e, w, cap, cap)].sum() == 10


def test_suggest_returns_feasible_ranked_partners() -> None:
    people = [
        person("e", "mentee", 5, skills_to_learn={"ai"}),
        person("good", "mentor", 1, skills_to_share={"ai"}),
        person("ok", "mentor", 1),
        person("senior", "mentor", 7),
        person("full", "mentor", 1, skills_to_share={"ai"}),
    ]
    got = suggest("e", people, POLICY, k=5, current_pairs=[("full", "x")])
    assert [s.partner_id for s in got] == ["good", "ok"]
    assert got[0].score > got[1].score
    assert all(s.as_role == "mentor" for s in got)
    assert got[0].explanation.startswith("good (mentor) teaches e 'ai'")


def test_chains_are_depth_limited_and_survive_cycles() -> None:
    managers = {"a": "b", "b": "c", "c": "a", "d": "d", "e": "a"}
    assert ancestors("a", managers, 10) == ("b", "c")
    assert ancestors("d", managers, 5) == ()
    assert ancestors("e", managers, 2) == ("a", "b")
    assert management_chains(managers, 1)["c"] == ("a",)
