"""Between stored rows and the pure engine: who is free, what is kept, what is excluded, and the results.

The engine works on employee ids within one cohort; the service stores participant UUIDs. The engine is
CPU-bound, so callers run `solve` / `suggestions` with `asyncio.to_thread`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bridge_matching.domain.engine import (
    AvailabilityWindow,
    MatchingPolicy,
    MatchResult,
    Participant,
    ScoreBreakdown,
    Suggestion,
    SuggestionCache,
    SuggestionInputs,
    pair_violations,
    prepare_suggestions,
    run_matching,
    suggest_prepared,
)
from bridge_matching.domain.engine.explain import DEFAULT_LOCALE, breakdown_of, explain_pair, explaining
from bridge_matching.domain.engine.index import PopulationIndex
from bridge_matching.domain.engine.scoring import score
from bridge_matching.domain.policy import to_engine_policy
from bridge_matching.domain.rows import (
    CohortRow,
    DraftPairRow,
    NewDraftPair,
    PairRef,
    ParticipantRow,
    UnmatchedData,
)

EmpPair = tuple[str, str]


def to_engine(row: ParticipantRow) -> Participant:
    return Participant(
        id=row.employee_id,
        role=row.role,
        seniority=row.seniority_level,
        department=row.department,
        manager_id=row.manager_employee_id,
        region=row.region,
        languages=frozenset(row.languages),
        time_zone=row.timezone,
        availability=tuple(AvailabilityWindow(w["weekday"], w["start"], w["end"]) for w in row.availability),
        skills_to_share=frozenset(row.skills_to_share),
        skills_to_learn=frozenset(row.skills_to_learn),
        capacity=row.capacity,
        requested_partner_ids=frozenset(row.requested_partners),
        blocked_partner_ids=frozenset(row.blocked_partners),
        display_name=row.display_name,
        meeting_preference=row.meeting_preference,  # type: ignore[arg-type]  # stored from ParticipantIn's Literal; the engine checks it
    )


def breakdown_dict(b: ScoreBreakdown) -> dict[str, float]:
    return {
        "skills_mentor_to_mentee": b.skills_mentor_to_mentee,
        "skills_mentee_to_mentor": b.skills_mentee_to_mentor,
        "availability": b.availability,
        "cross_department": b.cross_department,
        "requested_partner": b.requested_partner,
        "meeting_preference": b.meeting_preference,
        "overlap_hours": b.overlap_hours,
        "total": b.total,
    }


@dataclass
class CohortState:
    """A snapshot of one cohort, as the engine needs it."""

    cohort: CohortRow
    policy: MatchingPolicy
    rows: list[ParticipantRow]
    by_id: dict[uuid.UUID, ParticipantRow]
    by_emp: dict[str, ParticipantRow]
    occupied: list[EmpPair]  # accepted pairs and open proposals: fixed
    excluded: list[EmpPair]  # declined/expired/cancelled proposals, dissolved pairs
    history: list[EmpPair]  # partners from earlier cohorts
    people: list[Participant] = field(default_factory=list)

    def emp(self, participant_id: uuid.UUID) -> str:
        return self.by_id[participant_id].employee_id

    def manager_of(self) -> dict[str, str | None]:
        return {r.employee_id: r.manager_employee_id for r in self.rows}

    def hr_locale(self) -> str:
        """The locale explanations for HR are written in: the cohort stores none for its HR, so it is
        the stored profile locale of the HR contact or creator if they are enrolled here, else English."""
        contact = self.cohort.hr_contact_email.casefold()
        for r in self.rows:
            if r.email.casefold() == contact or r.employee_id == self.cohort.created_by:
                return r.locale
        return DEFAULT_LOCALE


def cohort_state(
    cohort: CohortRow,
    enrolled: list[ParticipantRow],
    occupied: Iterable[PairRef],
    excluded: Iterable[PairRef],
    history: list[EmpPair],
) -> CohortState:
    """The snapshot from stored rows: pairs of people who are no longer enrolled are left out."""
    by_id = {r.id: r for r in enrolled}

    def emp_pairs(refs: Iterable[PairRef]) -> list[EmpPair]:
        return [
            (by_id[r.mentor_id].employee_id, by_id[r.mentee_id].employee_id)
            for r in refs
            if r.mentor_id in by_id and r.mentee_id in by_id
        ]

    return CohortState(
        cohort=cohort,
        policy=to_engine_policy(
            cohort.policy,
            programme_start=cohort.programme_start,
            programme_end=cohort.programme_end,
            matching_date=cohort.matching_date,
        ),
        rows=enrolled,
        by_id=by_id,
        by_emp={r.employee_id: r for r in enrolled},
        occupied=emp_pairs(occupied),
        excluded=emp_pairs(excluded),
        history=history,
        people=[to_engine(r) for r in enrolled],
    )


def solve(
    state: CohortState, pinned: Sequence[EmpPair] = (), extra_excluded: Sequence[EmpPair] = ()
) -> MatchResult:
    """Everyone not in an accepted pair or open proposal is (re)matched; pins are kept as drafted.

    Explanations are for HR: in HR's locale, skills spelt as in the cohort's taxonomy."""
    with explaining(state.hr_locale(), state.cohort.skill_taxonomy):
        return run_matching(
            state.people,
            state.policy,
            pinned_pairs=pinned,
            fixed_pairs=state.occupied,
            history=state.history,
            excluded_pairs=[*state.excluded, *extra_excluded],
        )


def draft_rows(state: CohortState, result: MatchResult) -> list[NewDraftPair]:
    """The engine's new and pinned pairs as draft pairs (fixed pairs are not part of a draft)."""
    return [
        NewDraftPair(
            mentor_id=state.by_emp[p.mentor_id].id,
            mentee_id=state.by_emp[p.mentee_id].id,
            score=p.score,
            breakdown=breakdown_dict(p.breakdown),
            explanation=p.explanation,
            violations=list(p.hard_violations),
            pinned=p.origin == "pinned",
            origin=p.origin,
        )
        for p in result.pairs
        if p.origin != "fixed"
    ]


