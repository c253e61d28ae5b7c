"""Read-model rows from sessions' relationship events: pairs, sessions, goals, feedback, risk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge_reporting.domain import tables as t
from bridge_reporting.domain.timeline import Rows, timeline
from bridge_reporting.domain.upsert import Row, Table
from bridge_shared.contracts import sessions as s


def _pair(p: s.RelationshipEvent, **cols: Any) -> tuple[Table, Row]:  # Any: column values
    return t.PAIRS, {"pair_id": p.pair_id, "cohort_id": p.cohort_id, **cols}


def _risk(
    eid: str, p: s.PairAtRiskV1 | s.PairRiskResolvedV1, signal: bool, detail: str | None, at: datetime
) -> tuple[Table, Row]:
    return t.RISK_EVENTS, {
        "event_id": eid,
        "pair_id": p.pair_id,
        "cohort_id": p.cohort_id,
        "reason": p.reason,
        "signal": signal,
        "detail": detail,
        "at": at,
    }


def relationship_rows(eid: str, at: datetime, p: s.RelationshipEvent) -> Rows:
    if isinstance(p, s.RelationshipStartedV1):
        return [
            _pair(p, relationship_id=p.relationship_id, started_at=p.started_at),
            timeline(eid, p, p.started_at, "Relationship started"),
        ]
    if isinstance(p, s.AgreementDraftedV1):
        return [timeline(eid, p, at, f"Agreement v{p.agreement_version} drafted")]
    if isinstance(p, s.AgreementAmendedV1):
        return [timeline(eid, p, at, f"Agreement amended to v{p.agreement_version}")]
    if isinstance(p, s.AgreementConfirmedV1):
        return [
            _pair(p, agreement_confirmed_at=at),
            timeline(
                eid,
                p,
                at,
                f"Agreement v{p.agreement_version} confirmed: every "
                f"{p.cadence_days} days, {p.start_date} to {p.end_date}",
            ),
        ]
    if isinstance(p, s.SessionEvent):
        return _session_rows(eid, at, p)
    if isinstance(p, s.GoalEvent):
        return _goal_rows(eid, at, p)
    if isinstance(p, s.FeedbackSubmittedV1):
        parts = [
            f"rating {p.rating}/5" if p.rating is not None else "",
            f"recommend {p.recommend_score}/10" if p.recommend_score is not None else "",
        ]
        return [
            (
                t.FEEDBACK,
                {
                    "feedback_id": p.feedback_id,
                    "pair_id": p.pair_id,
                    "cohort_id": p.cohort_id,
                    "kind": p.kind,
                    "by_side": p.by_side,
                    "by_participant_id": p.by_participant_id,
                    "rating": p.rating,
                    "recommend_score": p.recommend_score,
                    "submitted_at": p.submitted_at,
                },
            ),
            timeline(
                eid,
                p,
                p.submitted_at,
                f"{p.kind.capitalize()} feedback from the {p.by_side}"
                + (": " + ", ".join(x for x in parts if x) if any(parts) else ""),
            ),
        ]
    if isinstance(p, s.PairAtRiskV1):
        return [
            _risk(eid, p, True, p.detail, p.detected_at),
            timeline(eid, p, p.detected_at, f"At risk ({p.reason}): {p.detail}"),
        ]
    if isinstance(p, s.PairRiskResolvedV1):
        return [
            _risk(eid, p, False, None, p.resolved_at),
            timeline(eid, p, p.resolved_at, f"Risk resolved ({p.reason})"),
        ]
    if isinstance(p, s.RelationshipEndingSoonV1):
        return [timeline(eid, p, at, f"Relationship ending soon ({p.end_date})")]
    if isinstance(p, s.PairClosedV1):
        left = p.left_participant_id if isinstance(p, s.PairClosedV2) else None
        extra = {"left_participant_id": left} if left is not None else {}
        return [
            _pair(p, closed_at=p.closed_at, outcome=p.outcome, **extra),
            timeline(
                eid,
                p,
                p.closed_at,
                f"Pair closed ({'left_company' if left else p.outcome}) after {p.sessions_held} sessions"
                + (f": {p.reason}" if p.reason else ""),
            ),
        ]
    return []


def _session_rows(eid: str, at: datetime, p: s.SessionEvent) -> Rows:
    base = {"session_id": p.session_id, "pair_id": p.pair_id, "cohort_id": p.cohort_id}
    if isinstance(p, s.SessionScheduledV1 | s.SessionRescheduledV1):
        verb = "scheduled" if isinstance(p, s.SessionScheduledV1) else "rescheduled"
        return [
            (t.SESSIONS, {**base, "starts_at": p.starts_at, "scheduled_at": at}),
            timeline(eid, p, at, f"Session {verb} for {p.starts_at.isoformat()}"),
        ]
    if isinstance(p, s.SessionCancelledV1):
        return [
            (t.SESSIONS, {**base, "cancelled_at": at}),
            timeline(eid, p, at, f"Session cancelled{': ' + p.reason if p.reason else ''}"),
        ]
    if isinstance(p, s.SessionHeldV1):
        m2e = sum(1 for x in p.topics if x.direction == "mentor_to_mentee")
        e2m = sum(1 for x in p.topics if x.direction == "mentee_to_mentor")
        return [
            (
                t.SESSIONS,
                {
                    **base,
                    "held_at": p.held_at,
                    "duration_minutes": p.actual_duration_minutes,
                    "topics_m2e": m2e,
                    "topics_e2m": e2m,
                    "action_items": p.action_items,
                },
            ),
            timeline(
                eid,
                p,
                p.held_at,
                f"Session held ({p.actual_duration_minutes} min; topics "
                f"{m2e} mentor\u2192mentee, {e2m} mentee\u2192mentor)",
            ),
        ]
    return []


def _goal_rows(eid: str, at: datetime, p: s.GoalEvent) -> Rows:
    g = {"goal_id": p.goal_id, "pair_id": p.pair_id, "cohort_id": p.cohort_id}
    if isinstance(p, s.GoalSetV1):
        return [
            (t.GOALS, {**g, "owner_side": p.owner_side, "set_at": at}),
            timeline(eid, p, at, f"Goal set ({p.owner_side}): {p.title}"),
        ]
    if isinstance(p, s.GoalProgressedV1):
        return [
            (t.GOALS, {**g, "last_rating": p.rating, "rated_at": at}),
            timeline(eid, p, at, f"Goal progressed: {p.rating}/5"),
        ]
    if isinstance(p, s.GoalAchievedV1):
        return [(t.GOALS, {**g, "achieved_at": at}), timeline(eid, p, at, "Goal achieved")]
    if isinstance(p, s.GoalAbandonedV1):
        return [(t.GOALS, {**g, "abandoned_at": at}), timeline(eid, p, at, "Goal abandoned")]
    return []
