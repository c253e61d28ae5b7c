"""Read-model rows from mentoring circles' events (issue 15): matching forms circles
(`bridge.matching.circle`), sessions runs them (`bridge.sessions.circle`).

Only ids, attributes, times and counts are kept: a member's region, department, seniority band (as
`tables.band` defines it, from their seniority level) and generation (junior, senior or other under
the cohort's policy, as matching says); per held session who attended and who taught whom, by
generation. Names, ideas and topics travel sealed and no figure needs them.
"""

from __future__ import annotations

from datetime import datetime

from bridge_reporting.domain import tables as t
from bridge_reporting.domain.timeline import Rows
from bridge_reporting.domain.upsert import Row, Table
from bridge_shared.contracts import circles as c
from bridge_shared.events.registry import EventPayload

HANDLED: tuple[type[EventPayload], ...] = (
    c.CircleProposedV1,
    c.CircleFormedV1,
    c.CircleDissolvedV1,
    c.CircleStartedV1,
    c.CircleSessionScheduledV1,
    c.CircleSessionRescheduledV1,
    c.CircleSessionCancelledV1,
    c.CircleSessionHeldV1,
    c.CircleClosedV1,
)
"""The circle events projected. Not: member_responded and refilled (the formed circle names its
final members), the agreement (no figure counts it yet), health signals (sessions nudges and
escalates them; reporting has no circle risk figure)."""

Direction = str  # junior_to_senior | senior_to_junior | other


def direction(flow: c.LearningFlow) -> Direction:
    """Which way learning went between the generations: junior -> senior, senior -> junior, or
    anything else (within one generation, or with someone counted as neither)."""
    if flow.from_generation == "junior" and flow.to_generation == "senior":
        return "junior_to_senior"
    if flow.from_generation == "senior" and flow.to_generation == "junior":
        return "senior_to_junior"
    return "other"


def _circle(p: c.CircleEvent, **cols: object) -> tuple[Table, Row]:
    return t.CIRCLES, {"circle_id": p.circle_id, "cohort_id": p.cohort_id, **cols}


def circle_rows(eid: str, at: datetime, p: EventPayload) -> Rows:
    """The rows one circle event contributes (`eid`, `at`: the event's id and time)."""
    del eid  # facts are keyed by session and member, so a redelivery is the same row
    if isinstance(p, c.CircleProposedV1):
        return [_circle(p, proposed_at=at, facilitator_id=p.facilitator_id)]
    if isinstance(p, c.CircleFormedV1):
        members: Rows = [
            (
                t.CIRCLE_MEMBERS,
                {
                    "circle_id": p.circle_id,
                    "participant_id": m.participant_id,
                    "cohort_id": p.cohort_id,
                    "region": m.region,
                    "department": m.department,
                    "band": t.band(m.seniority_level),
                    "generation": m.generation,
                    "seniority_level": m.seniority_level,
                    "facilitator": m.participant_id == p.facilitator_id,
                    "joined_at": p.formed_at,
                },
            )
            for m in p.members
        ]
        return [
            _circle(
                p, formed_at=p.formed_at, facilitator_id=p.facilitator_id, member_count=len(p.member_ids)
            ),
            *members,
        ]
    if isinstance(p, c.CircleDissolvedV1):
        return [_circle(p, dissolved_at=p.dissolved_at)]
    if isinstance(p, c.CircleStartedV1):
        return [_circle(p, started_at=p.started_at, facilitator_id=p.facilitator_id)]
    if isinstance(p, c.CircleClosedV1):
        return [_circle(p, closed_at=p.closed_at, outcome=p.outcome)]
    if isinstance(p, c.CircleSessionEvent):
        return _session_rows(at, p)
    return []


def _session_rows(at: datetime, p: c.CircleSessionEvent) -> Rows:
    base: Row = {"session_id": p.session_id, "circle_id": p.circle_id, "cohort_id": p.cohort_id}
    if isinstance(p, c.CircleSessionScheduledV1):
        return [
            (
                t.CIRCLE_SESSIONS,
                {**base, "starts_at": p.starts_at, "scheduled_at": at, "activity_id": p.activity_id},
            )
        ]
    if isinstance(p, c.CircleSessionRescheduledV1):
        return [(t.CIRCLE_SESSIONS, {**base, "starts_at": p.starts_at, "scheduled_at": at})]
    if isinstance(p, c.CircleSessionCancelledV1):
        return [(t.CIRCLE_SESSIONS, {**base, "cancelled_at": at})]
    if not isinstance(p, c.CircleSessionHeldV1):
        return []
    attended = set(p.attended_ids)
    members = list(dict.fromkeys(p.member_ids))
    return [
        (
            t.CIRCLE_SESSIONS,
            {
                **base,
                "held_at": p.held_at,
                "activity_id": p.activity_id,
                "members": len(members),
                "attended": sum(1 for m in members if m in attended),
                "ideas": len(p.ideas),
                "learning_flows": len(p.learning),
                "exchange_index": p.exchange_index,
            },
        ),
        *(
            (
                t.CIRCLE_ATTENDANCE,
                {
                    "session_id": p.session_id,
                    "participant_id": m,
                    "circle_id": p.circle_id,
                    "cohort_id": p.cohort_id,
                    "attended": m in attended,
                    "held_at": p.held_at,
                },
            )
            for m in members
        ),
        *(
            (
                t.CIRCLE_LEARNING,
                {
                    "session_id": p.session_id,
                    "seq": i,
                    "circle_id": p.circle_id,
                    "cohort_id": p.cohort_id,
                    "from_id": f.from_id,
                    "to_id": f.to_id,
                    "from_generation": f.from_generation,
                    "to_generation": f.to_generation,
                    "direction": direction(f),
                    "held_at": p.held_at,
                },
            )
            for i, f in enumerate(p.learning)
        ),
    ]
