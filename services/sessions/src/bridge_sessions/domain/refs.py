"""What every event about a relationship or a circle (or one of their sessions) carries, and its
outbox subject."""

from __future__ import annotations

from typing import TypedDict

from bridge_sessions.domain.circle_rows import CircleRecord, CircleRow, CircleSessionRow
from bridge_sessions.domain.rows import RelationshipRow, SessionRow


class RelationshipFields(TypedDict):
    relationship_id: str
    pair_id: str
    cohort_id: str


class SessionFields(RelationshipFields):
    session_id: str
    mentor_id: str
    mentee_id: str
    mentor_timezone: str
    mentee_timezone: str


def relationship_fields(rel: RelationshipRow) -> RelationshipFields:
    return {"relationship_id": str(rel.id), "pair_id": rel.pair_id, "cohort_id": rel.cohort_id}


def session_fields(rel: RelationshipRow, session: SessionRow) -> SessionFields:
    return {
        **relationship_fields(rel),
        "session_id": str(session.id),
        "mentor_id": rel.mentor_id,
        "mentee_id": rel.mentee_id,
        "mentor_timezone": rel.mentor_timezone,
        "mentee_timezone": rel.mentee_timezone,
    }


def subject(rel: RelationshipRow) -> str:
    return f"relationship/{rel.id}"


class CircleFields(TypedDict):
    circle_id: str
    cohort_id: str


class CircleSessionFields(CircleFields):
    session_id: str
    member_ids: list[str]
    facilitator_id: str
    member_timezones: dict[str, str]


def circle_fields(circle: CircleRecord) -> CircleFields:
    return {"circle_id": circle.id, "cohort_id": circle.cohort_id}


def circle_session_fields(circle: CircleRow, session: CircleSessionRow) -> CircleSessionFields:
    return {
        **circle_fields(circle),
        "session_id": str(session.id),
        "member_ids": circle.member_ids,
        "facilitator_id": circle.facilitator_id,
        "member_timezones": circle.member_timezones,
    }


def circle_subject(circle: CircleRecord) -> str:
    return f"circle/{circle.id}"
