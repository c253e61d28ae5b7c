"""Shared builders and oracles for the matching-engine tests (not a test module)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

from bridge_matching.domain.engine import AvailabilityWindow, MatchingPolicy, MatchResult, Participant
from bridge_matching.domain.engine.constraints import pair_overlap_minutes, pair_violations

W = AvailabilityWindow
OFFICE = (W(0, "09:00", "17:00"), W(2, "09:00", "17:00"))


def person(pid: str, role: str = "mentor", seniority: int = 1, **kw: object) -> Participant:
    base: dict[str, object] = {
        "department": "Eng",
        "manager_id": None,
        "region": "EMEA",
        "languages": {"English"},
        "time_zone": "Europe/London",
        "availability": OFFICE,
    }
    base.update(kw)
    return Participant(pid, role, seniority, **base)  # type: ignore[arg-type]


MEETINGS = ("in_person", "video", "either")


def meeting_compatible(a: Participant, b: Participant) -> bool:
    """The definition: the same preference, or one of the two does not mind ("either")."""
    return a.meeting_preference == b.meeting_preference or "either" in (
        a.meeting_preference,
        b.meeting_preference,
    )


def ref_score(mentor: Participant, mentee: Participant, policy: MatchingPolicy) -> float:
    """Score straight from the definition, independent of the vectorised code."""

    def cover(give: frozenset[str], want: frozenset[str]) -> float:
        return len(give & want) / len(want) if want else 0.0

    hours = pair_overlap_minutes(mentor, mentee, policy) / 60  # least week of the programme
    requested = mentee.id in mentor.requested_partner_ids or mentor.id in mentee.requested_partner_ids
    w = policy.weights
    return (
        w.skills_mentor_to_mentee * cover(mentor.skills_to_share, mentee.skills_to_learn)
        + w.skills_mentee_to_mentor * cover(mentee.skills_to_share, mentor.skills_to_learn)
        + w.availability * min(hours / policy.overlap_target_hours, 1.0)
        + w.cross_department * (mentor.department != mentee.department)
        + w.requested_partner * requested
        + w.meeting_preference * meeting_compatible(mentor, mentee)
    )


def manager_map(people: Sequence[Participant]) -> dict[str, str | None]:
    return {p.id: p.manager_id for p in people}


def assert_valid(
    result: MatchResult,
    people: Sequence[Participant],
    policy: MatchingPolicy,
    history: Sequence[tuple[str, str]] = (),
    excluded: Sequence[tuple[str, str]] = (),
) -> None:
    """Every hard constraint, checked with the scalar oracle, plus capacity/roles."""
    by_id = {p.id: p for p in people}
    managers = manager_map(people)
    mentor_load: dict[str, int] = {}
    mentee_load: dict[str, int] = {}
    for pair in result.pairs:
        mentor, mentee = by_id[pair.mentor_id], by_id[pair.mentee_id]
        if pair.origin == "matched":
            assert (
                pair_violations(
                    mentor,
                    mentee,
                    policy,
                    manager_of=managers,
                    history=history,
                    excluded_pairs=excluded,
                )
                == []
            ), pair
        mentor_load[mentor.id] = mentor_load.get(mentor.id, 0) + 1
        mentee_load[mentee.id] = mentee_load.get(mentee.id, 0) + 1
    for pid, load in mentor_load.items():
        assert load <= min(by_id[pid].capacity, policy.max_mentees_per_mentor), pid
        assert pid not in mentee_load, f"{pid} is both mentor and mentee"
    assert all(load == 1 for load in mentee_load.values())
    matched = set(mentor_load) | set(mentee_load)
    unmatched = {u.participant_id for u in result.unmatched}
    assert matched.isdisjoint(unmatched)
    assert matched | unmatched == set(by_id)


def brute_force_best(
    people: Sequence[Participant],
    policy: MatchingPolicy,
    history: Sequence[tuple[str, str]] = (),
) -> float:
    """Max total score over *all* valid matchings (exponential; tiny inputs only)."""
    managers = manager_map(people)
    edges: list[tuple[str, str, float]] = []
    for a, b in itertools.permutations(people, 2):
        if not pair_violations(a, b, policy, manager_of=managers, history=history):
            edges.append((a.id, b.id, ref_score(a, b, policy)))
    cap = {p.id: min(p.capacity, policy.max_mentees_per_mentor) for p in people}
    best = 0.0

    def go(k: int, total: float, load: dict[str, int], mentee: set[str]) -> None:
        nonlocal best
        best = max(best, total)
        if k == len(edges):
            return
        go(k + 1, total, load, mentee)
        m, e, s = edges[k]
        if e in mentee or e in load or m in mentee or load.get(m, 0) >= cap[m]:
            return
        load[m] = load.get(m, 0) + 1
        mentee.add(e)
        go(k + 1, total + s, load, mentee)
        mentee.discard(e)
        load[m] -= 1
        if load[m] == 0:
            del load[m]

    go(0, 0.0, {}, set())
    return best


ZONES = [
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Chatham",
    "Asia/Kathmandu",
]


def random_population(n: int, seed: int) -> list[Participant]:
    """Medium-size random population for determinism/rematch tests."""
    rng = random.Random(seed)
    skills = [f"s{i}" for i in range(12)]
    people = []
    for i in range(n):
        days = rng.sample(range(7), 3)
        windows = []
        for d in days:
            start = rng.randrange(6 * 4, 18 * 4) * 15
            end = start + rng.choice([60, 120, 240])
            end_text = "24:00" if end >= 24 * 60 else f"{end // 60:02d}:{end % 60:02d}"
            windows.append(W(d, f"{start // 60:02d}:{start % 60:02d}", end_text))
        people.append(
            person(
                f"p{i:04d}",
                rng.choice(["mentor", "mentor", "mentee", "mentee", "either"]),
                rng.randrange(0, 6),
                department=rng.choice(["Eng", "Sales", "HR"]),
                manager_id=f"p{rng.randrange(0, i):04d}" if i and rng.random() < 0.8 else None,
                region=rng.choice(["EMEA", "APAC"]),
                languages=set(rng.sample(["English", "German", "Japanese"], rng.randint(1, 2))),
                time_zone=rng.choice(ZONES),
                availability=tuple(windows),
                skills_to_share=set(rng.sample(skills, 3)),
                skills_to_learn=set(rng.sample(skills, 2)),
                capacity=rng.randint(1, 3),
            )
        )
    return people
