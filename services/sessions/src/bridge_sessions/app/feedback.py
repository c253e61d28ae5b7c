"""Feedback: a 1-5 pulse after each held session, and a mid-point and a closing survey per side
(satisfaction 1-5, likelihood to recommend 0-10 for NPS, what they learned, what they taught).

The mid-point survey opens at the midpoint of the agreement in force (or, without one, of the
relationship's start and planned end; domain/surveys.py), 00:00 UTC, and stays open until the
relationship closes; once the health job has announced it (com.bridge.sessions.survey.opened.v1) it
stays open even if an amendment moves the midpoint later. Before then a submission is refused (409,
saying when it opens). The closing survey opens once the relationship is within `ending_soon_days`
of its end or has closed. Participants read their own feedback; HR reads all feedback of
relationships it can see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from bridge_sessions.app.access import load_access, participant_access
from bridge_sessions.app.sessions import find
from bridge_sessions.db import Conn
from bridge_sessions.db import agreements as agreements_db
from bridge_sessions.db import feedback as feedback_db
from bridge_sessions.db import health as health_db
from bridge_sessions.domain.refs import relationship_fields, subject
from bridge_sessions.domain.rows import FeedbackRow, RelationshipRow
from bridge_sessions.domain.surveys import SurveyKind, programme_span
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.sessions import FeedbackSubmittedV1
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Pulse:
    id: UUID
    session_id: UUID
    rating: int
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class Survey:
    satisfaction: int
    recommend_score: int
    learned: str
    taught: str
    comment: str | None


def _already(what: str) -> Problem:
    return Problem(409, "Already submitted", f"You have already {what}.")


async def pulse(
    rt: Runtime[SessionsSettings],
    relationship_id: UUID,
    session_id: UUID,
    principal: Principal,
    *,
    rating: int,
    comment: str | None,
) -> Pulse:
    """A quick 1-5 after a held session, once per side."""
    now, fid = rt.clock.now(), uuid.uuid4()
    async with transaction(rt.pool) as conn:
        acc, side = await participant_access(conn, relationship_id, principal, open_only=False)
        s = await find(conn, acc, session_id)
        if s.status != "held":
            raise Problem(409, "Session not held", "Pulse feedback is given after a held session.")
        if not await feedback_db.insert_pulse(
            conn,
            feedback_id=fid,
            relationship_id=relationship_id,
            by_side=side,
            by_participant_id=acc.participant_id,
            session_id=session_id,
            rating=rating,
            comment=comment,
            now=now,
        ):
            raise _already("given feedback on this session")
        await rt.outbox.add(
            conn,
            FeedbackSubmittedV1(
                **relationship_fields(acc.rel),
                feedback_id=str(fid),
                kind="pulse",
                by_participant_id=acc.participant_id,
                by_side=side,
                session_id=str(session_id),
                rating=rating,
                submitted_at=now,
            ),
            subject=subject(acc.rel),
        )
    return Pulse(fid, session_id, rating, now)


def _not_open(detail: str, *, opens_on: date | None = None) -> Problem:
    if opens_on is None:
        return Problem(409, "Survey not open", detail)
    return Problem(409, "Survey not open", detail, opens_on=opens_on.isoformat())


async def _midpoint_open(conn: Conn, rel: RelationshipRow, now: datetime) -> None:
    if rel.status == "closed":
        raise _not_open("The mid-point survey closed when the relationship ended.")
    if await health_db.midpoint_survey_opened(conn, rel.id):
        return  # announced open: it stays open, wherever an amendment has moved the midpoint since
    agreement = await agreements_db.in_force(conn, rel.id)
    span = programme_span(
        agreement_start=agreement.start_date if agreement else None,
        agreement_end=agreement.end_date if agreement else None,
        started_at=rel.started_at,
        planned_end=rel.planned_end,
    )
    if span is None:
        raise _not_open(
            "The mid-point survey opens at the midpoint of the agreement in force; this relationship "
            "has no agreement in force and no planned end date yet."
        )
    if now.date() < span.midpoint:
        raise _not_open(
            f"The mid-point survey opens on {span.midpoint} (00:00 UTC), {span.describe()}.",
            opens_on=span.midpoint,
        )


def _closing_open(rel: RelationshipRow, now: datetime, ending_soon_days: int) -> None:
    if rel.status != "closed":
        end = rel.planned_end
        if end is None or now.date() < end - timedelta(days=ending_soon_days):
            raise Problem(
                409,
                "Survey not open",
                "The closing survey opens near the end date or when the relationship ends.",
            )


async def submit_survey(
    rt: Runtime[SessionsSettings], relationship_id: UUID, principal: Principal, kind: SurveyKind, body: Survey
) -> FeedbackRow:
    now, fid = rt.clock.now(), uuid.uuid4()
    async with transaction(rt.pool) as conn:
        acc, side = await participant_access(conn, relationship_id, principal, open_only=False)
        if kind == "midpoint":
            await _midpoint_open(conn, acc.rel, now)
        else:
            _closing_open(acc.rel, now, rt.settings.ending_soon_days)
        row = await feedback_db.insert_survey(
            conn,
            feedback_id=fid,
            relationship_id=relationship_id,
            kind=kind,
            by_side=side,
            by_participant_id=acc.participant_id,
            satisfaction=body.satisfaction,
            recommend_score=body.recommend_score,
            comment=body.comment,
            learned=body.learned,
            taught=body.taught,
            now=now,
        )
        if row is None:
            raise _already(f"submitted the {kind} survey")
        await rt.outbox.add(
            conn,
            FeedbackSubmittedV1(
                **relationship_fields(acc.rel),
                feedback_id=str(fid),
                kind=kind,
                by_participant_id=acc.participant_id,
                by_side=side,
                rating=body.satisfaction,
                recommend_score=body.recommend_score,
                submitted_at=now,
            ),
            subject=subject(acc.rel),
        )
    return row


async def list_for(
    rt: Runtime[SessionsSettings], relationship_id: UUID, principal: Principal
) -> list[FeedbackRow]:
    """Participants their own side's; HR all."""
    async with connection(rt.pool) as conn:
        acc = await load_access(conn, relationship_id, principal)
        return await feedback_db.for_relationship(conn, relationship_id, acc.side)
