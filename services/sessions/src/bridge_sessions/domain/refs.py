"""What every event about a relationship (or one of its sessions) carries, and its outbox subject."""

from __future__ import annotations

from typing import TypedDict

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
