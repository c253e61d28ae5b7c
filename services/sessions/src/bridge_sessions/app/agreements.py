"""The relationship agreement, versioned.

Either side drafts (drafting counts as the drafter's confirmation); the version becomes active when
the other side confirms too. Changing an active agreement drafts the next version (an amendment);
the active version stays in force until both have confirmed the new one. Re-drafting a pending
version replaces its content and clears the other side's confirmation.

An end date must lie in the future for both people: after today in each one's time zone, when a
version is drafted and again when it is confirmed (a draft can wait for days). A relationship is
never started, or moved, onto an end that has already passed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeAlias
from uuid import UUID

from bridge_sessions.app.access import Access, load_access, participant_access
from bridge_sessions.app.agreement_versions import (
    AgreementVersions,
    awaiting_confirmation,
    confirmable_end,
    draftable_end,
    versions_of,
)
from bridge_sessions.db import Conn
from bridge_sessions.db import agreements as agreements_db
from bridge_sessions.db import relationships as relationships_db
from bridge_sessions.db.agreements import Draft
from bridge_sessions.domain.refs import relationship_fields, subject
from bridge_sessions.domain.rows import SIDES, AgreementRow, AgreementTerms, RelationshipRow
from bridge_sessions.domain.timefmt import zone
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.contracts.sessions import AgreementAmendedV1, AgreementConfirmedV1, AgreementDraftedV1
from bridge_shared.db.connection import connection, transaction
from bridge_shared.runtime import Runtime

Versions: TypeAlias = AgreementVersions[AgreementRow]


async def _versions(conn: Conn, relationship_id: UUID) -> Versions:
    return versions_of(await agreements_db.all_versions(conn, relationship_id))


async def versions(rt: Runtime[SessionsSettings], relationship_id: UUID, principal: Principal) -> Versions:
    async with connection(rt.pool) as conn:
        await load_access(conn, relationship_id, principal)
        return await _versions(conn, relationship_id)


def local_today(rel: RelationshipRow, now: datetime) -> date:
    """The later of the two people's calendar dates now (the end date must come after both)."""
    return max(now.astimezone(zone(rel.timezone_of(side))).date() for side in SIDES)


def _end_in_future(rel: RelationshipRow, end_date: date, now: datetime) -> str | None:
    today = local_today(rel, now)
    if end_date > today:
        return None
    return f"the end date {end_date} is not after today ({today} in the pair's time zones)"


async def draft(
    rt: Runtime[SessionsSettings], relationship_id: UUID, principal: Principal, terms: AgreementTerms
) -> AgreementRow:
    """Drafts (or amends) the agreement; the drafter's confirmation is recorded."""
    now = rt.clock.now()
    async with transaction(rt.pool) as conn:
        acc, side = await participant_access(conn, relationship_id, principal, for_update=True)
        refusal = _end_in_future(acc.rel, terms.end_date, now)
        draftable_end(refusal)
        content = Draft(
            terms,
            drafted_by=principal.subject,
            drafted_at=now,
            mentor_confirmed_at=now if side == "mentor" else None,
            mentee_confirmed_at=now if side == "mentee" else None,
        )
        active = await agreements_db.version_in(conn, relationship_id, "active")
        pending = await agreements_db.version_in(conn, relationship_id, "draft")
        if pending is not None:
            row = await agreements_db.replace_draft(conn, relationship_id, pending, content)
        else:
            row = await agreements_db.insert_draft(conn, relationship_id, content)
        fields = {
            **relationship_fields(acc.rel),
            "agreement_version": row.version,
            "by_participant_id": acc.participant_id,
        }
        if active is None:
            await rt.outbox.add(conn, AgreementDraftedV1(**fields), subject=subject(acc.rel))
        else:
            await rt.outbox.add(
                conn, AgreementAmendedV1(**fields, previous_version=active), subject=subject(acc.rel)
            )
    return row


async def confirm(
    rt: Runtime[SessionsSettings], relationship_id: UUID, principal: Principal, version: int
) -> Versions:
    """Confirms the pending version; when both sides have, it becomes the agreement in force."""
    now = rt.clock.now()
    async with transaction(rt.pool) as conn:
        acc, side = await participant_access(conn, relationship_id, principal, for_update=True)
        row = awaiting_confirmation(await agreements_db.get(conn, relationship_id, version), version)
        refusal = _end_in_future(acc.rel, row.end_date, now)
        confirmable_end(version, refusal)
        if not row.confirmed_by(side):
            row = await agreements_db.confirm(conn, relationship_id, version, side, now)
            if row.confirmed_by_both:
                await _activate(rt, conn, acc, row, now)
        return await _versions(conn, relationship_id)


async def _activate(
    rt: Runtime[SessionsSettings], conn: Conn, acc: Access, row: AgreementRow, now: datetime
) -> None:
    await agreements_db.activate(conn, acc.rel.id, row.version, now)
    await relationships_db.activate(conn, acc.rel.id, row.end_date)
    await rt.outbox.add(
        conn,
        AgreementConfirmedV1(
            **relationship_fields(acc.rel),
            agreement_version=row.version,
            by_participant_id=acc.participant_id,
            cadence_days=row.cadence_days,
            start_date=row.start_date,
            end_date=row.end_date,
        ),
        subject=subject(acc.rel),
    )
