"""Builds the public event payloads (and their subjects) from stored rows. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal, cast

from bridge_matching.domain.policy import FORMATS
from bridge_matching.domain.rows import CircleRow, CohortRow, PairRow, ParticipantRow, ProposalRow, SlotData
from bridge_shared.contracts.circles import (
    CircleDissolvedV1,
    CircleExplanation,
    CircleFormedV1,
    CircleMember,
    CircleMemberRespondedV1,
    CircleProposedV1,
    CircleRefilledV1,
    Generation,
    WeeklySlot,
)
from bridge_shared.contracts.matching import (
    CohortCreatedV1,
    DirectorySource,
    MatchCancelledV1,
    MatchDeclinedV2,
    MatchExpiredV1,
    MatchExplanationV2,
    MatchProposedV2,
    MovedField,
    PairDissolvedV2,
    PairFlaggedV1,
    PairFormedV2,
    ParticipantEnrolledV2,
    ParticipantRefV2,
    ParticipantUpdatedV2,
    ParticipantWithdrawnV2,
    PersonJoinedV1,
    PersonLeftV1,
    PersonMovedV1,
)
from bridge_shared.contracts.privacy import ErasureRequestedV1, ExportRequestedV1


def cohort_subject(cohort_id: uuid.UUID) -> str:
    return f"cohort/{cohort_id}"


def participant_subject(row: ParticipantRow) -> str:
    return f"cohort/{row.cohort_id}/participant/{row.id}"


def proposal_subject(p: ProposalRow) -> str:
    return f"cohort/{p.cohort_id}/proposal/{p.id}"


def pair_subject(p: PairRow) -> str:
    return f"cohort/{p.cohort_id}/pair/{p.id}"


# The profile fields the public ParticipantRef carries (the contract names them; rows have them all).
# Producers write only the latest version of each type (v2: personal fields sealed on the wire).
_REF_FIELDS = tuple(f for f in ParticipantRefV2.model_fields if f != "participant_id")


def _ref_fields(row: ParticipantRow) -> dict[str, Any]:  # Any: ParticipantRef's field values
    return {"participant_id": str(row.id), **{f: getattr(row, f) for f in _REF_FIELDS}}


def participant_ref(row: ParticipantRow) -> ParticipantRefV2:
    return ParticipantRefV2(**_ref_fields(row))


def participant_event(
    row: ParticipantRow, *, inserted: bool, trusted: bool = False
) -> ParticipantEnrolledV2 | ParticipantUpdatedV2:
    """Enrolled for new rows, updated otherwise. `trusted` skips re-validating rows validated on the way in
    (the bulk import builds tens of thousands of these)."""
    cls = ParticipantEnrolledV2 if inserted else ParticipantUpdatedV2
    profile = ParticipantRefV2.model_construct(**_ref_fields(row)) if trusted else participant_ref(row)
    build = cls.model_construct if trusted else cls
    return build(participant_id=str(row.id), cohort_id=str(row.cohort_id), role=row.role, profile=profile)


def explanation(score: float, breakdown: dict[str, float], summary: str) -> MatchExplanationV2:
    return MatchExplanationV2(score=score, breakdown=breakdown, summary=summary)


def cohort_created(row: CohortRow) -> CohortCreatedV1:
    return CohortCreatedV1(
        cohort_id=str(row.id),
        name=row.name,
        regions=row.regions,
        hr_contact_email=row.hr_contact_email,
        enrolment_opens=row.enrolment_opens,
        enrolment_closes=row.enrolment_closes,
        programme_start=row.programme_start,
        programme_end=row.programme_end,
        inactivity_threshold_days=row.inactivity_threshold_days,
        matching_date=row.matching_date,
        phase=row.phase,
        skill_taxonomy=row.skill_taxonomy,
        formats=[f for f in FORMATS if f in row.formats],
    )


def match_proposed(p: ProposalRow, people: Mapping[uuid.UUID, ParticipantRow]) -> MatchProposedV2:
    return MatchProposedV2(
        proposal_id=str(p.id),
        cohort_id=str(p.cohort_id),
        mentor=participant_ref(people[p.mentor_id]),
        mentee=participant_ref(people[p.mentee_id]),
        explanation=explanation(p.score, p.breakdown, p.explanation),
        expires_at=p.expires_at,
        source=p.source,
        run_id=str(p.run_id) if p.run_id else None,
        requested_by=str(p.requested_by) if p.requested_by else None,
    )


def match_declined(p: ProposalRow, participant_id: uuid.UUID, reason: str | None) -> MatchDeclinedV2:
    return MatchDeclinedV2(
        proposal_id=str(p.id), cohort_id=str(p.cohort_id), participant_id=str(participant_id), reason=reason
    )


def match_cancelled(
    p: ProposalRow, left: uuid.UUID, cause: Literal["withdrawn", "erased"], now: datetime
) -> MatchCancelledV1:
    return MatchCancelledV1(
        proposal_id=str(p.id),
        cohort_id=str(p.cohort_id),
        mentor_id=str(p.mentor_id),
        mentee_id=str(p.mentee_id),
        left_participant_id=str(left),
        cause=cause,
        cancelled_at=now,
    )


def match_expired(p: ProposalRow, now: datetime) -> MatchExpiredV1:
    return MatchExpiredV1(
        proposal_id=str(p.id),
        cohort_id=str(p.cohort_id),
        mentor_id=str(p.mentor_id),
        mentee_id=str(p.mentee_id),
        expired_at=now,
    )


def pair_formed(
    pair: PairRow, cohort: CohortRow, mentor: ParticipantRow, mentee: ParticipantRow, now: datetime
) -> PairFormedV2:
    return PairFormedV2(
        pair_id=str(pair.id),
        cohort_id=str(cohort.id),
        mentor=participant_ref(mentor),
        mentee=participant_ref(mentee),
        explanation=explanation(pair.score, pair.breakdown, pair.explanation),
        formed_at=now,
        programme_end=cohort.programme_end,
        hr_contact_email=cohort.hr_contact_email,
        proposal_id=str(pair.proposal_id) if pair.proposal_id else None,
        origin=pair.origin,
    )


def pair_dissolved(
    pair: PairRow, reason: str, by: str, *, left_participant_id: uuid.UUID | None = None
) -> PairDissolvedV2:
    """`left_participant_id`: the one of the two who left the company (matching.person.left)."""
    return PairDissolvedV2(
        pair_id=str(pair.id),
        cohort_id=str(pair.cohort_id),
        reason=reason,
        dissolved_by=by,
        mentor_id=str(pair.mentor_id),
        mentee_id=str(pair.mentee_id),
        left_participant_id=None if left_participant_id is None else str(left_participant_id),
    )


def participant_withdrawn(row: ParticipantRow, reason: str | None) -> ParticipantWithdrawnV2:
    return ParticipantWithdrawnV2(participant_id=str(row.id), cohort_id=str(row.cohort_id), reason=reason)


def erasure_requested(
    erasure_id: uuid.UUID, participant_ids: list[uuid.UUID], cohort_ids: list[uuid.UUID], now: datetime
) -> ErasureRequestedV1:
    return ErasureRequestedV1(
        erasure_id=str(erasure_id),
        participant_ids=[str(p) for p in participant_ids],
        cohort_ids=sorted({str(c) for c in cohort_ids}),
        requested_at=now,
    )


def export_requested(
    export_id: uuid.UUID, participant_ids: list[uuid.UUID], now: datetime
) -> ExportRequestedV1:
    return ExportRequestedV1(
        export_id=str(export_id), participant_ids=[str(p) for p in participant_ids], requested_at=now
    )


# -- the company directory (domain/directory.py): nothing personal travels, a person is an id -------

# The contracts bound departments more tightly than the directory does (120 against 200 characters);
# the event carries the start of a longer one (HR reads it whole in the directory API).
_EVENT_DEPARTMENT_MAX = 120
_MAX_IDS = 1000


def _department(value: str | None) -> str | None:
    return None if value is None else value[:_EVENT_DEPARTMENT_MAX].rstrip()


def _ids(ids: list[uuid.UUID]) -> list[str]:
    return [str(i) for i in ids[:_MAX_IDS]]


def person_subject(person_id: uuid.UUID) -> str:
    return f"person/{person_id}"


def person_joined(
    person_id: uuid.UUID,
    *,
    department: str | None,
    region: str | None,
    start_date: date | None,
    source: DirectorySource,
    now: datetime,
) -> PersonJoinedV1:
    return PersonJoinedV1(
        person_id=str(person_id),
        department=_department(department),
        region=region,
        start_date=start_date,
        source=source,
        joined_at=now,
    )


def person_moved(
    person_id: uuid.UUID,
    *,
    changed: Sequence[str],  # MOVED_FIELD_OF's values (domain/directory.py), the contract's MovedField
    department: str | None,
    previous_department: str | None,
    region: str | None,
    participant_ids: list[uuid.UUID],
    source: DirectorySource,
    now: datetime,
) -> PersonMovedV1:
    return PersonMovedV1(
        person_id=str(person_id),
        changed=[cast(MovedField, c) for c in changed],  # validated as MovedField by the contract
        department=_department(department),
        previous_department=_department(previous_department),
        region=region,
        participant_ids=_ids(participant_ids),
        source=source,
        moved_at=now,
    )


def person_left(
    person_id: uuid.UUID,
    *,
    participant_ids: list[uuid.UUID],
    cause: Literal["deactivated", "deleted", "terminated"],
    left_on: date,
    source: DirectorySource,
    now: datetime,
) -> PersonLeftV1:
    return PersonLeftV1(
        person_id=str(person_id),
        participant_ids=_ids(participant_ids),
        cause=cause,
        left_on=left_on,
        source=source,
        left_at=now,
    )


def pair_flagged(
    pair: PairRow, cohort: CohortRow, *, moved_person_id: uuid.UUID, reason: str, now: datetime
) -> PairFlaggedV1:
    return PairFlaggedV1(
        pair_id=str(pair.id),
        cohort_id=str(pair.cohort_id),
        mentor_id=str(pair.mentor_id),
        mentee_id=str(pair.mentee_id),
        moved_person_id=str(moved_person_id),
        rule="management_chain",
        reason=reason,
        hr_contact_email=cohort.hr_contact_email or None,
        flagged_at=now,
    )


# -- mentoring circles (issue 15): personal fields sealed under each member's keys by the contracts ---

_SUMMARY_MAX = 4000
_CIRCLE_TEXT_MAX = 1000


def circle_subject(circle: CircleRow) -> str:
    return f"cohort/{circle.cohort_id}/circle/{circle.id}"


def circle_member(row: ParticipantRow, generation: Generation) -> CircleMember:
    """One member as the other services address and report on them (`generation` under the cohort's
    policy: app/circles.py classifies)."""
    return CircleMember(
        participant_id=str(row.id),
        employee_id=row.employee_id,
        display_name=row.display_name,
        email=row.email,
        region=row.region,
        department=_department(row.department) or row.department,
        seniority_level=row.seniority_level,
        generation=generation,
        timezone=row.timezone,
        locale=row.locale,
    )


def weekly_slot(slot: SlotData | None) -> WeeklySlot | None:
    if slot is None:
        return None
    return WeeklySlot(
        weekday=slot["weekday"],
        start_minute=slot["start_minute"],
        duration_minutes=max(15, min(slot["duration_minutes"], 24 * 60)),
    )


def circle_explanation(circle: CircleRow) -> CircleExplanation:
    summary = circle.explanation
    if len(summary) > _SUMMARY_MAX:
        summary = summary[: _SUMMARY_MAX - 1].rstrip() + "…"
    return CircleExplanation(score=circle.score, breakdown=dict(circle.breakdown), summary=summary)


def _reason(text: str | None) -> str | None:
    return None if text is None else text[:_CIRCLE_TEXT_MAX]


def _circle_language(circle: CircleRow) -> str:
    if circle.language is None:  # publishing refuses a circle without one (app/circles.py)
        raise ValueError(f"circle {circle.id} has no common language")
    return circle.language


def _facilitator(circle: CircleRow) -> str:
    if circle.facilitator_id is None:  # publishing refuses a circle without one (app/circles.py)
        raise ValueError(f"circle {circle.id} has no facilitator")
    return str(circle.facilitator_id)


def circle_proposed(circle: CircleRow, members: Sequence[CircleMember]) -> CircleProposedV1:
    if circle.expires_at is None:
        raise ValueError(f"circle {circle.id} was published without an expiry")
    return CircleProposedV1(
        circle_id=str(circle.id),
        cohort_id=str(circle.cohort_id),
        run_id=None if circle.run_id is None else str(circle.run_id),
        member_ids=[m.participant_id for m in members],
        members=list(members),
        facilitator_id=_facilitator(circle),
        language=_circle_language(circle),
        weekly_slot=weekly_slot(circle.weekly_slot),
        explanation=circle_explanation(circle),
        expires_at=circle.expires_at,
    )


def circle_member_responded(
    circle: CircleRow, participant_id: uuid.UUID, *, accepted: bool, reason: str | None, now: datetime
) -> CircleMemberRespondedV1:
    return CircleMemberRespondedV1(
        circle_id=str(circle.id),
        cohort_id=str(circle.cohort_id),
        participant_id=str(participant_id),
        response="accepted" if accepted else "declined",
        reason=_reason(reason),
        responded_at=now,
    )


def circle_refilled(
    circle: CircleRow,
    *,
    left_participant_id: uuid.UUID,
    added: CircleMember | None,
    member_ids: Sequence[uuid.UUID],
) -> CircleRefilledV1:
    """`added` None: nobody fits (or the circle is formed: it is never refilled); it goes on smaller."""
    if circle.expires_at is None:
        raise ValueError(f"circle {circle.id} has no expiry")
    return CircleRefilledV1(
        circle_id=str(circle.id),
        cohort_id=str(circle.cohort_id),
        left_participant_id=str(left_participant_id),
        added=added,
        member_ids=[str(m) for m in member_ids],
        facilitator_id=_facilitator(circle),
        expires_at=circle.expires_at,
    )


def circle_formed(
    circle: CircleRow, cohort: CohortRow, members: Sequence[CircleMember], now: datetime
) -> CircleFormedV1:
    return CircleFormedV1(
        circle_id=str(circle.id),
        cohort_id=str(circle.cohort_id),
        member_ids=[m.participant_id for m in members],
        members=list(members),
        facilitator_id=_facilitator(circle),
        language=_circle_language(circle),
        weekly_slot=weekly_slot(circle.weekly_slot),
        explanation=circle_explanation(circle),
        formed_at=now,
        programme_end=cohort.programme_end,
        hr_contact_email=cohort.hr_contact_email or None,
    )


def circle_dissolved(
    circle: CircleRow, member_ids: Sequence[uuid.UUID], reason: str, now: datetime
) -> CircleDissolvedV1:
    return CircleDissolvedV1(
        circle_id=str(circle.id),
        cohort_id=str(circle.cohort_id),
        member_ids=[str(m) for m in member_ids],
        reason=reason[:_CIRCLE_TEXT_MAX],
        dissolved_at=now,
    )
