"""Suggestions reuse a cohort's prepared index per version of its data, and never a stale one.

``SuggestionCache.builds`` counts the indexes built: a second call with the same data builds none
(no timing involved). Every change to what the index is built from builds a new one, and who is
taken right now is applied on every call without a rebuild.
"""

from __future__ import annotations

import dataclasses
import random
import threading

import pytest
from matching_engine_support import person, random_population

from bridge_matching.domain.engine import (
    MatchingPolicy,
    Participant,
    SuggestionCache,
    SuggestionInputs,
    Weights,
    suggest,
    suggest_prepared,
)

POLICY = MatchingPolicy(max_mentees_per_mentor=2)


def _people() -> list[Participant]:
    return [
        person("e", "mentee", 5, skills_to_learn={"ai"}, meeting_preference="video"),
        person("good", "mentor", 1, skills_to_share={"ai"}),
        person("ok", "mentor", 1),
        person("far", "mentor", 2, department="Sales"),
    ]


def _ask(
    cache: SuggestionCache,
    people: list[Participant],
    *,
    policy: MatchingPolicy = POLICY,
    cohort: str = "c1",
    current: tuple[tuple[str, str], ...] = (),
    history: tuple[tuple[str, str], ...] = (),
    excluded: tuple[tuple[str, str], ...] = (),
    who: str = "e",
) -> list[tuple[str, float, str]]:
    inputs = SuggestionInputs.of(
        people,
        policy,
        history=history,
        excluded_pairs=excluded,
        org_chart={p.id: p.manager_id for p in people},
    )
    got = suggest_prepared(cache.prepared(cohort, inputs), who, 5, current_pairs=current)
    # The same as without a cache, always.
    plain = suggest(
        who,
        people,
        policy,
        5,
        current_pairs=current,
        history=history,
        excluded_pairs=excluded,
        org_chart={p.id: p.manager_id for p in people},
    )
    assert got == plain
    return [(s.partner_id, s.score, s.explanation) for s in got]


def _copies(people: list[Participant]) -> list[Participant]:
    """The same data as new objects in another order, as the next request loads it."""
    fresh = [dataclasses.replace(p, skills_to_share=frozenset(set(p.skills_to_share))) for p in people]
    random.Random(3).shuffle(fresh)
    return fresh


def test_the_second_call_with_the_same_data_reuses_the_index() -> None:
    cache = SuggestionCache()
    first = _ask(cache, _people())
    assert cache.builds == 1 and cache.hits == 0
    assert _ask(cache, _copies(_people())) == first
    assert _ask(cache, _people(), who="good")  # another participant of the same cohort
    assert cache.builds == 1 and cache.hits == 2


@pytest.mark.parametrize(
    "change",
    [
        "profile",
        "meeting_preference",
        "enrolment",
        "withdrawal",
        "policy",
        "history",
        "excluded",
        "display_name",
    ],
)
def test_any_change_to_the_data_builds_a_new_index_and_shows(change: str) -> None:
    cache = SuggestionCache()
    people = _people()
    before = _ask(cache, people)
    assert [p for p, *_ in before] == ["good", "far", "ok"]
    policy, history, excluded = POLICY, (), ()
    if change == "profile":  # "ok" now shares what "e" wants to learn
        people = [dataclasses.replace(p, skills_to_share={"ai"}) if p.id == "ok" else p for p in people]
    elif change == "meeting_preference":  # "good" would only meet in person; "e" wants video
        people = [
            dataclasses.replace(p, meeting_preference="in_person") if p.id == "good" else p for p in people
        ]
    elif change == "enrolment":
        people = [*people, person("new", "mentor", 0, skills_to_share={"ai"}, department="Ops")]
    elif change == "withdrawal":
        people = [p for p in people if p.id != "good"]
    elif change == "policy":
        policy = MatchingPolicy(max_mentees_per_mentor=2, weights=Weights(cross_department=5.0))
    elif change == "history":
        history = (("good", "e"),)  # paired in an earlier cohort
    elif change == "excluded":
        excluded = (("good", "e"),)  # a declined proposal
    elif change == "display_name":
        people = [dataclasses.replace(p, display_name="Goodwin") if p.id == "good" else p for p in people]
    after = _ask(cache, people, policy=policy, history=history, excluded=excluded)
    assert cache.builds == 2 and cache.hits == 0
    assert after != before
    if change == "display_name":  # the explanation names the partner as stored now
        inputs = SuggestionInputs.of(people, policy, org_chart={p.id: p.manager_id for p in people})
        (top, *_) = suggest_prepared(cache.prepared("c1", inputs), "e", 5)
        assert top.explanation.startswith("Goodwin (mentor)")
    # Back to the first data: served again (a rebuild, the cache keeps one version per cohort).
    assert _ask(cache, _people()) == before


def test_who_is_taken_is_read_on_every_call_without_a_rebuild() -> None:
    cache = SuggestionCache()
    people = _people()
    assert [p for p, *_ in _ask(cache, people)] == ["good", "far", "ok"]
    # "good" has a mentee (their one place): gone from the suggestions, no rebuild.
    assert [p for p, *_ in _ask(cache, people, current=(("good", "x1"),))] == ["far", "ok"]
    assert [p for p, *_ in _ask(cache, people, current=(("far", "x1"), ("x2", "ok")))] == ["good"]
    assert [p for p, *_ in _ask(cache, people)] == ["good", "far", "ok"]
    assert cache.builds == 1 and cache.hits == 3


def test_a_hash_that_matches_is_not_enough() -> None:
    """Entries are reused for *equal* inputs: a collision of versions cannot serve another cohort state."""
    cache = SuggestionCache()
    people = _people()
    first = SuggestionInputs.of(people, POLICY)
    cache.prepared("c1", first)
    changed = SuggestionInputs.of([*people, person("new", "mentor", 0)], POLICY)
    forged = dataclasses.replace(changed, version=first.version)
    prepared = cache.prepared("c1", forged)
    assert cache.builds == 2 and "new" in prepared.index.pos


def test_cohorts_are_kept_apart_and_the_least_recently_used_goes_first() -> None:
    cache = SuggestionCache(max_cohorts=2)
    a, b, c = _people(), _people()[:3], [*_people(), person("z", "mentor", 0)]
    _ask(cache, a, cohort="A")
    _ask(cache, b, cohort="B")
    _ask(cache, a, cohort="A")  # hit: A is now the most recently used
    _ask(cache, c, cohort="C")  # evicts B
    assert (cache.builds, cache.hits, len(cache)) == (3, 1, 2)
    _ask(cache, a, cohort="A")
    assert cache.builds == 3
    _ask(cache, b, cohort="B")
    assert cache.builds == 4


def test_threads_asking_at_once_get_the_right_answers() -> None:
    cache = SuggestionCache()
    people = random_population(150, seed=4)
    mentees = [p.id for p in people if p.can_be_mentee][:8]
    variants = [people, [dataclasses.replace(p, meeting_preference="video") for p in people]]
    expected = {
        (v, who): [s.partner_id for s in suggest(who, variants[v], POLICY, 5)]
        for v in (0, 1)
        for who in mentees
    }
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(12):
                v, who = (k + i) % 2, mentees[(k * 3 + i) % len(mentees)]
                inputs = SuggestionInputs.of(variants[v], POLICY)
                got = suggest_prepared(cache.prepared("c", inputs), who, 5)
                assert [s.partner_id for s in got] == expected[v, who]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
