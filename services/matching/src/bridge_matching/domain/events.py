"""Builds the public event payloads (and their subjects) from stored rows. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bridge_matching.domain.rows import CohortRow, PairRow, ParticipantRow, ProposalRow
from bridge_shared.contracts.matching import (
    CohortCreatedV1,
    MatchDeclinedV1,
    MatchExpiredV1,
    MatchExplanation,
    MatchProposedV1,
    PairDissolvedV1,
    PairFormedV1,
    ParticipantEnrolledV1,
    ParticipantRef,
    ParticipantUpdatedV1,
)


def cohort_subject(cohort_id: uuid.UUID) -> str:
    return f"cohort/{cohort_id}"


def participant_subject(row: ParticipantRow) -> str:
    return f"cohort/{row.cohort_id}/participant/{row.id}"


def proposal_subject(p: ProposalRow) -> str:
    return f"cohort/{p.cohort_id}/proposal/{p.id}"


def pair_subject(p: PairRow) -> str:
    return f"cohort/{p.cohort_id}/pair/{p.id}"


# The profile fields the public ParticipantRef carries (the contract names them; rows have them all).
_REF_FIELDS = tuple(f for f in ParticipantRef.model_fields if f != "participant_id")


def _ref_fields(row: ParticipantRow) -> dict[str, Any]:  # Any: ParticipantRef's field values
    return {"participant_id": str(row.id), **{f: getattr(row, f) for f in _REF_FIELDS}}


def participant_ref(row: ParticipantRow) -> ParticipantRef:
    return ParticipantRef(**_ref_fields(row))


def participant_event(
    row: ParticipantRow, *, inserted: bool, trusted: bool = False
) -> ParticipantEnrolledV1 | ParticipantUpdatedV1:
    """Enrolled for new rows, updated otherwise. `trusted` skips re-validating rows validated on the way in
    (the bulk import builds tens of thousands of these)."""
    cls = ParticipantEnrolledV1 if inserted else ParticipantUpdatedV1
    profile = ParticipantRef.model_construct(**_ref_fields(row)) if trusted else participant_ref(row)
    build = cls.model_construct if trusted else cls
    return build(participant_id=str(row.id), cohort_id=str(row.cohort_id), role=row.role, profile=profile)


def explanation(score: float, breakdown: dict[str, float], summary: str) -> MatchExplanation:
    return MatchExplanation(score=score, breakdown=breakdown, summary=summary)


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
    )


def match_proposed(p: ProposalRow, people: Mapping[uuid.UUID, ParticipantRow]) -> MatchProposedV1:
    return MatchProposedV1(
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


def match_declined(p: ProposalRow, participant_id: uuid.UUID, reason: str | None) -> MatchDeclinedV1:
    return MatchDeclinedV1(
        proposal_id=str(p.id), cohort_id=str(p.cohort_id), participant_id=str(participant_id), reason=reason
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
) -> PairFormedV1:
    return PairFormedV1(
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


def pair_dissolved(pair: PairRow, reason: str, by: str) -> PairDissolvedV1:
    return PairDissolvedV1(
        pair_id=str(pair.id),
        cohort_id=str(pair.cohort_id),
        reason=reason,
        dissolved_by=by,
        mentor_id=str(pair.mentor_id),
        mentee_id=str(pair.mentee_id),
    )
