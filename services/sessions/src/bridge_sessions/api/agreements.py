"""The relationship agreement: what each side wants to learn and how they will measure it, cadence,
where and how they meet, rules of engagement, start and end dates.

Either side drafts (drafting counts as the drafter's confirmation); the version becomes active when
the other side confirms too. Changing an active agreement drafts the next version (an amendment);
the active version stays in force until both have confirmed the new one. Re-drafting a pending
version replaces its content and clears the other side's confirmation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from bridge_sessions.api.common import (
    Access,
    connection,
    get_clock,
    load_access,
    rel_fields,
    subject,
    transaction,
)
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.sessions import AgreementAmendedV1, AgreementConfirmedV1, AgreementDraftedV1
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime
from bridge_shared.scheduling.clock import Clock

router = APIRouter(prefix="/relationships/{relationship_id}/agreement", tags=["agreements"])

Text = Field(min_length=1, max_length=500)


class LearningPlan(BaseModel):
    learning_goals: list[str] = Field(
        min_length=1, max_length=10, description="what this side wants to learn"
    )
    success_metrics: list[str] = Field(min_length=1, max_length=10, description="how growth will be measured")
    offers: str | None = Field(None, max_length=2000, description="how this side will help the other")


class AgreementIn(BaseModel):
    mentor: LearningPlan
    mentee: LearningPlan
    cadence_days: int = Field(ge=1, le=180, description="meet every N days")
    meeting_mode: Literal["in_person", "video", "phone", "hybrid"]
    meeting_place: str | None = Field(None, max_length=500)
    rules_of_engagement: list[str] = Field(default_factory=list, max_length=20)
    start_date: date
    end_date: date

    @model_validator(mode="after")
    def _dates(self) -> AgreementIn:
        if self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        return self


class AgreementOut(BaseModel):
    version: int
    status: Literal["draft", "active", "superseded", "withdrawn"]
    drafted_by: str
    drafted_at: datetime
    mentor: LearningPlan
    mentee: LearningPlan
    cadence_days: int
    meeting_mode: str
    meeting_place: str | None
    rules_of_engagement: list[str]
    start_date: date
    end_date: date
    mentor_confirmed_at: datetime | None
    mentee_confirmed_at: datetime | None
    activated_at: datetime | None


class AgreementView(BaseModel):
    active: AgreementOut | None = Field(description="the version in force")
    pending: AgreementOut | None = Field(description="a draft or amendment awaiting confirmation")
    history: list[AgreementOut]


def to_out(row: Any) -> AgreementOut:
    d = dict(row)
    return AgreementOut.model_validate({**d, "mentor": d["mentor_learning"], "mentee": d["mentee_learning"]})


async def _view(conn: asyncpg.Connection[Any], relationship_id: UUID) -> AgreementView:
    rows = await conn.fetch(
        "SELECT * FROM agreements WHERE relationship_id = $1 ORDER BY version", relationship_id
    )
    outs = [to_out(r) for r in rows]
    return AgreementView(
        active=next((a for a in outs if a.status == "active"), None),
        pending=next((a for a in outs if a.status == "draft"), None),
        history=outs,
    )


@router.get("", response_model=AgreementView)
async def get_agreement(
    relationship_id: UUID, principal: Principal = Depends(authenticate), rt: Runtime = Depends(get_runtime)
) -> AgreementView:
    async with connection(rt) as conn:
        await load_access(conn, relationship_id, principal)
        return await _view(conn, relationship_id)


@router.post("", response_model=AgreementOut, status_code=201)
async def draft(
    relationship_id: UUID,
    body: AgreementIn,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> AgreementOut:
    """Drafts (or amends) the agreement; the drafter's confirmation is recorded."""
    now = clock.now()
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal, for_update=True)
        side = acc.participant()
        acc.open()
        active = await conn.fetchrow(
            "SELECT version FROM agreements WHERE relationship_id = $1 AND status = 'active'", relationship_id
        )
        pending = await conn.fetchrow(
            "SELECT version FROM agreements WHERE relationship_id = $1 AND status = 'draft'", relationship_id
        )
        values = (
            body.mentor.model_dump(),
            body.mentee.model_dump(),
            body.cadence_days,
            body.meeting_mode,
            body.meeting_place,
            body.rules_of_engagement,
            body.start_date,
            body.end_date,
            principal.subject,
            now,
            now if side == "mentor" else None,
            now if side == "mentee" else None,
        )
        if pending is not None:
            version = pending["version"]
            row: Any = await conn.fetchrow(
                """UPDATE agreements SET mentor_learning = $3, mentee_learning = $4, cadence_days = $5,
                          meeting_mode = $6, meeting_place = $7, rules_of_engagement = $8, start_date = $9,
                          end_date = $10, drafted_by = $11, drafted_at = $12, mentor_confirmed_at = $13,
                          mentee_confirmed_at = $14
                   WHERE relationship_id = $1 AND version = $2 RETURNING *""",
                relationship_id,
                version,
                *values,
            )
        else:
            version = await conn.fetchval(
                "SELECT coalesce(max(version), 0) + 1 FROM agreements WHERE relationship_id = $1",
                relationship_id,
            )
            row = await conn.fetchrow(
                """INSERT INTO agreements (relationship_id, version, status, mentor_learning,
                          mentee_learning, cadence_days, meeting_mode, meeting_place,
                          rules_of_engagement, start_date, end_date, drafted_by, drafted_at,
                          mentor_confirmed_at, mentee_confirmed_at)
                   VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                   RETURNING *""",
                relationship_id,
                version,
                *values,
            )
        common = {
            **rel_fields(acc.rel),
            "agreement_version": version,
            "by_participant_id": acc.participant_id,
        }
        if active is None:
            await rt.outbox.add(conn, AgreementDraftedV1(**common), subject=subject(acc.rel))
        else:
            await rt.outbox.add(
                conn,
                AgreementAmendedV1(**common, previous_version=active["version"]),
                subject=subject(acc.rel),
            )
    return to_out(row)


