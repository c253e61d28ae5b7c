"""Property tests of the circle engine (issue 15, item 2): for random cohorts and policies, no circle
the engine forms breaks a hard rule (checked with the scalar oracle, `circles.constraints`, which uses
intervals week by week and none of the engine's bitsets), nobody is in two circles, everybody is
placed or left out with a reason, HR's pins stay together and say what they break, and one seed
gives one result whatever the input order.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bridge_matching.domain.circles import CirclePolicy, CircleResult, PinnedCircle, form_circles
from bridge_matching.domain.circles.constraints import VIOLATION_CODES, circle_violations
from bridge_matching.domain.circles.prepare import build_cohort
from bridge_matching.domain.circles.slots import common_slot_minutes
from bridge_matching.domain.engine import AvailabilityWindow, Participant
from bridge_matching.domain.engine.availability import utc_intervals

# Mostly zones where circles can form, with their daylight-saving changes on different dates, and a
# few far away (and Chatham's quarter-hour offset).
ZONES = ("Europe/London", "Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata", "Pacific/Chatham")
LANGUAGES = ("en", "de", "ja")
SKILLS = ("ai", "sql", "sales", "budgets", "tiktok")
REASONS = {
    "excluded", "availability", "language", "management", "blocked", "juniors", "seniors", "facilitator",
    "not_selected",
}  # fmt: skip
PROGRAMMES = (
    (None, None),  # a year from the reference week: every change of every zone
    (date(2026, 3, 2), date(2026, 4, 17)),  # New York, then London and Berlin change
    (date(2026, 1, 5), date(2026, 1, 30)),
    (date(2026, 10, 19), None),
)


@st.composite
def windows(draw: st.DrawFn) -> tuple[AvailabilityWindow, ...]:
    if draw(st.integers(0, 9)) < 6:  # office hours, the common case
        start = draw(st.sampled_from((7, 8, 9, 10)))
        days = draw(st.sets(st.integers(0, 4), min_size=2, max_size=5))
        return tuple(AvailabilityWindow(d, f"{start:02d}:00", f"{start + 8:02d}:00") for d in sorted(days))
    out = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, 95)) * 15
        length = draw(st.sampled_from((30, 60, 120, 300, 600)))
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
def populations(draw: st.DrawFn, max_size: int = 40) -> list[Participant]:
    n = draw(st.integers(0, max_size))
    ids = [f"p{i:02d}" for i in range(n)]
    people = []
    for pid in ids:
        common = draw(st.integers(0, 9)) < 7
        people.append(
            Participant(
                pid,
                "either",
                draw(st.integers(1, 12)),
                draw(st.sampled_from(("Eng", "Sales", "HR"))),
                # Any id, itself included: cycles must not hang the chains.
                draw(st.none() | st.sampled_from(ids)),
                draw(st.sampled_from(("EMEA", "AMER"))),
                frozenset({"en"}) if common else draw(st.sets(st.sampled_from(LANGUAGES), max_size=2)),
                draw(st.sampled_from(ZONES[:2])) if common else draw(st.sampled_from(ZONES)),
                draw(windows()),
                draw(st.sets(st.sampled_from(SKILLS), max_size=2)),
                draw(st.sets(st.sampled_from(SKILLS), max_size=2)),
                blocked_partner_ids=draw(st.sets(st.sampled_from(ids), max_size=1)) if ids else frozenset(),
                display_name=draw(st.none() | st.just(f"Person {pid}")),
            )
        )
    return people


@st.composite
def policies(draw: st.DrawFn) -> CirclePolicy:
    low = draw(st.integers(2, 5))
    high = low + draw(st.integers(0, 3))
    juniors = draw(st.integers(0, 2))
    start, end = draw(st.sampled_from(PROGRAMMES))
    return CirclePolicy(
        min_size=low,
        max_size=high,
        min_juniors=juniors,
        min_seniors=min(draw(st.integers(0, 2)), high - juniors),
        junior_max_level=draw(st.sampled_from((3, 4))),
        senior_min_level=draw(st.sampled_from((7, 8))),
        min_common_minutes=draw(st.sampled_from((0, 30, 60, 90))),
        management_exclusion_depth=draw(st.integers(0, 3)),
        programme_start=start,
        programme_end=end,
        weight_skills=draw(st.sampled_from((0.0, 1.0, 3.0))),
    )


def _free_throughout(person: Participant, start: int, minutes: int, week: date) -> bool:
    """Whether ``person`` is free in [start, start + minutes) of ``week`` (UTC minutes, on the ring)."""
    week_minutes = 7 * 24 * 60
    need = [(start, min(start + minutes, week_minutes))]
    if start + minutes > week_minutes:
        need.append((0, start + minutes - week_minutes))
    free = utc_intervals(person.availability, person.time_zone, week)
    return all(any(s <= lo and hi <= e for s, e in free) for lo, hi in need)


def assert_valid(
    result: CircleResult,
    people: list[Participant],
    policy: CirclePolicy,
    eligible: frozenset[str],
    *,
    pinned: tuple[PinnedCircle, ...] = (),
    excluded: frozenset[str] = frozenset(),
) -> None:
    by_id = {p.id: p for p in people}
    chart = {p.id: p.manager_id for p in people}
    placed: list[str] = []
    for circle in result.circles:
        members = [by_id[m] for m in circle.member_ids]
        placed.extend(circle.member_ids)
        assert circle.facilitator_id in circle.member_ids
        assert len(circle.explanation) <= 4000
        pin = next((x for x in pinned if set(x.member_ids) - excluded <= set(circle.member_ids)), None)
        named = pin is not None and pin.facilitator_id is not None and pin.facilitator_id not in excluded
        found = circle_violations(
            members,
            policy,
            facilitator_id=circle.facilitator_id,
            facilitator_eligible=eligible,
            named_by_hr=named,
            manager_of=chart,
        )
        assert circle.hard_violations == tuple(dict.fromkeys(v.code for v in found))
        assert set(circle.hard_violations) <= set(VIOLATION_CODES)
        if not circle.pinned:
            assert found == [], (circle, found)  # the engine's own circles break nothing
            assert all(circle.language in p.languages for p in members)
            if policy.min_common_minutes:
                day, start, duration = circle.weekly_slot
                assert duration >= policy.min_common_minutes
                first = policy.programme_weeks()[0]
                need = policy.min_common_minutes
                assert all(_free_throughout(p, day * 24 * 60 + start, need, first) for p in members)
        assert not set(circle.member_ids) & excluded
    assert len(placed) == len(set(placed)), "someone is in two circles"
    left = [x.participant_id for x in result.left_out]
    assert len(left) == len(set(left))
    assert not set(left) & set(placed)
    assert set(left) | set(placed) == set(by_id), "everyone is placed or left out"
    for x in result.left_out:
        assert x.reason_code in REASONS and x.reason
        assert (x.reason_code == "excluded") == (x.participant_id in excluded)
    for pin in pinned:
        kept = set(pin.member_ids) - excluded
        if kept:
            homes = {c for c in result.circles if kept & set(c.member_ids)}
            assert len(homes) == 1, "pinned members stay together"
            (home,) = homes
            assert home.pinned and kept <= set(home.member_ids)
            if pin.facilitator_id is not None and pin.facilitator_id not in excluded:
                assert home.facilitator_id == pin.facilitator_id


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=populations(), policy=policies(), data=st.data())
def test_no_circle_ever_breaks_a_hard_rule(
    people: list[Participant], policy: CirclePolicy, data: st.DataObject
) -> None:
    ids = [p.id for p in people]
    eligible = frozenset(data.draw(st.sets(st.sampled_from(ids))) if ids else ())
    excluded = frozenset(data.draw(st.sets(st.sampled_from(ids), max_size=2)) if ids else ())
    seed = data.draw(st.integers(0, 3))
    result = form_circles(
        people,
        policy,
        facilitator_eligible=eligible,
        manager_of={p.id: p.manager_id for p in people},
        excluded=excluded,
        seed=seed,
    )
    assert_valid(result, people, policy, eligible, excluded=excluded)
    event(f"circles formed: {min(len(result.circles), 3)}{'+' if len(result.circles) >= 3 else ''}")
    # One seed, one result, whatever order the people come in.
    shuffled = people[:]
    random.Random(seed).shuffle(shuffled)
    again = form_circles(
        shuffled,
        policy,
        facilitator_eligible=eligible,
        manager_of={p.id: p.manager_id for p in people},
        excluded=excluded,
        seed=seed,
    )
    assert again.circles == result.circles
    assert again.left_out == result.left_out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=populations(max_size=30), policy=policies(), data=st.data())
def test_pins_stay_together_and_say_what_they_break(
    people: list[Participant], policy: CirclePolicy, data: st.DataObject
) -> None:
    ids = [p.id for p in people]
    free = ids[:]
    pinned: list[PinnedCircle] = []
    for _ in range(data.draw(st.integers(0, 2))):
        if len(free) < 2:
            break
        members = data.draw(
            st.lists(st.sampled_from(free), min_size=1, max_size=min(5, len(free)), unique=True)
        )
        facilitator = data.draw(st.none() | st.sampled_from(members))
        pinned.append(PinnedCircle(tuple(members), facilitator))
        free = [x for x in free if x not in members]
    eligible = frozenset(data.draw(st.sets(st.sampled_from(ids))) if ids else ())
    excluded = frozenset(data.draw(st.sets(st.sampled_from(ids), max_size=1)) if ids else ())
    result = form_circles(
        people,
        policy,
        facilitator_eligible=eligible,
        manager_of={p.id: p.manager_id for p in people},
        pinned=tuple(pinned),
        excluded=excluded,
        seed=1,
    )
    assert_valid(result, people, policy, eligible, pinned=tuple(pinned), excluded=excluded)
    event(f"pinned circles breaking a rule: {sum(1 for c in result.circles if c.hard_violations)}")
    event(f"engine's own circles: {min(sum(1 for c in result.circles if not c.pinned), 2)}")


@settings(max_examples=150, deadline=None)
@given(people=populations(max_size=6), policy=policies())
def test_the_engines_slot_test_agrees_with_the_interval_oracle(
    people: list[Participant], policy: CirclePolicy
) -> None:
    """The bitset path (run-start bits ANDed over the members, every distinct week) says a group has a
    common slot exactly when the interval path (every programme week, no deduplication) does."""
    if not people:
        return
    cohort = build_cohort(people, policy, facilitator_eligible=frozenset(), manager_of={})
    mask = -1
    for p in range(cohort.n):
        mask &= cohort.start_int[p]
    minutes = common_slot_minutes([(p.availability, p.time_zone) for p in people], policy.programme_weeks())
    assert cohort.feasible_starts(mask) == (minutes >= policy.min_common_minutes), minutes
    event(f"common slot: {minutes >= policy.min_common_minutes}")


def test_large_random_cohorts_keep_every_rule() -> None:
    """Seeded cohorts big enough for the construction's pools, the second round and the local search."""
    for seed in range(3):
        rng = random.Random(seed)
        ids = [f"q{i:03d}" for i in range(250)]
        people = []
        for i, pid in enumerate(ids):
            start = rng.choice((7, 8, 9, 10))
            zone = rng.choice(("Europe/London", "Europe/Berlin", "America/New_York", "Asia/Kolkata"))
            people.append(
                Participant(
                    pid,
                    "either",
                    rng.choice((1, 2, 3, 4, 4, 5, 7, 8, 9, 11)),
                    rng.choice(("Eng", "Sales", "HR", "Legal")),
                    ids[rng.randrange(i)] if i and rng.random() < 0.7 else None,
                    rng.choice(("EMEA", "AMER", "APAC")),
                    frozenset(rng.sample(LANGUAGES, rng.randint(1, 2)))
                    if rng.random() < 0.3
                    else frozenset({"en"}),
                    zone,
                    tuple(
                        AvailabilityWindow(d, f"{start:02d}:00", f"{start + rng.randint(1, 8):02d}:00")
                        for d in rng.sample(range(5), rng.randint(1, 5))
                    ),
                    frozenset(rng.sample(SKILLS, rng.randint(0, 3))),
                    frozenset(rng.sample(SKILLS, rng.randint(0, 3))),
                    blocked_partner_ids=frozenset(rng.sample(ids, 1)) if rng.random() < 0.05 else frozenset(),
                )
            )
        eligible = frozenset(p.id for p in people if rng.random() < 0.4)
        start = date(2026, 3, 2) + timedelta(weeks=seed)
        policy = CirclePolicy(programme_start=start, programme_end=start + timedelta(weeks=10))
        result = form_circles(
            people,
            policy,
            facilitator_eligible=eligible,
            manager_of={p.id: p.manager_id for p in people},
            seed=seed,
        )
        assert len(result.circles) >= 10
        assert_valid(result, people, policy, eligible)
