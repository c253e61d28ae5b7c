"""The circle engine (issue 15, item 2): a small cohort's circle and its explanation, the weekly slot
across daylight-saving changes, a plain reason for each way of being left out, HR's pins, policy
validation and determinism. Pure domain code: no database or broker.

The property tests (every hard rule, for random cohorts) are in test_circle_engine_properties.py.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bridge_matching.domain.circles import CirclePolicy, CircleResult, PinnedCircle, form_circles
from bridge_matching.domain.circles.constraints import circle_violations
from bridge_matching.domain.circles.scoring import mix_score
from bridge_matching.domain.circles.slots import common_slot_minutes, longest_run, run_starts
from bridge_matching.domain.engine import AvailabilityWindow, Participant
from bridge_matching.domain.engine.explain import explaining

W = AvailabilityWindow
OFFICE = tuple(W(d, "09:00", "17:00") for d in range(5))
# January and February: no daylight-saving change anywhere in the northern hemisphere.
WINTER = CirclePolicy(
    min_size=4,
    max_size=6,
    min_juniors=2,
    min_seniors=1,
    programme_start=date(2026, 1, 5),
    programme_end=date(2026, 2, 27),
)


def person(
    pid: str,
    level: int,
    *,
    name: str | None = None,
    languages: tuple[str, ...] = ("en",),
    zone: str = "Europe/London",
    availability: tuple[AvailabilityWindow, ...] = OFFICE,
    department: str = "Eng",
    region: str = "EMEA",
    manager: str | None = None,
    share: tuple[str, ...] = (),
    learn: tuple[str, ...] = (),
    blocked: tuple[str, ...] = (),
) -> Participant:
    return Participant(
        pid,
        "either",
        level,
        department,
        manager,
        region,
        frozenset(languages),
        zone,
        availability,
        frozenset(share),
        frozenset(learn),
        blocked_partner_ids=frozenset(blocked),
        display_name=name,
    )


def form(
    people: list[Participant],
    policy: CirclePolicy = WINTER,
    *,
    eligible: frozenset[str] | None = None,
    pinned: tuple[PinnedCircle, ...] = (),
    excluded: frozenset[str] = frozenset(),
    seed: int = 0,
) -> CircleResult:
    if eligible is None:
        eligible = frozenset(p.id for p in people if p.seniority >= policy.senior_min_level)
    return form_circles(
        people,
        policy,
        facilitator_eligible=eligible,
        manager_of={p.id: p.manager_id for p in people},
        pinned=pinned,
        excluded=excluded,
        seed=seed,
    )


def team() -> list[Participant]:
    """Two juniors who share digital skills and want leadership ones, two seniors the other way
    round, one in between; four departments, two regions, all in London office hours."""
    return [
        person(
            "ana",
            2,
            name="Ana Lima",
            department="Marketing",
            share=("TikTok", "Generative AI"),
            learn=("Negotiation",),
        ),
        person(
            "ben", 3, name="Ben Okafor", department="Sales", share=("Generative AI",), learn=("Budgeting",)
        ),
        person(
            "dee",
            12,
            name="Dee Park",
            department="Finance",
            region="AMER",
            share=("Negotiation", "Budgeting"),
            learn=("TikTok",),
        ),
        person(
            "eve", 9, name="Eve Stone", department="Finance", share=("Negotiation",), learn=("Generative AI",)
        ),
        person("oli", 6, name="Oli Brandt", department="Eng", learn=("Budgeting",)),
    ]


def test_a_small_cohort_forms_one_circle_that_says_why() -> None:
    result = form(team(), eligible=frozenset({"dee", "eve"}))
    assert result.left_out == ()
    (circle,) = result.circles
    assert set(circle.member_ids) == {"ana", "ben", "dee", "eve", "oli"}
    assert circle.hard_violations == () and not circle.pinned
    # The most senior eligible member facilitates, and the explanation says so.
    assert circle.facilitator_id == "dee"
    assert "Facilitator: Dee Park, facilitator-eligible and the most senior of the 2 eligible members" in (
        circle.explanation
    )
    assert circle.language == "en" and "everyone speaks English" in circle.explanation
    # London office hours in January are 09:00-17:00 UTC: Monday is the earliest of the longest.
    assert circle.weekly_slot == (0, 9 * 60, 8 * 60)
    assert "Monday 09:00-17:00 UTC (09:00 in Europe/London)" in circle.explanation
    assert "when all are free in every week of the programme" in circle.explanation
    # Who teaches what to whom, both ways between the generations.
    text = circle.explanation
    assert "Ana Lima teaches Dee Park 'TikTok', Eve Stone 'Generative AI'" in text
    assert "Dee Park teaches Ana Lima 'Negotiation', Ben Okafor 'Budgeting', Oli Brandt 'Budgeting'" in text
    assert "juniors teach seniors 3 skills, seniors teach juniors 3, 1 other exchange;" in text
    assert "5 of 5 learning wishes covered" in text
    assert (
        "2 juniors (Ana Lima, Ben Okafor), 2 seniors (Dee Park, Eve Stone) and 1 in between (Oli Brandt)"
        in text
    )
    assert "4 departments (Eng, Finance, Marketing, Sales) and 2 regions (AMER, EMEA)" in text
    # The score breakdown follows the documented formulas.
    score = circle.score
    assert score.mix == pytest.approx(mix_score(2, 2, 5), abs=1e-6)
    assert score.mix == pytest.approx(0.5 * (1.0 + 4 / 6), abs=1e-6)
    assert score.skills == pytest.approx(1.0)
    assert score.department_spread == pytest.approx(4 / 4)
    assert score.region_spread == pytest.approx(2 / 2)
    weights = (
        WINTER.weight_mix,
        WINTER.weight_skills,
        WINTER.weight_department_spread,
        WINTER.weight_region_spread,
    )
    parts = (score.mix, score.skills, score.department_spread, score.region_spread)
    assert score.total == pytest.approx(sum(w * x for w, x in zip(weights, parts, strict=True)), abs=1e-5)


def test_explanations_name_languages_in_the_readers_locale() -> None:
    with explaining("de"):
        (circle,) = form(team()).circles
    assert "everyone speaks Englisch" in circle.explanation


def test_the_explanation_fits_the_events_limit() -> None:
    skills = tuple(f"skill number {i:03d} with a long name" for i in range(40))
    people = [person(f"j{i}", 2, share=skills, learn=skills) for i in range(10)]
    people += [person(f"s{i}", 10, share=skills, learn=skills) for i in range(10)]
    policy = CirclePolicy(min_size=12, max_size=20, min_juniors=2, min_seniors=2)
    (circle,) = form(people, policy).circles
    assert len(circle.explanation) <= 4000
    assert "more teacher(s)" in circle.explanation


def test_the_slot_holds_in_every_week_across_daylight_saving_changes() -> None:
    # London and New York office hours, March to May: New York moves its clocks on 8 March, London on
    # 29 March. 14:00-16:00 UTC is free for both in every week.
    people = [
        person("j1", 2),
        person("j2", 3, zone="America/New_York", region="AMER"),
        person("s1", 10, zone="America/New_York", region="AMER"),
        person("s2", 11),
    ]
    spring = CirclePolicy(
        min_size=4, max_size=4, min_juniors=2, min_seniors=1,
        programme_start=date(2026, 3, 2), programme_end=date(2026, 5, 29),
    )  # fmt: skip
    (circle,) = form(people, spring).circles
    assert circle.weekly_slot == (0, 14 * 60, 120)
    assert "09:00 in America/New_York, 14:00 in Europe/London" in circle.explanation
    # Three hours together every week exist (14-17, then 13-17, then 13-16 UTC), but at no single UTC
    # time: the circle forms, and the slot reported is the first week's, said to move.
    longer = CirclePolicy(
        min_size=4, max_size=4, min_juniors=2, min_seniors=1, min_common_minutes=180,
        programme_start=date(2026, 3, 2), programme_end=date(2026, 5, 29),
    )  # fmt: skip
    (circle,) = form(people, longer).circles
    assert circle.weekly_slot == (0, 14 * 60, 180)
    assert "daylight-saving changes move it in UTC" in circle.explanation
    # Four hours: the last weeks have only three.
    four = CirclePolicy(
        min_size=4, max_size=4, min_juniors=2, min_seniors=1, min_common_minutes=240,
        programme_start=date(2026, 3, 2), programme_end=date(2026, 5, 29),
    )  # fmt: skip
    result = form(people, four)
    assert result.circles == ()
    assert {x.reason_code for x in result.left_out} == {"availability"}


def _reasons(result: CircleResult) -> dict[str, tuple[str, str]]:
    return {x.participant_id: (x.reason_code, x.reason) for x in result.left_out}


def _circle_of_four(prefix: str = "") -> list[Participant]:
    return [
        person(f"{prefix}j1", 2),
        person(f"{prefix}j2", 3),
        person(f"{prefix}o1", 6),
        person(f"{prefix}s1", 10),
    ]


def test_someone_who_shares_no_language_with_enough_others_is_told_so() -> None:
    people = [*_circle_of_four(), person("yuki", 3, name="Yuki Sato", languages=("ja",))]
    code, text = _reasons(form(people))["yuki"]
    assert code == "language"
    assert text == "no other participant speaks Japanese; a circle needs 4 members who share one language"


def test_someone_whose_own_windows_are_too_short_is_told_so() -> None:
    short = (W(0, "09:00", "09:30"), W(2, "10:00", "10:45"))
    people = [*_circle_of_four(), person("max", 3, name="Max", availability=short)]
    code, text = _reasons(form(people))["max"]
    assert code == "availability"
    assert text == (
        "Max is never free for 60 minutes in a row; a circle meets for at least 60 minutes in every week of "
        "the programme"
    )


def test_someone_free_at_other_times_than_everyone_is_told_so() -> None:
    evenings = (W(1, "19:00", "21:00"),)
    people = [*_circle_of_four(), person("kim", 3, name="Kim", availability=evenings)]
    code, text = _reasons(form(people))["kim"]
    assert code == "availability"
    assert text == (
        "4 other people speak English, but none of the 4 is free for the same 60 minutes as Kim in every "
        "week of the programme; a circle needs 4 members with a common weekly slot"
    )


def test_a_manager_among_their_own_reports_is_told_so() -> None:
    boss = person("boss", 12, name="Boss")
    reports = [person(f"r{i}", 2 + i % 2, manager="boss") for i in range(4)]
    result = form([boss, *reports], CirclePolicy(min_size=4, max_size=6, min_juniors=2, min_seniors=1))
    code, text = _reasons(result)["boss"]
    assert code == "management"
    assert text == (
        "4 people share a language and a weekly slot with Boss, but 4 of them are in Boss's reporting line "
        "(within 2 levels); the 0 left are too few for a circle"
    )
    # The reports are still a circle's worth of people, but without a senior.
    assert {c for c, _ in (_reasons(result)[f"r{i}"] for i in range(4))} == {"seniors"}


def test_blocks_are_a_reason_too() -> None:
    people = [*_circle_of_four(), person("j3", 2, name="Jo", blocked=("j1", "j2", "o1", "s1"))]
    result = form(people)
    code, text = _reasons(result)["j3"]
    assert code == "blocked"
    assert "but Jo blocked or was blocked by 4 of them; the 0 left are too few for a circle" in text


def test_missing_seniors_juniors_or_facilitators_are_each_a_reason() -> None:
    juniors_only = [person(f"j{i}", 2) for i in range(5)]
    assert {c for c, _ in _reasons(form(juniors_only)).values()} == {"seniors"}
    seniors_only = [person(f"s{i}", 10) for i in range(5)]
    assert {c for c, _ in _reasons(form(seniors_only)).values()} == {"juniors"}
    nobody_eligible = form(_circle_of_four(), eligible=frozenset())
    reasons = _reasons(nobody_eligible)
    assert {c for c, _ in reasons.values()} == {"facilitator"}
    assert reasons["j1"][1] == (
        "3 people outside j1's reporting line share a language and a weekly slot with j1; none of them, nor "
        "j1, can facilitate a circle"
    )
    assert _reasons(form(seniors_only))["s0"][1] == (
        "4 people outside s0's reporting line share a language and a weekly slot with s0; counting s0, "
        "none is a junior (level 4 or below), and a circle needs 2"
    )


def test_someone_compatible_but_not_placed_is_told_what_is_left() -> None:
    people = [*_circle_of_four(), person("j3", 2), person("j4", 3), person("o2", 5)]
    result = form(people)  # 7 people, circles of 4 to 6: one circle, one person left
    (circle,) = result.circles
    assert len(circle.member_ids) == 6
    ((pid, (code, text)),) = _reasons(result).items()
    assert code == "not_selected"
    assert text == (
        f"6 people outside {pid}'s reporting line share a language and a weekly slot with {pid}; all of them "
        f"are in circles that are full or would clash with {pid}, and nobody compatible is left to start "
        "another circle"
    )


def test_the_excluded_are_left_out_as_excluded() -> None:
    result = form(team(), excluded=frozenset({"oli"}))
    assert _reasons(result) == {
        "oli": ("excluded", "Oli Brandt is excluded from circle formation in this run")
    }
    assert "oli" not in result.circles[0].member_ids


def test_pinned_members_stay_together_and_the_engine_completes_them() -> None:
    people = [*_circle_of_four("a"), *_circle_of_four("b")]
    result = form(people, pinned=(PinnedCircle(("aj1", "bs1")),))
    pinned = [c for c in result.circles if c.pinned]
    assert len(pinned) == 1
    assert {"aj1", "bs1"} <= set(pinned[0].member_ids)
    assert len(pinned[0].member_ids) >= WINTER.min_size
    assert pinned[0].hard_violations == ()
    assert "Pinned by HR." in pinned[0].explanation
    placed = [m for c in result.circles for m in c.member_ids]
    assert len(placed) == len(set(placed))


def test_a_pin_that_breaks_a_rule_is_kept_and_says_so() -> None:
    people = [*_circle_of_four(), person("yuki", 10, name="Yuki Sato", languages=("ja",))]
    pin = PinnedCircle(("j1", "j2", "o1", "yuki"), facilitator_id="yuki")
    result = form(people, pinned=(pin,))
    (circle,) = [c for c in result.circles if c.pinned]
    assert set(circle.member_ids) == {"j1", "j2", "o1", "yuki"}
    assert circle.hard_violations == ("language",)
    assert circle.facilitator_id == "yuki"  # named by HR: need not be eligible
    assert "Facilitator: Yuki Sato, named by HR." in circle.explanation
    assert "HR's pin breaks the rules: no language that every member speaks." in circle.explanation
    assert "Language: none that every member speaks; English is spoken by 3 of 4." in circle.explanation
    oracle = circle_violations(
        [p for p in people if p.id in circle.member_ids],
        WINTER,
        facilitator_id=circle.facilitator_id,
        facilitator_eligible=frozenset(),
        named_by_hr=True,
        manager_of={},
    )
    assert [v.code for v in oracle] == ["language"]


def test_a_pin_without_anyone_who_may_facilitate_is_flagged() -> None:
    people = _circle_of_four()
    result = form(people, eligible=frozenset(), pinned=(PinnedCircle(("j1", "j2", "o1", "s1")),))
    (circle,) = result.circles
    assert circle.hard_violations == ("facilitator",)
    assert circle.facilitator_id == "s1"  # the most senior member, proposed
    assert "no member is facilitator-eligible" in circle.explanation


def test_a_pinned_person_who_is_excluded_is_left_out_and_the_pin_goes_on() -> None:
    people = [*_circle_of_four(), person("j3", 2)]
    result = form(people, pinned=(PinnedCircle(("j1", "j3", "s1")),), excluded=frozenset({"j3"}))
    (circle,) = result.circles
    assert "j3" not in circle.member_ids and {"j1", "s1"} <= set(circle.member_ids)
    code, text = _reasons(result)["j3"]
    assert code == "excluded" and "HR's pin named them" in text
    assert "HR's pin also named 1 excluded participant(s), left out." in circle.explanation


def test_pins_must_name_known_people_once() -> None:
    with pytest.raises(ValueError, match="unknown participants: ghost"):
        form(team(), pinned=(PinnedCircle(("ana", "ghost")),))
    with pytest.raises(ValueError, match="pinned to two circles: ana"):
        form(team(), pinned=(PinnedCircle(("ana", "ben")), PinnedCircle(("ana", "dee"))))
    with pytest.raises(ValueError, match="appears twice"):
        form([*team(), team()[0]])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_size": 1},
        {"min_size": 6, "max_size": 5},
        {"max_size": 21},
        {"min_juniors": 5, "min_seniors": 4},
        {"junior_max_level": 8, "senior_min_level": 8},
        {"min_common_minutes": -1},
        {"weight_skills": -0.1},
        {"programme_start": date(2026, 5, 1), "programme_end": date(2026, 4, 1)},
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (each case has its own message)
        CirclePolicy(**kwargs)  # type: ignore[arg-type]


def test_generations_come_from_levels() -> None:
    policy = CirclePolicy()
    assert [policy.generation(level) for level in (1, 4, 5, 7, 8, 15)] == [
        "junior", "junior", "other", "other", "senior", "senior",
    ]  # fmt: skip


def _population(n: int, seed: int) -> list[Participant]:
    rng = random.Random(seed)
    zones = ("Europe/London", "Europe/Berlin", "America/New_York")
    skills = ("ai", "sql", "sales", "budgets", "tiktok", "negotiation")
    people = []
    for i in range(n):
        start = rng.choice((8, 9, 10, 11))
        days = rng.sample(range(5), rng.randint(2, 5))
        people.append(
            person(
                f"p{i:03d}",
                rng.choice((1, 2, 3, 4, 4, 6, 8, 10, 12)),
                languages=tuple(rng.sample(("en", "de"), rng.randint(1, 2)))
                if rng.random() < 0.3
                else ("en",),
                zone=rng.choice(zones),
                availability=tuple(
                    W(d, f"{start:02d}:00", f"{start + rng.randint(2, 8):02d}:00") for d in days
                ),
                department=rng.choice(("Eng", "Sales", "HR", "Finance")),
                region=rng.choice(("EMEA", "AMER")),
                manager=f"p{rng.randrange(i):03d}" if i and rng.random() < 0.5 else None,
                share=tuple(rng.sample(skills, rng.randint(0, 3))),
                learn=tuple(rng.sample(skills, rng.randint(0, 3))),
            )
        )
    return people


def test_a_seed_gives_the_same_circles_whatever_the_input_order() -> None:
    people = _population(150, 3)
    first = form(people, CirclePolicy(), seed=5)
    shuffled = people[:]
    random.Random(1).shuffle(shuffled)
    again = form(shuffled, CirclePolicy(), seed=5)
    assert first.circles == again.circles
    assert first.left_out == again.left_out
    assert len(first.circles) > 5


def test_the_local_search_only_keeps_what_raises_the_total() -> None:
    result = form(_population(300, 4), CirclePolicy(), seed=2)
    stats = result.stats
    assert stats["local_moves"] > 0
    assert stats["local_gain"] > 0
    # The circles' scores (recomputed from scratch) are the constructed total plus the search's gains.
    assert stats["total_score"] == pytest.approx(stats["constructed_score"] + stats["local_gain"], abs=1e-3)
    assert stats["placed"] + stats["left_out"] == 300


def test_slot_helpers_handle_the_week_ring() -> None:
    ring = 0b1100_0011  # slots 0-1 and 6-7 of 8: one stretch of 4 over the end
    assert longest_run(ring, 8) == (6, 4)
    assert longest_run(0b0111_0110, 8) == (4, 3)
    assert longest_run(0, 8) == (0, 0) and longest_run(0xFF, 8) == (0, 8)
    import numpy as np

    free = np.array([[True, False, True, True, False, True]])
    assert run_starts(free, 2).tolist() == [[False, False, True, False, False, True]]  # 5 -> 0 wraps
    sunday_night = (W(6, "23:00", "24:00"), W(0, "00:00", "01:00"))
    members = [(sunday_night, "UTC"), (sunday_night, "UTC")]
    assert common_slot_minutes(members, (date(2026, 1, 5),)) == 120


def test_the_benchmark_runs_and_ends_with_its_json_line() -> None:
    """bench/matching/circles.py at a small size: both sides keep every rule (oracle re-check)."""
    script = Path(__file__).resolve().parents[2] / "bench" / "matching" / "circles.py"
    done = subprocess.run(
        [sys.executable, str(script), "--size", "400", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "matching_circles" and figures["size"] == 400
    assert figures["violations"] == {"engine": 0, "baseline": 0}
    assert figures["engine"]["circles"] > 0 and figures["baseline"]["circles"] > 0
    assert figures["engine"]["placed_share"] >= figures["baseline"]["placed_share"]


def test_a_pin_big_enough_but_without_juniors_gets_them() -> None:
    people = [*_circle_of_four("a"), *_circle_of_four("b"), person("o3", 6), person("o4", 7)]
    pin = PinnedCircle(("as1", "bs1", "o3", "o4"))  # four members, no junior
    result = form(people, pinned=(pin,))
    (home,) = [c for c in result.circles if c.pinned]
    assert {"as1", "bs1", "o3", "o4"} <= set(home.member_ids)
    assert home.hard_violations == ()
    assert sum(1 for m in home.member_ids if m.endswith(("j1", "j2"))) >= WINTER.min_juniors
