"""Issue 15: the rules a given circle is checked against after HR's edits and when a place is refilled
(domain/circle_rules.py, pure), the circle policy and formats (domain/policy.py, domain/cohort.py)."""

from __future__ import annotations

import random
from datetime import date

import pytest
from pydantic import ValidationError

from bridge_matching.domain import circle_rules
from bridge_matching.domain.circle_rules import (
    Scope,
    assess,
    best_refill,
    generation_of,
    slot_of,
    weekly_common,
)
from bridge_matching.domain.circles.constraints import circle_violations
from bridge_matching.domain.circles.model import CirclePolicy
from bridge_matching.domain.cohort import CohortIn
from bridge_matching.domain.engine import AvailabilityWindow, Participant
from bridge_matching.domain.policy import PolicyIn, policy_event_document, to_circle_policy

WEEK = tuple(AvailabilityWindow(d, "09:00", "17:00") for d in range(5))
POLICY = CirclePolicy(
    min_size=4,
    max_size=6,
    min_juniors=1,
    min_seniors=1,
    junior_max_level=4,
    senior_min_level=8,
    min_common_minutes=60,
    programme_start=date(2027, 2, 1),
    programme_end=date(2027, 7, 30),
)


def p(
    pid: str,
    level: int,
    *,
    langs: tuple[str, ...] = ("en",),
    tz: str = "Europe/London",
    windows: tuple[AvailabilityWindow, ...] = WEEK,
    manager: str | None = None,
    blocked: tuple[str, ...] = (),
    dept: str = "Sales",
    region: str = "EMEA",
    share: tuple[str, ...] = (),
    learn: tuple[str, ...] = (),
) -> Participant:
    return Participant(
        id=pid,
        role="either",
        seniority=level,
        department=dept,
        manager_id=manager,
        region=region,
        languages=frozenset(langs),
        time_zone=tz,
        availability=windows,
        skills_to_share=frozenset(share),
        skills_to_learn=frozenset(learn),
        blocked_partner_ids=frozenset(blocked),
    )


SCOPE = Scope(departments=4, regions=2)
ELIGIBLE = frozenset({"S1", "S2"})


def circle() -> list[Participant]:
    return [p("J1", 2, learn=("strategy",)), p("J2", 3), p("S1", 10, share=("strategy",)), p("O1", 6)]


def codes(members: list[Participant], **kw: object) -> list[str]:
    a = assess(members, POLICY, eligible=ELIGIBLE, manager_of={}, scope=SCOPE, **kw)  # type: ignore[arg-type]
    return a.codes


def test_generations_are_seniority_levels() -> None:
    assert [generation_of(level, POLICY) for level in (1, 4, 5, 7, 8, 15)] == [
        "junior",
        "junior",
        "other",
        "other",
        "senior",
        "senior",
    ]


def test_a_circle_that_keeps_every_rule() -> None:
    a = assess(circle(), POLICY, eligible=ELIGIBLE, manager_of={}, scope=SCOPE)
    assert a.ok and a.facilitator_id == "S1" and a.language == "en"
    assert a.slot is not None and a.slot[2] >= 60
    assert a.score.skills == 1.0  # J1's one wish is taught by S1
    assert "J1" not in a.summary and "4 members: 2 junior, 1 senior, 1 in between" in a.summary


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (circle()[:3], "size"),
        ([*circle()[2:], p("O2", 6)], "juniors"),
        ([*circle()[:2], p("O2", 6), p("O3", 6), p("S1", 7)], "seniors"),
        ([*circle(), p("J3", 2, langs=("ja",))], "language"),
        ([*circle(), p("J3", 2, tz="Asia/Tokyo")], "slot"),
        ([*circle(), p("J3", 2, manager="S1")], "management"),
        ([*circle(), p("J3", 2, blocked=("J1",))], "blocked"),
        ([*circle()[:2], p("S3", 9), p("O1", 6)], "facilitator"),  # S3 is not eligible
    ],
)
def test_each_broken_rule_is_named(members: list[Participant], expected: str) -> None:
    assert expected in codes(members)


def test_a_facilitator_hr_named_need_not_be_eligible() -> None:
    members = [*circle()[:2], p("S3", 9), p("O1", 6)]
    assert codes(members, facilitator="J1", named_by_hr=True) == []
    a = assess(
        members, POLICY, eligible=ELIGIBLE, manager_of={}, scope=SCOPE, facilitator="J1", named_by_hr=True
    )
    assert a.facilitator_id == "J1"


def test_the_slot_is_one_utc_time_across_daylight_saving_changes() -> None:
    members = [p("A", 2), p("B", 10, tz="America/New_York")]
    weeks = POLICY.programme_weeks()
    slot = slot_of(weekly_common(members, weeks), 60)
    # London 09-17 and New York 09-17 share 14:00-16:00 UTC in every week (the two change their
    # clocks on different dates).
    assert slot == (0, 14 * 60, 120)


