"""Property tests: hard constraints always hold, and small instances are optimal."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching_engine_support import MEETINGS, ZONES, assert_valid, brute_force_best, person

from bridge_matching.domain.engine import (
    AvailabilityWindow,
    MatchingPolicy,
    Participant,
    Weights,
    run_matching,
)


@st.composite
def windows(draw: st.DrawFn) -> tuple[AvailabilityWindow, ...]:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, 95)) * 15
        length = draw(st.sampled_from([30, 60, 120, 300, 600]))
        end = (start + length) % (24 * 60)
        out.append(
            AvailabilityWindow(
                draw(st.integers(0, 6)),
                f"{start // 60:02d}:{start % 60:02d}",
                f"{end // 60:02d}:{end % 60:02d}",
            )
        )
    return tuple(out)


@st.composite
def populations(draw: st.DrawFn, max_size: int) -> list[Participant]:
    n = draw(st.integers(2, max_size))
    ids = [f"p{i}" for i in range(n)]
    skills = ["ai", "sql", "sales", "budgets"]
    people = []
    for pid in ids:
        people.append(
            person(
                pid,
                draw(st.sampled_from(["mentor", "mentee", "either"])),
                draw(st.integers(0, 4)),
                department=draw(st.sampled_from(["Eng", "Sales"])),
                # Any id, including itself: cycles must not hang or crash.
                manager_id=draw(st.none() | st.sampled_from(ids)),
                region=draw(st.sampled_from(["EMEA", "APAC"])),
                languages=draw(st.sets(st.sampled_from(["en", "de", "ja"]), min_size=1)),
                time_zone=draw(st.sampled_from(ZONES)),
                availability=draw(windows()),
                skills_to_share=draw(st.sets(st.sampled_from(skills), max_size=2)),
                skills_to_learn=draw(st.sets(st.sampled_from(skills), max_size=2)),
                capacity=draw(st.integers(0, 3)),
                blocked_partner_ids=draw(st.sets(st.sampled_from(ids), max_size=1)),
                requested_partner_ids=draw(st.sets(st.sampled_from(ids), max_size=1)),
                meeting_preference=draw(st.sampled_from(MEETINGS)),
            )
        )
    return people


@st.composite
def policies(draw: st.DrawFn) -> MatchingPolicy:
    return MatchingPolicy(
        weights=draw(
            st.sampled_from([Weights(), Weights(meeting_preference=0.0), Weights(meeting_preference=3.0)])
        ),
        min_overlap_hours=draw(st.sampled_from([0.5, 1.0, 2.0])),
        region_mode=draw(st.sampled_from(["same_region", "cross_region", "any"])),
        max_mentees_per_mentor=draw(st.integers(1, 3)),
        management_exclusion_depth=draw(st.integers(0, 3)),
        allow_repeat_partners=draw(st.booleans()),
    )


def _history(people: list[Participant], data: st.DataObject) -> list[tuple[str, str]]:
    ids = [p.id for p in people]
    pairs = st.tuples(st.sampled_from(ids), st.sampled_from(ids))
    return data.draw(st.lists(pairs, max_size=3))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=populations(max_size=14), policy=policies(), data=st.data())
def test_no_pair_ever_breaks_a_hard_constraint(
    people: list[Participant], policy: MatchingPolicy, data: st.DataObject
) -> None:
    history = _history(people, data)
    result = run_matching(people, policy, history=history)
    assert_valid(result, people, policy, history=history)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=populations(max_size=7), policy=policies(), data=st.data())
def test_small_instances_match_brute_force_optimum(
    people: list[Participant], policy: MatchingPolicy, data: st.DataObject
) -> None:
    history = _history(people, data)
    result = run_matching(people, policy, history=history)
    best = brute_force_best(people, policy, history=history)
    assert abs(result.total_score - best) < 1e-4, (result.total_score, best)
    assert result.stats.proven_optimal
