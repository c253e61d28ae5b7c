"""Explanations HR can read (issue 12, item 7): pair texts and unmatched reasons.

Pair texts say who mentors whom on what and what flows back, name languages in the reader's locale and
spell skills as the cohort's taxonomy does. Unmatched reasons are plain words whose numbers are counted
here again from the participants (not from the engine's arrays) and must agree.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest
from matching_engine_support import W, manager_map, person, random_population

from bridge_matching.domain.engine import MatchingPolicy, Participant, run_matching
from bridge_matching.domain.engine.constraints import pair_violations
from bridge_matching.domain.engine.explain import (
    ReasonFinder,
    Wording,
    describe_pair,
    explain_pair,
    explaining,
    language_name,
)
from bridge_matching.domain.engine.index import PopulationIndex
from bridge_matching.domain.engine.scoring import CHECK_ORDER
from bridge_matching.domain.matching import CohortState, assess_pair, cohort_state, solve, suggestions
from bridge_matching.domain.rows import CohortRow, ParticipantRow

POLICY = MatchingPolicy(min_overlap_hours=1, max_mentees_per_mentor=2)
TAXONOMY = ["TikTok", "Generative AI", "Stakeholder management", "Budgeting"]
JARGON = ("top-k", "candidate", "capacity", "sparse", "solver", "pruning", "locked")


def ana() -> Participant:
    return person(
        "ana", "mentor", 1, display_name="Ana Lopez", department="Sales", languages={"en", "es"},
        skills_to_share={"TikTok", "generative ai", "Excel"}, skills_to_learn={"stakeholder management"},
    )  # fmt: skip


def raj() -> Participant:
    return person(
        "raj", "mentee", 5, display_name="Raj Patel", department="Finance", languages={"es", "en", "hi"},
        skills_to_share={"Stakeholder Management", "budgeting"}, skills_to_learn={"tiktok", "Generative AI", "SQL"},
        time_zone="Europe/London", availability=(W(0, "09:00", "13:00"),),
    )  # fmt: skip


# -- pairs ----------------------------------------------------------------------------------------


def test_pair_says_who_mentors_whom_on_what_and_what_flows_back() -> None:
    with explaining("en", TAXONOMY):
        (pair,) = run_matching([ana(), raj()], POLICY).pairs
    assert (pair.mentor_id, pair.mentee_id) == ("ana", "raj")
    assert pair.explanation == (
        "Ana Lopez (mentor) teaches Raj Patel 'Generative AI' and 'TikTok'; "
        "Raj teaches Ana back 'Stakeholder management'; both speak English and Spanish; "
        "4 h a week together; different departments (Sales / Finance)"
    )
    # The engine matched the skills case-insensitively too: 2 of Raj's 3 wishes, all of Ana's one.
    assert pair.breakdown.skills_mentor_to_mentee == round(2 / 3, 6)
    assert pair.breakdown.skills_mentee_to_mentor == 1.0


def test_the_other_direction_reads_the_other_way() -> None:
    # The same two people with the roles swapped (e.g. both "either"): the text follows the roles.
    text = describe_pair(raj(), ana(), 90, Wording("en"))
    assert text.startswith(
        "Raj Patel (mentor) teaches Ana Lopez 'Stakeholder Management'; "
        "Ana teaches Raj back 'generative ai' and 'TikTok'; both speak English and Spanish; 1.5 h a week together"
    )


@pytest.mark.parametrize(
    ("locale", "spoken"),
    [
        ("en", "English and Spanish"),
        ("de", "Englisch and Spanisch"),
        ("fr", "anglais and espagnol"),
        ("pt-BR", "espanhol and inglês"),  # sorted as the reader reads them
        ("xx", "English and Spanish"),  # a locale Babel does not know: English
    ],
)
def test_languages_are_named_in_the_readers_locale(locale: str, spoken: str) -> None:
    with explaining(locale):
        (pair,) = run_matching([ana(), raj()], POLICY).pairs
    assert f"; both speak {spoken}; " in pair.explanation
    # The explicit parameter says the same as the block.
    index = PopulationIndex([ana(), raj()], POLICY)
    m, e = index.pos["ana"], index.pos["raj"]
    assert explain_pair(index, m, e, pair.breakdown, locale=locale) == pair.explanation.replace(
        "'Generative AI'", "'generative ai'"
    ).replace("'Stakeholder management'", "'Stakeholder Management'")


def test_language_names_fall_back_to_english_then_the_code() -> None:
    assert language_name("ja", "de") == "Japanisch"
    assert language_name("en-GB", "en") == "British English"
    assert language_name("pt-BR", "en") == "Brazilian Portuguese"
    assert language_name("es", "not-a-locale") == "Spanish"
    assert language_name("zz", "de") == "zz"


def test_skills_as_the_taxonomy_spells_them_else_as_written() -> None:
    plain = describe_pair(ana(), raj(), 240, Wording("en"))
    # No taxonomy: the spelling of the person who has the skill (Ana's, Raj's for what flows back).
    assert plain.startswith(
        "Ana Lopez (mentor) teaches Raj Patel 'generative ai' and 'TikTok'; "
        "Raj teaches Ana back 'Stakeholder Management'; "
    )
    tax = Wording.of("en", ["generative AI", "STAKEHOLDER MANAGEMENT"])
    assert describe_pair(ana(), raj(), 240, tax).startswith(
        "Ana Lopez (mentor) teaches Raj Patel 'generative AI' and 'TikTok'; "
        "Raj teaches Ana back 'STAKEHOLDER MANAGEMENT'; "
    )


def test_explaining_holds_only_inside_its_block() -> None:
    with explaining("de", TAXONOMY):
        inside = run_matching([ana(), raj()], POLICY).pairs[0].explanation
    outside = run_matching([ana(), raj()], POLICY).pairs[0].explanation
    assert "Englisch" in inside and "'Generative AI'" in inside
    assert "English" in outside and "'generative ai'" in outside


def test_when_nothing_flows_it_says_so() -> None:
    a = person("a", "mentor", 1, display_name="Ana Lopez", skills_to_share={"Excel"}, skills_to_learn={"SQL"})
    b = person("b", "mentee", 5, display_name="Bo Chen", skills_to_share={"Go"}, skills_to_learn={"Rust"})
    assert describe_pair(a, b, 60, Wording()) == (
        "Ana Lopez (mentor) mentors Bo Chen; Ana shares none of the skills Bo wants to learn; "
        "Bo shares none of the skills Ana wants to learn; both speak English; 1 h a week together; "
        "same department (Eng)"
    )


def test_same_first_names_keep_full_names_and_requests_are_named() -> None:
    a = person(
        "a", "mentor", 1, display_name="Ana Lopez", skills_to_learn={"Go"}, requested_partner_ids={"b"}
    )
    b = person("b", "mentee", 5, display_name="Ana Smith", skills_to_share={"go"})
    assert describe_pair(a, b, 60, Wording()) == (
        "Ana Lopez (mentor) mentors Ana Smith; Ana Smith teaches Ana Lopez back 'go'; both speak English; "
        "1 h a week together; same department (Eng); requested by Ana Lopez"
    )


# -- unmatched: one test per reason code, numbers recounted from the people --------------------------


def unmatched(
    people: list[Participant], policy: MatchingPolicy = POLICY, **kw: object
) -> dict[str, tuple[str, str]]:
    result = run_matching(people, policy, **kw)  # type: ignore[arg-type]
    return {u.participant_id: (u.reason_code, u.reason) for u in result.unmatched}


def test_language() -> None:
    mentors = [person(f"m{i}", "mentor", 1, languages={"en", "fr"}) for i in range(4)]
    yuki = person("yuki", "mentee", 5, display_name="Yuki Sato", languages={"ja"})
    people = [*mentors, yuki]
    n = sum(p.can_mentor for p in people if p.id != "yuki")
    assert unmatched(people)["yuki"] == ("language", f"none of the {n} mentors speaks Japanese")
    with explaining("de"):
        assert unmatched(people)["yuki"][1] == f"none of the {n} mentors speaks Japanisch"


def test_seniority() -> None:
    people = [person(f"m{i}", "mentor", level) for i, level in enumerate((3, 4, 5))]
    people += [
        person("fr", "mentor", 1, languages={"fr"}),
        person("raj", "mentee", 2, display_name="Raj Patel"),
    ]
    sharing = [p for p in people if p.can_mentor and p.languages & {"English"}]
    low = min(p.seniority for p in sharing)
    assert unmatched(people)["raj"] == (
        "seniority",
        f"no mentor is less senior than Raj Patel (level 2): {len(sharing)} mentors speak English, "
        f"and all {len(sharing)} are at level {low} or above",
    )


def test_region_same_and_cross() -> None:
    people = [person("m1", "mentor", 1, region="APAC"), person("m2", "mentor", 1, region="AMER")]
    people.append(person("e", "mentee", 5, region="EMEA", languages={"English", "German"}))
    got = unmatched(people, MatchingPolicy(region_mode="same_region"))["e"]
    assert got == (
        "region",
        "2 mentors share a language with e; both work outside EMEA, and the cohort pairs people within one region",
    )
    people = [person("m", "mentor", 1), person("e", "mentee", 5)]
    assert unmatched(people, MatchingPolicy(region_mode="cross_region"))["e"] == (
        "region",
        "1 mentor speaks English; they work in EMEA too, and the cohort pairs people across regions only",
    )


def test_management() -> None:
    people = [person("m", "mentor", 1, manager_id="x"), person("x", "mentor", 2, manager_id="e")]
    people.append(person("e", "mentee", 5, display_name="Eva Berg"))
    assert unmatched(people)["e"] == (
        "management",
        "2 mentors speak English and are less senior; both are in Eva Berg's own reporting line"
        " (manager or report within 2 levels)",
    )


def test_forbidden_counts_blocks_and_earlier_pairs() -> None:
    people = [
        person("m1", "mentor", 1, blocked_partner_ids={"e"}),
        person("m2", "mentor", 1),
        person("m3", "mentor", 1),
        person("e", "mentee", 5, display_name="Eva Berg", blocked_partner_ids={"m3"}),
    ]
    got = unmatched(people, history=[("m2", "e")])["e"]
    eva = people[3]
    blocked = sum(1 for q in people[:3] if eva.id in q.blocked_partner_ids or q.id in eva.blocked_partner_ids)
    assert got == (
        "forbidden",
        f"3 mentors speak English and are less senior; all 3 are ruled out: {blocked} are blocked by one of the"
        " two; 1 was paired or proposed with Eva Berg before (an earlier cohort, or a proposal declined or a"
        " pair ended in this one)",
    )


def test_availability_names_the_threshold_and_the_best_overlap() -> None:
    people = [
        person("m1", "mentor", 1, availability=(W(0, "09:00", "09:30"),)),
        person("m2", "mentor", 1, availability=(W(0, "09:00", "09:45"),)),
        person("m3", "mentor", 1, availability=(W(3, "09:00", "17:00"),)),  # another day: nothing in common
        person("e", "mentee", 5, availability=(W(0, "09:00", "12:00"),)),
    ]
    # Same zone, so the overlap is plain clock arithmetic: m2's Monday 09:00-09:45 is the most.
    best = max(_same_day_overlap(m.availability, people[3].availability) for m in people[:3]) / 60
    assert unmatched(people)["e"] == (
        "availability",
        f"3 mentors speak English and are less senior; none has 1 h a week free at the same time as e"
        f" (the most is {best:g} h)",
    )


def _same_day_overlap(a: tuple[W, ...], b: tuple[W, ...]) -> int:
    def minute(hhmm: str) -> int:
        return int(hhmm[:2]) * 60 + int(hhmm[3:])

    return sum(
        max(0, min(minute(x.end), minute(y.end)) - max(minute(x.start), minute(y.start)))
        for x in a
        for y in b
        if x.weekday == y.weekday
    )


def test_taken_everyone_on_that_side() -> None:
    # The brief's example: 3 mentors, each already has their maximum of 2 mentees.
    mentors = [person(f"m{i}", "mentor", 1, capacity=2, languages={"ja"}) for i in range(3)]
    mentees = [person(f"e{i}", "mentee", 5, languages={"ja"}) for i in range(7)]
    result = run_matching([*mentors, *mentees], POLICY)
    load = Counter(p.mentor_id for p in result.pairs)
    assert sorted(load.values()) == [2, 2, 2]
    (u,) = result.unmatched
    assert (u.reason_code, u.reason) == (
        "capacity",
        "all 3 mentors in this cohort already have their maximum of 2 mentees",
    )


def test_taken_among_those_who_share_a_language() -> None:
    mentors = [person(f"m{i}", "mentor", 1, capacity=2, languages={"ja"}) for i in range(3)]
    mentors.append(person("m_en", "mentor", 1, capacity=2, languages={"en"}))  # free, but no Japanese
    mentees = [person(f"e{i}", "mentee", 5, languages={"ja"}) for i in range(7)]
    got = unmatched([*mentors, *mentees])
    ((_, (code, text)),) = [(k, v) for k, v in got.items() if k.startswith("e")]
    japanese = sum(1 for p in mentors if "ja" in p.languages)
    assert code == "capacity"
    assert (
        text
        == f"{japanese} mentors speak Japanese and are less senior; all {japanese} already have their maximum of 2 mentees"
    )
    assert got["m_en"] == ("language", "none of the 7 mentees speaks English")


def test_taken_among_those_who_would_suit() -> None:
    mentors = [person(f"m{i}", "mentor", 1, capacity=2, languages={"ja"}) for i in range(3)]
    mentors.append(person("far", "mentor", 1, languages={"ja"}, availability=(W(5, "09:00", "11:00"),)))
    mentees = [person(f"e{i}", "mentee", 5, languages={"ja"}) for i in range(7)]
    people = [*mentors, *mentees]
    got = unmatched(people)
    (who,) = [k for k in got if k.startswith("e")]
    suit = [
        m
        for m in mentors
        if not pair_violations(m, got_person(people, who), POLICY, manager_of=manager_map(people))
    ]
    assert got[who] == (
        "capacity",
        f"{len(suit)} mentors would suit {who}; all {len(suit)} already have their maximum of 2 mentees",
    )


def got_person(people: list[Participant], pid: str) -> Participant:
    return next(p for p in people if p.id == pid)


def test_taken_says_what_taken_means_for_each() -> None:
    people = [
        person("m1", "mentor", 1, capacity=1),
        person("x", "either", 2),
        person("z", "mentor", 1, capacity=0),
        person("a", "mentee", 5),
        person("b", "mentee", 5),
        person("c", "mentee", 6, display_name="Cy"),
    ]
    got = unmatched(people)
    assert got["c"] == (
        "capacity",
        "all 3 mentors in this cohort are taken: 1 already has their maximum of 1 mentee, "
        "1 offered to take no mentees, 1 is already in a pair (as mentor or mentee)",
    )
    assert got["z"] == ("zero_capacity", "z can mentor but offered to take 0 mentees")


def test_taken_mentees_already_have_a_mentor() -> None:
    people = [
        person("m1", "mentor", 1, display_name="Ana Lopez"),
        person("m2", "mentor", 1),
        person("e", "mentee", 5),
    ]
    got = unmatched(people)
    assert list(got.values()) == [("capacity", "the only mentee in this cohort already has a mentor")]


def test_role() -> None:
    got = unmatched([person("e", "mentee", 5), person("f", "mentee", 5)])
    assert got["e"] == ("role", "there are no mentors in this cohort")
    got = unmatched([person("x", "either", 5)])
    assert got["x"] == (
        "role/role",
        "as mentee: no one other than x in this cohort can be a mentor;"
        " as mentor: no one other than x in this cohort can be a mentee",
    )


def test_not_selected_in_plain_words() -> None:
    # The certified optimum leaves nobody beside a free compatible partner, so the reason is tested on
    # the reason finder directly: m has a free place, e is unmatched.
    people = [person("m", "mentor", 1, capacity=2), person("n", "mentor", 1), person("e", "mentee", 5)]
    index = PopulationIndex(people, POLICY)
    m, n, e = index.pos["m"], index.pos["n"], index.pos["e"]
    spare_mentor = np.zeros(index.n, dtype=np.int64)
    spare_mentor[[m, n]] = 1
    spare_mentee = np.zeros(index.n, dtype=np.int64)
    edges = np.ones(index.n, dtype=np.bool_)
    finder = ReasonFinder(index, spare_mentor, spare_mentee, edges, edges)
    got = finder.explain(e)
    assert (got.reason_code, got.reason) == (
        "not_selected",
        "a compatible mentor with free places exists (2 in all), but the best overall matching paired them elsewhere",
    )


# -- every reason in random cohorts: no solver words, and the numbers agree with the people ---------


def _others(people: list[Participant], p: Participant, seeking: str) -> list[Participant]:
    return [q for q in people if q.id != p.id and (q.can_mentor if seeking == "mentor" else q.can_be_mentee)]


def _passing(
    people: list[Participant], p: Participant, seeking: str, policy: MatchingPolicy, checks: tuple[str, ...]
) -> list[Participant]:
    """The possible partners of ``p`` that break none of ``checks`` (the scalar oracle, not the index)."""
    managers = manager_map(people)
    out = []
    for q in _others(people, p, seeking):
        mentor, mentee = (q, p) if seeking == "mentor" else (p, q)
        key = (id(people), mentor.id, mentee.id)
        if key not in _ORACLE:
            _ORACLE[key] = frozenset(pair_violations(mentor, mentee, policy, manager_of=managers))
        if not _ORACLE[key] & set(checks):
            out.append(q)
    return out


_ORACLE: dict[tuple[int, str, str], frozenset[str]] = {}


def _number(text: str, at: int = 0) -> int:
    return int(re.findall(r"(?<!\w)\d[\d,]*", text)[at].replace(",", ""))  # not the digits of an id


def _check_numbers(code: str, text: str, p: Participant, seeking: str, people: list[Participant]) -> None:
    """The first count in each reason, recounted from the people with the scalar oracle."""
    order = CHECK_ORDER
    if code in order and code != "role":
        left = _passing(people, p, seeking, POLICY, order[: order.index(code)])
        if code == "seniority":  # "... (level L): N mentors ..., and all N are at level X or above"
            assert _number(text, 1) == len(left), text
            edge = min(q.seniority for q in left) if seeking == "mentor" else max(q.seniority for q in left)
            assert _number(text, -1) == edge, text
        else:
            assert _number(text) == len(left), text
    elif code == "capacity":
        if " in this cohort " in text:
            expected = len(_others(people, p, seeking))
        elif " would suit " in text:
            expected = len(_passing(people, p, seeking, POLICY, order))
        else:
            expected = len(_passing(people, p, seeking, POLICY, ("role", "language", "region", "seniority")))
        assert _number(text) == expected, text
    elif code == "not_selected":  # the free ones are some of those who would suit
        assert 1 <= _number(text) <= len(_passing(people, p, seeking, POLICY, order)), text
    elif code == "zero_capacity":
        assert p.capacity == 0 and _number(text) == 0, text
    else:
        assert code == "role", (code, text)


@pytest.mark.parametrize("seed", [1, 4])
def test_random_cohorts_reasons_are_plain_and_their_numbers_true(seed: int) -> None:
    people = random_population(120, seed)
    _ORACLE.clear()
    by_id = {p.id: p for p in people}
    result = run_matching(people, POLICY)
    checked: set[str] = set()
    assert result.unmatched
    for text in [u.reason for u in result.unmatched] + [p.explanation for p in result.pairs]:
        assert not any(word in text.casefold() for word in JARGON), text
    for u in result.unmatched:
        p = by_id[u.participant_id]
        if "/" in u.reason_code:
            as_mentee, as_mentor = u.reason.removeprefix("as mentee: ").split("; as mentor: ")
            codes = u.reason_code.split("/")
            parts = [(codes[0], "mentor", as_mentee), (codes[1], "mentee", as_mentor)]
        else:
            parts = [(u.reason_code, "mentor" if p.can_be_mentee else "mentee", u.reason)]
        for code, seeking, text in parts:
            _check_numbers(code, text, p, seeking, people)
        checked.update(code for code, _, _ in parts)
    assert len(checked) >= 3, checked  # the cohorts give several kinds of reason, not one


# -- the service: whose locale, which taxonomy --------------------------------------------------------

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _row(emp: str, role: str, level: int, name: str, **kw: object) -> ParticipantRow:
    base: dict[str, object] = {
        "id": uuid.uuid4(), "cohort_id": COHORT_ID, "employee_id": emp, "role": role, "display_name": name,
        "email": f"{emp}@corp.example", "seniority_level": level, "department": "Eng",
        "manager_employee_id": None, "region": "EMEA", "languages": ["en", "es"], "timezone": "Europe/London",
        "locale": "en", "availability": [{"weekday": 0, "start": "09:00", "end": "13:00"}],
        "skills_to_share": [], "skills_to_learn": [], "meeting_preference": "either", "capacity": 1,
        "requested_partners": [], "blocked_partners": [], "status": "enrolled", "created_at": NOW,
        "updated_at": NOW, "withdrawn_at": None, "withdrawn_reason": None,
    }  # fmt: skip
    base.update(kw)
    return ParticipantRow(**base)  # type: ignore[arg-type]


COHORT_ID = uuid.uuid4()


def _state(rows: list[ParticipantRow], hr_email: str = "hr@corp.example") -> CohortState:
    cohort = CohortRow(
        id=COHORT_ID, name="Spring", regions=["EMEA"], hr_contact_email=hr_email, enrolment_opens=None,
        enrolment_closes=None, matching_date=None, programme_start=None, programme_end=None,
        phase="matching", policy={}, inactivity_threshold_days=14, created_by="hr-1", created_at=NOW,
        updated_at=NOW, skill_taxonomy=["TikTok", "Generative AI"], phase_changed_at=NOW,
    )  # fmt: skip
    return cohort_state(cohort, rows, [], [], [])


def _people(hr_locale: str | None) -> list[ParticipantRow]:
    rows = [
        _row("ana", "mentor", 1, "Ana Lopez", skills_to_share=["tiktok", "GENERATIVE AI"], locale="fr"),
        _row("raj", "mentee", 5, "Raj Patel", skills_to_learn=["TIKTOK", "generative ai"]),
        _row("yuki", "mentee", 5, "Yuki Sato", languages=["ja"]),
    ]
    if hr_locale is not None:  # the cohort's HR contact is enrolled too (as a mentee nobody can mentor)
        rows.append(_row("hr-x", "mentee", 1, "Hana Ritter", email="HR@corp.example", locale=hr_locale))
    return rows


def test_service_writes_for_hr_in_their_stored_locale_with_the_taxonomy() -> None:
    state = _state(_people("de"))
    assert state.hr_locale() == "de"
    result = solve(state)
    (pair,) = [p for p in result.pairs if p.mentee_id == "raj"]
    assert pair.explanation.startswith(
        "Ana Lopez (mentor) teaches Raj Patel 'Generative AI' and 'TikTok'; both speak Englisch and Spanisch; "
    )
    reasons = {u.participant_id: u.reason for u in result.unmatched}
    assert reasons["yuki"] == "the only mentor does not speak Japanisch"
    assessed = assess_pair(state, "ana", "raj")
    assert assessed.explanation == pair.explanation


def test_service_falls_back_to_english_and_suggestions_speak_to_the_participant() -> None:
    state = _state(_people(None))
    assert state.hr_locale() == "en"
    (pair,) = [p for p in solve(state).pairs if p.mentee_id == "raj"]
    assert "; both speak English and Spanish; " in pair.explanation
    # Suggestions are read by the participant who asks: Ana's stored locale is French.
    (sugg,) = suggestions(state, "ana", 5)
    assert sugg.partner_id == "raj" and "; both speak anglais and espagnol; " in sugg.explanation
