"""Relationships: participants see their own, HR sees those in their regions; either side or HR
can end one early; everyone who can see it can see its health."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bridge_sessions.api.common import (
    Side,
    connection,
    get_clock,
    get_settings,
    load_access,
    side_of,
    transaction,
)
from bridge_sessions.closure import close_relationship
from bridge_sessions.domain.balance import balance_index, direction_counts
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(prefix="/relationships", tags=["relationships"])


class RelationshipOut(BaseModel):
    id: UUID
    pair_id: str
    cohort_id: str
    mentor_id: str
    mentor_name: str
    mentor_timezone: str
    mentee_id: str
    mentee_name: str
    mentee_timezone: str
    region: str
    status: str = Field(description="forming (no agreement in force yet), active, closed")
    planned_end: date | None
    started_at: datetime
    agreement_version: int | None = None
    open_risks: list[str] = []
    closed_at: datetime | None = None
    outcome: str | None = None
    close_reason: str | None = None
    my_side: Side | None = Field(None, description="the caller's side, when the caller is a participant")


_SELECT = """
SELECT r.*, a.version AS agreement_version,
       coalesce((SELECT array_agg(h.reason ORDER BY h.reason) FROM health_signals h
                  WHERE h.relationship_id = r.id AND h.resolved_at IS NULL
                    AND h.reason <> 'ending_soon'), '{}') AS open_risks
FROM relationships r
LEFT JOIN agreements a ON a.relationship_id = r.id AND a.status = 'active'
"""


def to_out(row: Any, principal: Principal) -> RelationshipOut:
    return RelationshipOut.model_validate({**dict(row), "my_side": side_of(principal, row)})


@router.get("", response_model=list[RelationshipOut])
async def list_relationships(
    cohort_id: str | None = Query(None),
    status: str | None = Query(None),
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
) -> list[RelationshipOut]:
    """Filtered in SQL by what the caller may see: global HR all, regional HR their regions,
    participants the relationships they are in."""
    everyone = principal.is_global_hr
    regions = sorted(principal.regions) if Role.HR_REGIONAL in principal.roles else []
    me = principal.subject if Role.PARTICIPANT in principal.roles else None
    async with connection(rt) as conn:
        rows = await conn.fetch(
            _SELECT
            + """WHERE ($1::text IS NULL OR r.cohort_id = $1) AND ($2::text IS NULL OR r.status = $2)
                 AND ($3 OR r.region = ANY($4::text[])
                      OR r.mentor_employee_id = $5 OR r.mentee_employee_id = $5)
               ORDER BY r.started_at, r.id""",
            cohort_id,
            status,
            everyone,
            regions,
            me,
        )
    return [to_out(r, principal) for r in rows]


@router.get("/{relationship_id}", response_model=RelationshipOut)
async def get_relationship(
    relationship_id: UUID, principal: Principal = Depends(authenticate), rt: Runtime = Depends(get_runtime)
) -> RelationshipOut:
    async with connection(rt) as conn:
        await load_access(conn, relationship_id, principal)
        row = await conn.fetchrow(_SELECT + "WHERE r.id = $1", relationship_id)
    return to_out(row, principal)


class CloseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/{relationship_id}/close", response_model=RelationshipOut)
async def close_early(
    relationship_id: UUID,
    body: CloseIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
    settings: SessionsSettings = Depends(get_settings),
) -> RelationshipOut:
    """Ends the relationship early (either participant, or HR for its region)."""
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal, for_update=True)
        acc.open()
        if not acc.is_participant and not principal.has(Role.HR_ADMIN, Role.HR_REGIONAL):
            raise Problem(403, "Forbidden", "Only the participants or HR can end a relationship.")
        await close_relationship(
            conn,
            rt.outbox,
            settings,
            relationship_id,
            outcome="ended_early",
            reason=body.reason,
            closed_by=principal.subject,
            now=clock.now(),
        )
        row = await conn.fetchrow(_SELECT + "WHERE r.id = $1", relationship_id)
    return to_out(row, principal)


class SignalOut(BaseModel):
    reason: str
    detail: str
    detected_at: datetime
    resolved_at: datetime | None


class HealthOut(BaseModel):
    relationship_id: UUID
    open_risks: list[str]
    signals: list[SignalOut]
    sessions_held: int
    last_held_at: datetime | None
    balance_index: float | None = Field(
        description="2*min(a,b)/(a+b) over topics of the last N held sessions "
        "(a = mentor_to_mentee, b = mentee_to_mentor); 1 even, 0 one-way"
    )
    balance_window_sessions: int
    topics_mentor_to_mentee: int
    topics_mentee_to_mentor: int


@router.get("/{relationship_id}/health", response_model=HealthOut)
async def health(
    relationship_id: UUID,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    settings: SessionsSettings = Depends(get_settings),
) -> HealthOut:
    async with connection(rt) as conn:
        await load_access(conn, relationship_id, principal)
        signals = await conn.fetch(
            "SELECT * FROM health_signals WHERE relationship_id = $1 ORDER BY detected_at, id",
            relationship_id,
        )
        held = await conn.fetch(
            "SELECT held_at, topics FROM sessions WHERE relationship_id = $1 AND status = 'held' "
            "ORDER BY held_at DESC",
            relationship_id,
        )
    recent = held[: settings.balance_window_sessions]
    a, b = direction_counts(t for s in recent for t in s["topics"])
    return HealthOut(
        relationship_id=relationship_id,
        open_risks=sorted(
            s["reason"] for s in signals if s["resolved_at"] is None and s["reason"] != "ending_soon"
        ),
        signals=[SignalOut.model_validate(dict(s)) for s in signals],
        sessions_held=len(held),
        last_held_at=held[0]["held_at"] if held else None,
        balance_index=balance_index(a, b),
        balance_window_sessions=settings.balance_window_sessions,
        topics_mentor_to_mentee=a,
        topics_mentee_to_mentor=b,
    )