def unmatched_rows(state: CohortState, result: MatchResult) -> list[UnmatchedData]:
    return [
        {
            "participant_id": str(state.by_emp[u.participant_id].id),
            "employee_id": u.participant_id,
            "reason_code": u.reason_code,
            "reason": u.reason,
        }
        for u in result.unmatched
    ]


def review_edits(state: CohortState, drafts: Iterable[DraftPairRow]) -> tuple[list[EmpPair], list[EmpPair]]:
    """(pinned, removed) for a re-solve: pins are kept unless someone withdrew or is now booked."""
    pinned: list[EmpPair] = []
    removed: list[EmpPair] = []
    for d in drafts:
        pair = (d.mentor_employee_id, d.mentee_employee_id)
        if d.mentor_id not in state.by_id or d.mentee_id not in state.by_id:
            continue  # someone withdrew: the pin no longer applies
        if d.removed:
            removed.append(pair)
        elif d.pinned and not capacity_problems(state, *pair):
            pinned.append(pair)
    return pinned, removed


def stale_drafts(state: CohortState, drafts: Iterable[DraftPairRow]) -> list[dict[str, str]]:
    """Draft pairs that can no longer be published (someone withdrew or is booked meanwhile)."""
    conflicts = []
    for d in drafts:
        if d.mentor_id not in state.by_id or d.mentee_id not in state.by_id:
            conflicts.append({"draft_pair_id": str(d.id), "problem": "a participant has withdrawn"})
            continue
        issues = capacity_problems(state, d.mentor_employee_id, d.mentee_employee_id)
        if issues:
            conflicts.append({"draft_pair_id": str(d.id), "problem": "; ".join(issues)})
    return conflicts