def test_a_slot_over_the_end_of_the_week_counts_whole() -> None:
    late = (AvailabilityWindow(6, "23:00", "24:00"), AvailabilityWindow(0, "00:00", "01:00"))
    members = [p("A", 2, tz="UTC", windows=late), p("B", 10, tz="UTC", windows=late)]
    assert slot_of(weekly_common(members, (date(2027, 2, 1),)), 120) == (6, 23 * 60, 120)


def test_the_refill_is_the_best_candidate_who_keeps_every_rule() -> None:
    members = [*circle()[:3], p("O1", 6)]
    candidates = [
        p("X1", 2, langs=("ja",)),  # no common language
        p("X2", 2, blocked=("S1",)),  # blocked a member
        p("X3", 2, manager="S1"),  # in S1's chain
        p("X4", 2, tz="Asia/Tokyo"),  # no common slot
        p("X5", 6, dept="Finance", region="AMER"),  # fits, adds spread
        p("X6", 6),  # fits
    ]
    found = best_refill(members[1:], candidates, POLICY, eligible=ELIGIBLE, manager_of={}, scope=SCOPE)
    assert found is not None and found[0].id == "X5" and found[1].ok
    assert (
        best_refill(members[1:], candidates[:4], POLICY, eligible=ELIGIBLE, manager_of={}, scope=SCOPE)
        is None
    )


def test_a_refill_brings_what_the_circle_lacks() -> None:
    no_senior = [p("J1", 2), p("J2", 3), p("O1", 6)]
    candidates = [p("O2", 6), p("S3", 9), p("S2", 11)]
    found = best_refill(no_senior, candidates, POLICY, eligible=ELIGIBLE, manager_of={}, scope=SCOPE)
    assert found is not None and found[0].id == "S2"  # a senior, and one who may facilitate
    assert found[1].facilitator_id == "S2"


def test_every_refill_keeps_the_engines_rules() -> None:
    """Property: whatever the circle and the candidates, a refill the rules accept is one the engine's
    own checker (the oracle of its property tests) finds nothing wrong with."""
    rng = random.Random(15)
    zones = ("Europe/London", "America/New_York", "Asia/Kolkata", "UTC")
    refilled = 0
    for trial in range(150):
        pool = [
            p(
                f"P{trial}-{i}",
                rng.randint(1, 12),
                langs=("en", *rng.sample(("es", "de"), rng.randint(0, 1)))
                if i < 4 or rng.random() < 0.8
                else ("de",),
                tz=rng.choice(zones),
                manager=f"P{trial}-{rng.randint(0, 29)}" if rng.random() < 0.2 else None,
                blocked=(f"P{trial}-{rng.randint(0, 29)}",) if rng.random() < 0.1 else (),
                dept=rng.choice(("A", "B", "C")),
                region=rng.choice(("EMEA", "AMER")),
            )
            for i in range(30)
        ]
        members, candidates = pool[:4], pool[4:]
        eligible = frozenset(x.id for x in pool if rng.random() < 0.5)
        manager_of = {x.id: x.manager_id for x in pool}
        found = best_refill(
            members, candidates, POLICY, eligible=eligible, manager_of=manager_of, scope=SCOPE
        )
        if found is None:
            continue
        person, a = found
        refilled += 1
        assert (
            circle_violations(
                [*members, person],
                POLICY,
                facilitator_id=a.facilitator_id,
                facilitator_eligible=eligible,
                manager_of=manager_of,
            )
            == []
        )
    assert refilled >= 20, refilled  # the trials do exercise refills


def test_the_circle_policy_is_validated_and_mapped() -> None:
    stored = PolicyIn().model_dump()
    policy = to_circle_policy(stored, programme_start=date(2027, 2, 1), programme_end=date(2027, 7, 30))
    assert (policy.min_size, policy.max_size, policy.min_juniors, policy.min_seniors) == (5, 8, 2, 2)
    assert (policy.junior_max_level, policy.senior_min_level, policy.min_common_minutes) == (4, 8, 60)
    assert to_circle_policy({}).min_size == 5  # a policy stored before the circle fields
    doc = policy_event_document(PolicyIn())
    assert doc["circle_min_size"] == 5 and all(not isinstance(v, list) for v in doc.values())
    with pytest.raises(ValidationError) as bad:
        PolicyIn.model_validate({"circle_min_size": 4, "circle_min_juniors": 3, "circle_min_seniors": 2})
    assert [e["loc"] for e in bad.value.errors()] == [("circle_min_seniors",)]
    assert set(circle_rules.RULES) == {"size", "juniors", "seniors", "language", "slot", "management",
                                       "blocked", "facilitator"}  # fmt: skip


def test_formats_are_pairs_circles_or_both() -> None:
    base = {"name": "C", "regions": ["EMEA"], "hr_contact_email": "hr@corp.example"}
    assert CohortIn.model_validate(base).formats == ["pairs"]
    assert CohortIn.model_validate({**base, "formats": ["circles", "pairs"]}).formats == ["pairs", "circles"]
    for bad in ([], ["triads"], ["circles", "circles"], ["pairs", "circles", "pairs"]):
        with pytest.raises(ValidationError):
            CohortIn.model_validate({**base, "formats": bad})