@router.post("/versions/{version}/confirm", response_model=AgreementView)
async def confirm(
    relationship_id: UUID,
    version: int,
    principal: Principal = Depends(authenticate),
    rt: Runtime = Depends(get_runtime),
    clock: Clock = Depends(get_clock),
) -> AgreementView:
    """Confirms the pending version; when both sides have, it becomes the agreement in force."""
    now = clock.now()
    async with transaction(rt) as conn:
        acc = await load_access(conn, relationship_id, principal, for_update=True)
        side = acc.participant()
        acc.open()
        row: Any = await conn.fetchrow(
            "SELECT * FROM agreements WHERE relationship_id = $1 AND version = $2", relationship_id, version
        )
        if row is None:
            raise Problem(404, "Agreement version not found")
        if row["status"] != "draft":
            raise Problem(
                409,
                "Not awaiting confirmation",
                f"Version {version} is {row['status']}; only the pending version can be confirmed.",
            )
        if row[f"{side}_confirmed_at"] is None:
            row = await conn.fetchrow(
                f"UPDATE agreements SET {side}_confirmed_at = $3 WHERE relationship_id = $1 AND version = $2 "
                "RETURNING *",
                relationship_id,
                version,
                now,
            )
            if row["mentor_confirmed_at"] and row["mentee_confirmed_at"]:
                await _activate(conn, rt, acc, row, now)
        return await _view(conn, relationship_id)


async def _activate(conn: asyncpg.Connection[Any], rt: Runtime, acc: Access, row: Any, now: datetime) -> None:
    rid = acc.rel["id"]
    await conn.execute(
        "UPDATE agreements SET status = 'superseded' WHERE relationship_id = $1 AND status = 'active'", rid
    )
    await conn.execute(
        "UPDATE agreements SET status = 'active', activated_at = $3 "
        "WHERE relationship_id = $1 AND version = $2",
        rid,
        row["version"],
        now,
    )
    await conn.execute(
        "UPDATE relationships SET status = 'active', planned_end = $2 WHERE id = $1", rid, row["end_date"]
    )
    await rt.outbox.add(
        conn,
        AgreementConfirmedV1(
            **rel_fields(acc.rel),
            agreement_version=row["version"],
            by_participant_id=acc.participant_id,
            cadence_days=row["cadence_days"],
            start_date=row["start_date"],
            end_date=row["end_date"],
        ),
        subject=subject(acc.rel),
    )
