"""Read-model rows from matching's events: cohorts, participants, proposals, pairs, and the company
directory's changes of enrolled people (leavers, movers)."""

from __future__ import annotations

from datetime import datetime

from bridge_reporting.domain import tables as t
from bridge_reporting.domain.timeline import Rows, timeline
from bridge_reporting.domain.upsert import Row
from bridge_shared.contracts import matching as m
from bridge_shared.events.registry import EventPayload


def _profile(prefix: str, ref: m.ParticipantRef) -> Row:
    return {
        f"{prefix}region": ref.region,
        f"{prefix}department": ref.department,
        f"{prefix}band": t.band(ref.seniority_level),
    }


def _proposal(
    p: m.MatchAcceptedV1 | m.MatchDeclinedV1 | m.MatchExpiredV1 | m.MatchCancelledV1,
    column: str,
    at: datetime,
) -> Rows:
    return [(t.PROPOSALS, {"proposal_id": p.proposal_id, "cohort_id": p.cohort_id, column: at})]


def matching_rows(eid: str, at: datetime, p: EventPayload) -> Rows:
    if isinstance(p, m.CohortCreatedV1):
        return [
            (
                t.COHORTS,
                {
                    "cohort_id": p.cohort_id,
                    "name": p.name,
                    "regions": list(p.regions),
                    "created_at": at,
                    "programme_start": p.programme_start,
                    "programme_end": p.programme_end,
                    "inactivity_threshold_days": p.inactivity_threshold_days,
                    "phase": p.phase,
                    "phase_at": at,
                },
            )
        ]
    if isinstance(p, m.CohortPhaseChangedV1):
        return [(t.COHORTS, {"cohort_id": p.cohort_id, "phase": p.to_phase, "phase_at": p.changed_at})]
    if isinstance(p, m.ParticipantEnrolledV1 | m.ParticipantUpdatedV1):
        row: Row = {
            "participant_id": p.participant_id,
            "cohort_id": p.cohort_id,
            "employee_id": p.profile.employee_id,
            "role": p.role,
            "region": p.profile.region,
            "department": p.profile.department,
            "seniority_level": p.profile.seniority_level,
            "band": t.band(p.profile.seniority_level),
            "profile_at": at,
        }
        if isinstance(p, m.ParticipantEnrolledV1):
            row["enrolled_at"] = at
        return [(t.PARTICIPANTS, row)]
    if isinstance(p, m.ParticipantWithdrawnV1):
        return [
            (
                t.PARTICIPANTS,
                {"participant_id": p.participant_id, "cohort_id": p.cohort_id, "withdrawn_at": at},
            )
        ]
    if isinstance(p, m.MatchProposedV1):
        return [
            (
                t.PROPOSALS,
                {
                    "proposal_id": p.proposal_id,
                    "cohort_id": p.cohort_id,
                    "mentor_id": p.mentor.participant_id,
                    "mentee_id": p.mentee.participant_id,
                    "proposed_at": at,
                },
            )
        ]
    if isinstance(p, m.MatchAcceptedV1):
        return _proposal(p, "accepted_at", at)
    if isinstance(p, m.MatchDeclinedV1):
        return _proposal(p, "declined_at", at)
    if isinstance(p, m.MatchExpiredV1):
        return _proposal(p, "expired_at", p.expired_at or at)
    if isinstance(p, m.MatchCancelledV1):
        return _proposal(p, "cancelled_at", p.cancelled_at)
    if isinstance(p, m.PairFormedV1):
        return [
            (
                t.PAIRS,
                {
                    "pair_id": p.pair_id,
                    "cohort_id": p.cohort_id,
                    "mentor_id": p.mentor.participant_id,
                    "mentee_id": p.mentee.participant_id,
                    **_profile("", p.mentee),
                    **_profile("mentor_", p.mentor),
                    "mentor_name": p.mentor.display_name,
                    "mentee_name": p.mentee.display_name,
                    "formed_at": p.formed_at,
                },
            ),
            # Names stay in the pair row (shown once, anonymised on erasure), not in texts.
            timeline(eid, p, p.formed_at, "Pair formed"),
        ]
    if isinstance(p, m.PairDissolvedV1):
        dissolved: Row = {"pair_id": p.pair_id, "cohort_id": p.cohort_id, "dissolved_at": at}
        left = p.left_participant_id if isinstance(p, m.PairDissolvedV2) else None
        if left is not None:
            dissolved["left_participant_id"] = left
        return [
            (t.PAIRS, dissolved),
            timeline(
                eid,
                p,
                at,
                f"Pair dissolved: {p.reason}" + (" (one of the two left the company)" if left else ""),
            ),
        ]
    if isinstance(p, m.PairFlaggedV1):
        return [
            (
                t.PAIRS,
                {
                    "pair_id": p.pair_id,
                    "cohort_id": p.cohort_id,
                    "mentor_id": p.mentor_id,
                    "mentee_id": p.mentee_id,
                    "flagged_at": p.flagged_at,
                    "flag_rule": p.rule,
                    "flag_reason": p.reason,
                },
            ),
            timeline(eid, p, p.flagged_at, f"Pair flagged for HR ({p.rule}): {p.reason}"),
        ]
    if isinstance(p, m.PersonLeftV1):
        return [
            (
                t.DIRECTORY_CHANGES,
                {
                    "event_id": eid,
                    "participant_id": pid,
                    "kind": "left",
                    "at": p.left_at,
                    "left_on": p.left_on,
                    "detail": p.cause,
                },
            )
            for pid in dict.fromkeys(p.participant_ids)
        ]
    if isinstance(p, m.PersonMovedV1):
        return [
            (
                t.DIRECTORY_CHANGES,
                {
                    "event_id": eid,
                    "participant_id": pid,
                    "kind": "moved",
                    "at": p.moved_at,
                    "detail": ",".join(p.changed),
                },
            )
            for pid in dict.fromkeys(p.participant_ids)
        ]
    return []