def run_stats(result: MatchResult, kept: int) -> dict[str, Any]:  # Any: a JSON document
    s = result.stats
    return {
        "participants": s.participants,
        "free_participants": s.free_participants,
        "pairs": sum(1 for p in result.pairs if p.origin != "fixed"),
        "kept_pairs": kept,
        "unmatched": len(result.unmatched),
        "total_score": round(s.total_score, 4),
        "upper_bound": round(s.upper_bound, 4),
        "proven_optimal": s.proven_optimal,
        "certified_gap": s.certified_gap,
        "pricing_rounds": s.pricing_rounds,
        "priced_pairs": s.priced_pairs,
        "quota_costs": dict(s.quota_costs),
        "candidate_edges": s.candidate_edges,
        "timings_s": {k: round(v, 4) for k, v in s.timings_s.items()},
    }


def suggestion_inputs(state: CohortState) -> SuggestionInputs:
    """What the cohort's suggestion index is built from (everything but who is taken right now)."""
    return SuggestionInputs.of(
        state.people,
        state.policy,
        history=state.history,
        excluded_pairs=state.excluded,
        org_chart=state.manager_of(),
    )


def suggestions(
    state: CohortState, employee_id: str, k: int, *, cache: SuggestionCache | None = None
) -> list[Suggestion]:
    """Explained for the participant who asks (self-service): in their own stored locale.

    With ``cache`` the cohort's index is reused while the loaded data it is built from is unchanged
    (see engine/suggestion_cache.py); who is taken (``state.occupied``) is applied on every call."""
    with explaining(state.by_emp[employee_id].locale, state.cohort.skill_taxonomy):
        inputs = suggestion_inputs(state)
        prepared = prepare_suggestions(inputs) if cache is None else cache.prepared(state.cohort.id, inputs)
        return suggest_prepared(prepared, employee_id, k, current_pairs=state.occupied)


@dataclass(frozen=True)
class PairAssessment:
    score: float
    breakdown: dict[str, float]
    explanation: str
    violations: list[str]


def assess_pair(state: CohortState, mentor_emp: str, mentee_emp: str) -> PairAssessment:
    """Score, explanation and broken hard constraints of one oriented pair (score is pairwise)."""
    mentor, mentee = to_engine(state.by_emp[mentor_emp]), to_engine(state.by_emp[mentee_emp])
    index = PopulationIndex([mentor, mentee], state.policy, org_chart=state.manager_of())
    m, e = index.pos[mentor_emp], index.pos[mentee_emp]
    sc = score(index, np.array([m], dtype=np.intp), np.array([e], dtype=np.intp))
    bd = breakdown_of(sc.components[:, 0], float(sc.total[0]), int(sc.overlap_minutes[0]))
    violations = pair_violations(
        mentor,
        mentee,
        state.policy,
        manager_of=state.manager_of(),
        history=state.history,
        excluded_pairs=state.excluded,
    )
    text = explain_pair(index, m, e, bd, locale=state.hr_locale(), taxonomy=state.cohort.skill_taxonomy)
    return PairAssessment(bd.total, breakdown_dict(bd), text, violations)


def capacity_problems(state: CohortState, mentor_emp: str, mentee_emp: str) -> list[str]:
    """Why adding mentor->mentee would overbook someone, given accepted pairs and open proposals."""
    problems = []
    as_mentor = sum(1 for m, _ in state.occupied if m == mentor_emp)
    cap = min(state.by_emp[mentor_emp].capacity, state.policy.max_mentees_per_mentor)
    if any(e == mentor_emp for _, e in state.occupied):
        problems.append("the mentor is already a mentee in a pair or open proposal")
    if as_mentor >= cap:
        problems.append(f"the mentor already has {as_mentor} of {cap} mentees (pairs or open proposals)")
    if any(mentee_emp in pair for pair in state.occupied):
        problems.append("the mentee is already in a pair or open proposal")
    if (mentor_emp, mentee_emp) in state.occupied:
        problems.append("these two are already paired or proposed")
    return problems
