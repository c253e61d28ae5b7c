"""Projects every event stream into the read models, set-based.

`rows_for(event)` turns one event into read-model rows; `apply_events` folds a whole batch into a
`BatchWriter` and writes one `INSERT ... SELECT FROM unnest` per table. The live consumer (batch
path, one transaction per Kafka batch with the inbox claim) and the rebuild command share this code,
the rebuild only points it at shadow tables (a table-name suffix).

Times are event times (payload times where the contract has them, else the CloudEvents `time`),
never arrival times, so a replay gives the same rows as live consumption.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from bridge_reporting.domain import tables as t
from bridge_reporting.domain.upsert import BatchWriter, Row, Table
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import notifications as n
from bridge_shared.contracts import sessions as s
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.events.registry import EventPayload
from bridge_shared.events.topics import ALL_EVENT_TOPICS
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime

TOPICS = list(ALL_EVENT_TOPICS)
CONSUMER_NAME = "read_models"

HANDLED: tuple[type[EventPayload], ...] = (
    m.CohortCreatedV1,
    m.CohortPhaseChangedV1,
    m.ParticipantEnrolledV1,
    m.ParticipantUpdatedV1,
    m.ParticipantWithdrawnV1,
    m.MatchProposedV1,
    m.MatchAcceptedV1,
    m.MatchDeclinedV1,
    m.MatchExpiredV1,
    m.PairFormedV1,
    m.PairDissolvedV1,
    s.RelationshipStartedV1,
    s.AgreementDraftedV1,
    s.AgreementConfirmedV1,
    s.AgreementAmendedV1,
    s.SessionScheduledV1,
    s.SessionRescheduledV1,
    s.SessionCancelledV1,
    s.SessionHeldV1,
    s.GoalSetV1,
    s.GoalProgressedV1,
    s.GoalAchievedV1,
    s.GoalAbandonedV1,
    s.FeedbackSubmittedV1,
    s.PairAtRiskV1,
    s.PairRiskResolvedV1,
    s.RelationshipEndingSoonV1,
    s.PairClosedV1,
    n.NotificationSentV1,
    n.NotificationFailedV1,
)
HANDLED_TYPES = frozenset(p.event_type for p in HANDLED)

Rows = list[tuple[Table, Row]]


def _profile(prefix: str, ref: m.ParticipantRef) -> Row:
    return {
        f"{prefix}region": ref.region,
        f"{prefix}department": ref.department,
        f"{prefix}band": t.band(ref.seniority_level),
    }


def _timeline(
    event_id: str, p: s.RelationshipEvent | m.PairFormedV1 | m.PairDissolvedV1, at: datetime, summary: str
) -> tuple[Table, Row]:
    detail = p.model_dump(mode="json", exclude={"invite"})
    for side in ("mentor", "mentee"):
        if isinstance(detail.get(side), dict):  # keep who, not contact details
            ref = detail[side]
            detail[side] = {
                k: ref[k]
                for k in ("participant_id", "display_name", "region", "department", "seniority_level")
            }
    name = type(p).event_type.removeprefix("com.bridge.").rsplit(".v", 1)[0]
    return t.TIMELINE, {
        "event_id": event_id,
        "pair_id": p.pair_id,
        "cohort_id": p.cohort_id,
        "occurred_at": at,
        "event_type": name,
        "summary": summary,
        "detail": detail,
    }


def _pair(p: s.RelationshipEvent, **cols: Any) -> tuple[Table, Row]:
    return t.PAIRS, {"pair_id": p.pair_id, "cohort_id": p.cohort_id, **cols}


def rows_for(event: InboundEvent) -> Rows:
    """The read-model rows one event contributes. Pure: no I/O."""
    p = event.payload
    at = event.attributes.time
    eid = event.id
    # -- matching: cohorts and participants ----------------------------------------------------
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
    # -- matching: proposals and pairs ---------------------------------------------------------
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
        return [(t.PROPOSALS, {"proposal_id": p.proposal_id, "cohort_id": p.cohort_id, "accepted_at": at})]
    if isinstance(p, m.MatchDeclinedV1):
        return [(t.PROPOSALS, {"proposal_id": p.proposal_id, "cohort_id": p.cohort_id, "declined_at": at})]
    if isinstance(p, m.MatchExpiredV1):
        return [
            (
                t.PROPOSALS,
                {"proposal_id": p.proposal_id, "cohort_id": p.cohort_id, "expired_at": p.expired_at or at},
            )
        ]
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
            _timeline(
                eid, p, p.formed_at, f"Pair formed: {p.mentor.display_name} mentors {p.mentee.display_name}"
            ),
        ]
    if isinstance(p, m.PairDissolvedV1):
        return [
            (
                t.PAIRS,
                {
                    "pair_id": p.pair_id,
                    "cohort_id": p.cohort_id,
                    "dissolved_at": at,
                    "dissolved_reason": p.reason,
                },
            ),
            _timeline(eid, p, at, f"Pair dissolved: {p.reason}"),
        ]
    # -- sessions --------------------------------------------------------------------------------
    if isinstance(p, s.RelationshipEvent):
        return _relationship_rows(eid, at, p)
    # -- notifications ---------------------------------------------------------------------------
    if isinstance(p, n.NotificationSentV1):
        return [
            (
                t.NOTIFICATIONS,
                {
                    "notification_id": p.notification_id,
                    "cohort_id": p.cohort_id,
                    "recipient_id": p.recipient_id,
                    "channel": p.channel,
                    "kind": p.kind,
                    "sent_at": p.sent_at,
                },
            )
        ]
    if isinstance(p, n.NotificationFailedV1):
        return [
            (
                t.NOTIFICATIONS,
                {
                    "notification_id": p.notification_id,
                    "cohort_id": p.cohort_id,
                    "recipient_id": p.recipient_id,
                    "channel": p.channel,
                    "kind": p.kind,
                    "failed_at": p.failed_at,
                    "permanent": p.permanent,
                    "reason": p.reason,
                },
            )
        ]
    return []


def _relationship_rows(eid: str, at: datetime, p: s.RelationshipEvent) -> Rows:
    if isinstance(p, s.RelationshipStartedV1):
        return [
            _pair(p, relationship_id=p.relationship_id, started_at=p.started_at),
            _timeline(eid, p, p.started_at, "Relationship started"),
        ]
    if isinstance(p, s.AgreementDraftedV1):
        return [_timeline(eid, p, at, f"Agreement v{p.agreement_version} drafted")]
    if isinstance(p, s.AgreementAmendedV1):
        return [_timeline(eid, p, at, f"Agreement amended to v{p.agreement_version}")]
    if isinstance(p, s.AgreementConfirmedV1):
        return [
            _pair(p, agreement_confirmed_at=at),
            _timeline(
                eid,
                p,
                at,
                f"Agreement v{p.agreement_version} confirmed: every "
                f"{p.cadence_days} days, {p.start_date} to {p.end_date}",
            ),
        ]
    if isinstance(p, s.SessionEvent):
        base = {"session_id": p.session_id, "pair_id": p.pair_id, "cohort_id": p.cohort_id}
        if isinstance(p, s.SessionScheduledV1 | s.SessionRescheduledV1):
            verb = "scheduled" if isinstance(p, s.SessionScheduledV1) else "rescheduled"
            return [
                (t.SESSIONS, {**base, "starts_at": p.starts_at, "scheduled_at": at}),
                _timeline(eid, p, at, f"Session {verb} for {p.starts_at.isoformat()}"),
            ]
        if isinstance(p, s.SessionCancelledV1):
            return [
                (t.SESSIONS, {**base, "cancelled_at": at}),
                _timeline(eid, p, at, f"Session cancelled{': ' + p.reason if p.reason else ''}"),
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
                _timeline(
                    eid,
                    p,
                    p.held_at,
                    f"Session held ({p.actual_duration_minutes} min; topics "
                    f"{m2e} mentor\u2192mentee, {e2m} mentee\u2192mentor)",
                ),
            ]
        return []
    if isinstance(p, s.GoalEvent):
        g = {"goal_id": p.goal_id, "pair_id": p.pair_id, "cohort_id": p.cohort_id}
        if isinstance(p, s.GoalSetV1):
            return [
                (t.GOALS, {**g, "owner_side": p.owner_side, "title": p.title, "set_at": at}),
                _timeline(eid, p, at, f"Goal set ({p.owner_side}): {p.title}"),
            ]
        if isinstance(p, s.GoalProgressedV1):
            return [
                (t.GOALS, {**g, "last_rating": p.rating, "rated_at": at}),
                _timeline(eid, p, at, f"Goal progressed: {p.rating}/5"),
            ]
        if isinstance(p, s.GoalAchievedV1):
            return [(t.GOALS, {**g, "achieved_at": at}), _timeline(eid, p, at, "Goal achieved")]
        if isinstance(p, s.GoalAbandonedV1):
            return [(t.GOALS, {**g, "abandoned_at": at}), _timeline(eid, p, at, "Goal abandoned")]
        return []
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
            _timeline(
                eid,
                p,
                p.submitted_at,
                f"{p.kind.capitalize()} feedback from the {p.by_side}"
                + (": " + ", ".join(x for x in parts if x) if any(parts) else ""),
            ),
        ]
    if isinstance(p, s.PairAtRiskV1):
        return [
            (
                t.RISK_EVENTS,
                {
                    "event_id": eid,
                    "pair_id": p.pair_id,
                    "cohort_id": p.cohort_id,
                    "reason": p.reason,
                    "signal": True,
                    "detail": p.detail,
                    "at": p.detected_at,
                },
            ),
            _timeline(eid, p, p.detected_at, f"At risk ({p.reason}): {p.detail}"),
        ]
    if isinstance(p, s.PairRiskResolvedV1):
        return [
            (
                t.RISK_EVENTS,
                {
                    "event_id": eid,
                    "pair_id": p.pair_id,
                    "cohort_id": p.cohort_id,
                    "reason": p.reason,
                    "signal": False,
                    "detail": None,
                    "at": p.resolved_at,
                },
            ),
            _timeline(eid, p, p.resolved_at, f"Risk resolved ({p.reason})"),
        ]
    if isinstance(p, s.RelationshipEndingSoonV1):
        return [_timeline(eid, p, at, f"Relationship ending soon ({p.end_date})")]
    if isinstance(p, s.PairClosedV1):
        return [
            _pair(p, closed_at=p.closed_at, outcome=p.outcome, close_reason=p.reason),
            _timeline(
                eid,
                p,
                p.closed_at,
                f"Pair closed ({p.outcome}) after {p.sessions_held} sessions"
                + (f": {p.reason}" if p.reason else ""),
            ),
        ]
    return []


def fold(events: Iterable[InboundEvent], writer: BatchWriter | None = None) -> BatchWriter:
    writer = writer or BatchWriter()
    for event in events:
        for table, row in rows_for(event):
            writer.add(table, row)
    return writer


async def apply_events(
    conn: asyncpg.Connection[Any], events: Sequence[InboundEvent], suffix: str = ""
) -> int:
    """Applies a batch to the read models (or to the shadow set named by `suffix`)."""
    if not events:
        return 0
    return await fold(events).flush(conn, suffix)


def projection_consumer(rt: Runtime) -> EventConsumer:
    consumer = consumer_for(rt, CONSUMER_NAME, TOPICS, batch=True)

    @consumer.on(*HANDLED)  # type: ignore[untyped-decorator, unused-ignore]
    async def one(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        # The fallback path (a batch failed): one event per transaction, same code.
        await apply_events(conn, [event])

    @consumer.on_batch  # type: ignore[untyped-decorator, unused-ignore]
    async def many(conn: asyncpg.Connection[Any], events: list[InboundEvent]) -> None:
        await apply_events(conn, events)
        notify = rt.extras.get("on_applied")
        if notify is not None:
            notify(len(events))

    return consumer
