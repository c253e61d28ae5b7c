"""The meeting preference (issue 16, item 7): a weighted soft criterion, never a hard rule.

A pair whose preferences are compatible (the same, or one of the two says "either") earns
``Weights.meeting_preference``; in person with video earns nothing and stays feasible. The exact
score, the pricing kernel's bound (which must never be below it, or the certificate is wrong) and
the explanation all know the criterion.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching_engine_support import MEETINGS, ZONES, W, assert_valid, brute_force_best, person, ref_score

from bridge_matching.domain.engine import MatchingPolicy, Participant, Weights, run_matching, suggest
from bridge_matching.domain.engine.explain import Wording, describe_pair
from bridge_matching.domain.engine.index import PopulationIndex
from bridge_matching.domain.engine.pricing import Pricer
from bridge_matching.domain.engine.scoring import COMPONENTS, feasible, score

POLICY = MatchingPolicy(max_mentees_per_mentor=1)


def _mentee(pref: str) -> Participant:
    return person("e", "mentee", 5, display_name="Eve Stone", meeting_preference=pref, department="Ops")


def _mentors(a_pref: str, b_pref: str) -> list[Participant]:
    # Two mentors alike in everything the score looks at but their meeting preference.
    return [
        person("a", "mentor", 1, display_name="Ana Lopez", meeting_preference=a_pref),
        person("b", "mentor", 1, display_name="Bo Chen", meeting_preference=b_pref),
    ]


@pytest.mark.parametrize(
    ("a_pref", "b_pref", "mentee_pref", "winner"),
    [
        ("in_person", "video", "video", "b"),
        ("video", "in_person", "video", "a"),  # the same, swapped: the preference decides, not the id
        ("in_person", "either", "video", "b"),  # "either" suits anyone
        ("either", "video", "in_person", "a"),
        ("in_person", "video", "in_person", "a"),
    ],
)
def test_the_meeting_preference_decides_between_otherwise_equal_partners(
    a_pref: str, b_pref: str, mentee_pref: str, winner: str
) -> None:
    people = [*_mentors(a_pref, b_pref), _mentee(mentee_pref)]
    result = run_matching(people, POLICY)
    assert [(p.mentor_id, p.mentee_id) for p in result.pairs] == [(winner, "e")]
    (pair,) = result.pairs
    assert pair.breakdown.meeting_preference == 1.0
    assert result.stats.proven_optimal
    # Switched off, nothing else tells the two mentors apart: they score the same.
    off = dataclasses.replace(POLICY, weights=Weights(meeting_preference=0.0))
    tie = suggest("e", people, off, k=2)
    assert len(tie) == 2 and tie[0].score == tie[1].score
    assert run_matching(people, off).total_score == tie[0].score
    # Suggestions rank the same way: the compatible mentor first, worth the weight more.
    got = suggest("e", people, POLICY, k=2)
    assert [s.partner_id for s in got] == [winner, "b" if winner == "a" else "a"]
    assert got[0].score - got[1].score == pytest.approx(POLICY.weights.meeting_preference)


def test_incompatible_preferences_never_rule_a_pair_out() -> None:
    people = [person("a", "mentor", 1, meeting_preference="in_person"), _mentee("video")]
    (pair,) = run_matching(people, POLICY).pairs
    assert (pair.mentor_id, pair.mentee_id) == ("a", "e")
    assert pair.breakdown.meeting_preference == 0.0
    compatible = run_matching([dataclasses.replace(people[0], meeting_preference="video"), people[1]], POLICY)
    assert compatible.pairs[0].score == pytest.approx(pair.score + POLICY.weights.meeting_preference)
    assert (
        suggest("e", people, POLICY)[0].breakdown.meeting_preference == 0.0
    )  # still suggested, scored lower


@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0, 4.0])
def test_the_score_adds_the_weight_for_compatible_preferences(weight: float) -> None:
    policy = MatchingPolicy(weights=Weights(meeting_preference=weight))
    for m_pref in MEETINGS:
        for e_pref in MEETINGS:
            mentor = person("m", "mentor", 1, meeting_preference=m_pref, skills_to_share={"ai"})
            mentee = person("e", "mentee", 3, meeting_preference=e_pref, skills_to_learn={"ai", "sql"})
            index = PopulationIndex([mentor, mentee], policy)
            sc = score(index, np.array([index.pos["m"]]), np.array([index.pos["e"]]))
            compatible = m_pref == e_pref or "either" in (m_pref, e_pref)
            assert sc.components[COMPONENTS.index("meeting_preference"), 0] == float(compatible)
            assert float(sc.total[0]) == pytest.approx(ref_score(mentor, mentee, policy))


def test_explanations_say_how_the_two_would_rather_meet() -> None:
    ana = person("a", "mentor", 1, display_name="Ana Lopez", department="Sales")
    raj = person("r", "mentee", 5, display_name="Raj Patel", department="Finance")

    def text(a_pref: str, r_pref: str) -> str:
        a = dataclasses.replace(ana, meeting_preference=a_pref)
        r = dataclasses.replace(raj, meeting_preference=r_pref)
        return describe_pair(a, r, 240, Wording())

    plain = (
        "Ana Lopez (mentor) mentors Raj Patel; both speak English; 4 h a week together; "
        "different departments (Sales / Finance)"
    )
    # Neither minds: nothing to say, the text is as it always was.
    assert text("either", "either") == plain
    assert text("video", "video") == plain + "; both prefer to meet by video"
    assert text("in_person", "in_person") == plain + "; both prefer to meet in person"
    assert text("in_person", "either") == plain + "; Ana prefers to meet in person, Raj does not mind"
    assert text("either", "video") == plain + "; Raj prefers to meet by video, Ana does not mind"
    assert (
        text("in_person", "video") == plain + "; different meeting preferences (Ana in person / Raj by video)"
    )
    # Before a request, which stays last.
    asked = dataclasses.replace(ana, meeting_preference="video", requested_partner_ids={"r"})
    assert describe_pair(
        asked, dataclasses.replace(raj, meeting_preference="video"), 240, Wording()
    ).endswith("; both prefer to meet by video; requested by Ana")


def test_the_engine_checks_the_preference() -> None:
    with pytest.raises(ValueError, match="meeting preference"):
        person("x", "mentor", 1, meeting_preference="telepathy")


# --- the pricing kernel's bound is never below the exact score ------------------------------------


# Local working hours, an evening past midnight, a short slot: overlaps from none to full.
_WINDOWS = [
    (W(0, "09:00", "17:00"), W(2, "09:00", "17:00")),
    (W(0, "13:00", "15:00"),),
    (W(4, "22:00", "02:00"), W(1, "07:30", "10:45")),
    tuple(W(d, "08:00", "12:00") for d in range(5)),
]


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[list[Participant], MatchingPolicy]:
    n = draw(st.integers(2, 12))
    ids = [f"p{i}" for i in range(n)]
    skills = ["ai", "SQL", "sql", "sales"]
    people = [
        person(
            pid,
            draw(st.sampled_from(["mentor", "mentee", "either"])),
            draw(st.integers(0, 4)),
            department=draw(st.sampled_from(["Eng", "Sales"])),
            region=draw(st.sampled_from(["EMEA", "APAC"])),
            languages=draw(st.sets(st.sampled_from(["en", "de"]), min_size=1)),
            time_zone=draw(st.sampled_from(ZONES)),
            availability=draw(st.sampled_from(_WINDOWS)),
            skills_to_share=draw(st.sets(st.sampled_from(skills), max_size=3)),
            skills_to_learn=draw(st.sets(st.sampled_from(skills), max_size=3)),
            requested_partner_ids=draw(st.sets(st.sampled_from(ids), max_size=1)),
            meeting_preference=draw(st.sampled_from(MEETINGS)),
        )
        for pid in ids
    ]
    weight = st.sampled_from([0.0, 0.25, 1.0, 2.0, 5.0])
    policy = MatchingPolicy(
        weights=Weights(*(draw(weight) for _ in range(6))),
        min_overlap_hours=draw(st.sampled_from([0.5, 1.0])),
        overlap_target_hours=draw(st.sampled_from([1.0, 4.0])),
        region_mode=draw(st.sampled_from(["any", "same_region", "cross_region"])),
        availability_mode=draw(st.sampled_from(["whole_programme", "typical_week"])),
    )
    return people, policy


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cohorts(), cap=st.sampled_from([0, 1]))
def test_the_scan_bound_is_never_below_the_exact_score(
    case: tuple[list[Participant], MatchingPolicy], cap: int
) -> None:
    """For every feasible pair, a scan of its mentee with the floor just under the pair's exact score
    (without the requested bonus, which the bound leaves out on purpose) must keep the pair: its
    bound is above the floor. With ``cap=1`` the scan keeps only the best bound and says what every
    pair it left out is under (``raised``): the pair is kept, or its exact score is under that."""
    people, policy = case
    index = PopulationIndex(people, policy)
    pricer = Pricer(index, index.can_mentor, index.can_mentee)
    mm, ee = (a.ravel().astype(np.intp) for a in np.meshgrid(np.arange(index.n), np.arange(index.n)))
    ok = feasible(index, mm, ee)
    mm, ee = mm[ok], ee[ok]
    sc = score(index, mm, ee)
    requested = COMPONENTS.index("requested_partner")
    exact = sc.total - policy.weights.requested_partner * sc.components[requested]
    for m, e, w in zip(mm.tolist(), ee.tolist(), exact.tolist(), strict=True):
        found_m, _, raised = pricer.bound_scan(np.array([e], dtype=np.intp), np.array([w - 1e-9]), cap=cap)
        assert m in found_m.tolist() or (cap and w <= raised[0] + 1e-9), (index.people[m], index.people[e], w)


def test_the_scan_bound_counts_the_meeting_preference() -> None:
    """A pair worth mostly its meeting preference: pruned if the bound left the term out."""
    policy = MatchingPolicy(weights=Weights(0.0, 0.0, 0.0, 0.0, 0.0, 3.0))
    people = [
        person("m", "mentor", 1, meeting_preference="video"),
        person("e", "mentee", 2, meeting_preference="either"),
    ]
    index = PopulationIndex(people, policy)
    pricer = Pricer(index, index.can_mentor, index.can_mentee)
    e = np.array([index.pos["e"]], dtype=np.intp)
    assert pricer.bound_scan(e, np.array([2.9]))[0].tolist() == [index.pos["m"]]
    assert pricer.bound_scan(e, np.array([3.0]))[0].tolist() == []  # and not above it: the bound is exact


# --- optimality with the criterion ------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefs=st.lists(st.sampled_from(MEETINGS), min_size=6, max_size=6), weight=st.sampled_from([0.5, 1.0, 3.0])
)
def test_small_cohorts_with_preferences_match_the_brute_force_optimum(
    prefs: list[str], weight: float
) -> None:
    roles = ["mentor", "mentor", "either", "either", "mentee", "mentee"]
    people = [
        person(f"p{i}", role, i, meeting_preference=pref, availability=(W(0, "09:00", "17:00"),))
        for i, (role, pref) in enumerate(zip(roles, prefs, strict=True))
    ]
    policy = MatchingPolicy(weights=Weights(meeting_preference=weight), max_mentees_per_mentor=2)
    result = run_matching(people, policy)
    assert_valid(result, people, policy)
    assert result.total_score == pytest.approx(brute_force_best(people, policy), abs=1e-4)
    assert result.stats.proven_optimal
