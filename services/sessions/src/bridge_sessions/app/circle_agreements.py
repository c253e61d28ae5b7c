"""The circle agreement, versioned as the pair agreement is (app/agreements.py): shared goals, each
member's personal goal, cadence, rules of engagement and an end date.

Any member (the facilitator included) drafts; drafting counts as the drafter's confirmation; the
version comes into force when every current member has confirmed it (each confirms for themself and
may state or change their own personal goal as they do). Changing an agreement in force drafts the
next version, which stays pending until everyone confirmed it; re-drafting a pending version
replaces it and clears the others' confirmations.

The end date must lie in the future for every member: after today in each member's time zone, when a
version is drafted and again when it is confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TypeAlias

from bridge_sessions.app.agreement_versions import (
    AgreementVersions,
    awaiting_confirmation,
    confirmable_end,
    draftable_end,
    versions_of,
)
from bridge_sessions.app.circle_access import CircleAccess, load_circle_access, member_access
from bridge_sessions.db import Conn
from bridge_sessions.db import circle_agreements as agreements_db
from bridge_sessions.db import circles as circles_db
from bridge_sessions.domain.circle_rows import CircleAgreementRow, CircleAgreementTerms, CircleRow
from bridge_sessions.domain.refs import circle_fields, circle_subject
from bridge_sessions.domain.timefmt import zone
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.circles import CircleAgreementConfirmedV1, CircleAgreementDraftedV1
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.runtime import Runtime

CircleVersions: TypeAlias = AgreementVersions[CircleAgreementRow]


async def _versions(conn: Conn, circle_id: str) -> CircleVersions:
    return versions_of(await agreements_db.all_versions(conn, circle_id))


async def versions(rt: Runtime[SessionsSettings], circle_id: str, principal: Principal) -> CircleVersions:
    async with connection(rt.pool) as conn:
        await load_circle_access(conn, circle_id, principal)
        return await _versions(conn, circle_id)


def local_today(circle: CircleRow, now: datetime) -> date:
    """The latest of the members' calendar dates now (the end date must come after all of them)."""
    return max(now.astimezone(zone(m.timezone)).date() for m in circle.active_members)


def _end_in_future(circle: CircleRow, end_date: date, now: datetime) -> str | None:
    today = local_today(circle, now)
    if end_date > today:
        return None
    return f"the end date {end_date} is not after today ({today} in the members' time zones)"


def _personal_goals(circle: CircleRow, goals: Mapping[str, str]) -> None:
    """422 naming each personal goal given for someone who is not a member."""
    errors = [
        {"field": "personal_goals", "message": f"{pid} is not a member of this circle"}
        for pid in goals
        if circle.member(pid) is None
    ]
    if errors:
        raise Problem(422, "Invalid request", "Personal goals are for the circle's members.", errors=errors)


async def draft(
    rt: Runtime[SessionsSettings],
    circle_id: str,
    principal: Principal,
    terms: CircleAgreementTerms,
    personal_goals: Mapping[str, str],
) -> CircleAgreementRow:
    """Drafts (or amends) the agreement; the drafter's confirmation is recorded."""
    now = rt.clock.now()
    async with transaction(rt.pool) as conn:
        acc = await member_access(conn, circle_id, principal, for_update=True)
        refusal = _end_in_future(acc.circle, terms.end_date, now)
        draftable_end(refusal)
        _personal_goals(acc.circle, personal_goals)
        pending = await agreements_db.version_in(conn, circle_id, "draft")
        row = await agreements_db.write_draft(
            conn,
            circle_id,
            terms,
            replace=pending,
            drafted_by=acc.participant_id,
            drafted_at=now,
            members=acc.circle.member_ids,
            personal_goals=personal_goals,
        )
        await rt.outbox.add(
            conn,
            CircleAgreementDraftedV1(
                **circle_fields(acc.circle),
                member_ids=acc.circle.member_ids,
                version=row.version,
                drafted_by=acc.participant_id,
                end_date=row.end_date,
                cadence_days=row.cadence_days,
            ),
            subject=circle_subject(acc.circle),
        )
    return row


async def confirm(
    rt: Runtime[SessionsSettings],
    circle_id: str,
    principal: Principal,
    version: int,
    *,
    personal_goal: str | None,
) -> CircleVersions:
    """Confirms the pending version (with the caller's personal goal, if given); when every current
    member has, it becomes the agreement in force. Confirming again changes nothing but the goal."""
    now = rt.clock.now()
    async with transaction(rt.pool) as conn:
        acc = await member_access(conn, circle_id, principal, for_update=True)
        row = awaiting_confirmation(await agreements_db.get(conn, circle_id, version), version)
        refusal = _end_in_future(acc.circle, row.end_date, now)
        confirmable_end(version, refusal)
        already = row.confirmed_by(acc.participant_id)
        if not already or personal_goal is not None:
            row = await agreements_db.confirm(
                conn, circle_id, version, acc.participant_id, now, personal_goal=personal_goal
            )
        # Every current member has confirmed (with this confirmation, or already: a member who had
        # not yet confirmed may have been erased since).
        if row.confirmed_by_all(acc.circle.member_ids):
            await _activate(rt, conn, acc, row, now)
        return await _versions(conn, circle_id)


async def _activate(
    rt: Runtime[SessionsSettings], conn: Conn, acc: CircleAccess, row: CircleAgreementRow, now: datetime
) -> None:
    await agreements_db.activate(conn, acc.circle.id, row.version, now)
    await circles_db.activate(conn, acc.circle.id, row.end_date)
    await rt.outbox.add(
        conn,
        CircleAgreementConfirmedV1(
            **circle_fields(acc.circle),
            member_ids=acc.circle.member_ids,
            version=row.version,
            end_date=row.end_date,
            cadence_days=row.cadence_days,
            confirmed_at=now,
        ),
        subject=circle_subject(acc.circle),
    )
