"""Builds the public event payloads from stored rows."""

from __future__ import annotations

from typing import Any

from bridge_shared.contracts.matching import (
    MatchExplanation,
    ParticipantEnrolledV1,
    ParticipantRef,
    ParticipantUpdatedV1,
)


def participant_ref(row: Any) -> ParticipantRef:
    return ParticipantRef(
        participant_id=str(row["id"]),
        employee_id=row["employee_id"],
        display_name=row["display_name"],
        email=row["email"],
        region=row["region"],
        department=row["department"],
        seniority_level=row["seniority_level"],
        timezone=row["timezone"],
        locale=row["locale"],
    )


def participant_event(
    row: Any, *, inserted: bool, trusted: bool = False
) -> ParticipantEnrolledV1 | ParticipantUpdatedV1:
    """Enrolled for new rows, updated otherwise. `trusted` skips re-validating rows validated on the way in
    (the bulk import builds tens of thousands of these)."""
    cls = ParticipantEnrolledV1 if inserted else ParticipantUpdatedV1
    if trusted:
        ref = ParticipantRef.model_construct(
            participant_id=str(row["id"]),
            employee_id=row["employee_id"],
            display_name=row["display_name"],
            email=row["email"],
            region=row["region"],
            department=row["department"],
            seniority_level=row["seniority_level"],
            timezone=row["timezone"],
            locale=row["locale"],
        )
        return cls.model_construct(
            participant_id=str(row["id"]), cohort_id=str(row["cohort_id"]), role=row["role"], profile=ref
        )
    return cls(
        participant_id=str(row["id"]),
        cohort_id=str(row["cohort_id"]),
        role=row["role"],
        profile=participant_ref(row),
    )


def participant_subject(row: Any) -> str:
    return f"cohort/{row['cohort_id']}/participant/{row['id']}"


def explanation(score: float, breakdown: dict[str, float], summary: str) -> MatchExplanation:
    return MatchExplanation(score=score, breakdown=breakdown, summary=summary)
