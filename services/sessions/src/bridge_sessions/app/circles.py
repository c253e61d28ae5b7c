"""Circles: members see their own, HR those with a member in their regions, service all (read-only).
Also what matching's circle events do: circle.formed opens a circle (once however often the event
arrives) and announces it (circle.started); circle.dissolved ends it early."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bridge_sessions.app.circle_access import hidden_members, load_circle_access, member_of
from bridge_sessions.app.circle_closure import close_circle
from bridge_sessions.db import Conn
from bridge_sessions.db import circles as circles_db
from bridge_sessions.db.circles import NewCircle, NewMember
from bridge_sessions.domain.circle_rows import CircleView
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.contracts.circles import CircleDissolvedV1, CircleFormedV1, CircleStartedV1
from bridge_shared.db.connection import connection
from bridge_shared.errors import Problem
from bridge_shared.privacy.erased import ERASED_ID, is_erased_email
from bridge_shared.runtime import Runtime

log = logging.getLogger(__name__)
CLOSED_BY_MATCHING = "matching"
"""`closed_by` of a circle matching dissolved (HR decided there; no participant did)."""


@dataclass(frozen=True, slots=True)
class CircleSeen:
    """A circle as one caller sees it."""

    circle: CircleView
    me: str | None
    """The caller's participant id, when they are a member."""
    hidden: frozenset[str] = frozenset()
    """Members outside the caller's scope: shown by id, name, region and generation only (rule 3)."""


def _seen(row: CircleView | None, principal: Principal) -> CircleSeen:
    if row is None:
        raise Problem(404, "Circle not found")
    me = member_of(principal, row)
    return CircleSeen(row, me.participant_id if me else None, hidden_members(principal, row))


async def visible(
    rt: Runtime[SessionsSettings], principal: Principal, *, cohort_id: str | None, status: str | None
) -> list[CircleSeen]:
    """hr_admin and service all, regional HR those with a member in their regions, participants the
    circles they are members of; filtered in SQL."""
    regions = scope.region_filter(principal)
    async with connection(rt.pool) as conn:
        rows = await circles_db.visible(
            conn,
            cohort_id=cohort_id,
            status=status,
            everyone=regions is None,
            regions=list(regions or ()),
            employee_id=principal.subject
            if Role.PARTICIPANT in principal.roles and principal.subject != ERASED_ID
            else None,
        )
    return [_seen(r, principal) for r in rows]


async def get(rt: Runtime[SessionsSettings], circle_id: str, principal: Principal) -> CircleSeen:
    async with connection(rt.pool) as conn:
        await load_circle_access(conn, circle_id, principal)
        return _seen(await circles_db.view(conn, circle_id), principal)


async def start(rt: Runtime[SessionsSettings], conn: Conn, p: CircleFormedV1) -> None:
    """circle.formed -> the circle with its members and circle.started, in the consumer's
    transaction; a repeated circle.formed changes nothing. A member already erased (their sealed
    fields open as placeholders) is left out; without them, a circle with fewer than two members or
    without its facilitator is not opened (logged)."""
    erased = {m.participant_id for m in p.members if is_erased_email(m.email)}
    members = [m for m in p.members if m.participant_id not in erased]
    if erased:
        log.info("circle.formed %s names erased participant(s) %s: left out", p.circle_id, sorted(erased))
    if len(members) < 2 or p.facilitator_id in erased:
        log.info("circle.formed %s: too few members or no facilitator left; no circle", p.circle_id)
        return
    if p.facilitator_id not in {m.participant_id for m in members}:
        log.warning("circle.formed %s: facilitator %s is not a member", p.circle_id, p.facilitator_id)
    new = NewCircle(
        id=p.circle_id,
        cohort_id=p.cohort_id,
        facilitator_id=p.facilitator_id,
        language=p.language,
        weekly_slot=p.weekly_slot.model_dump() if p.weekly_slot else None,
        planned_end=p.programme_end,
        hr_contact_email=str(p.hr_contact_email) if p.hr_contact_email else None,
        started_at=p.formed_at,
        members=tuple(
            NewMember(
                participant_id=m.participant_id,
                position=i,
                employee_id=m.employee_id,
                display_name=m.display_name,
                email=str(m.email),
                region=m.region,
                generation=m.generation,
                timezone=m.timezone,
                locale=m.locale,
            )
            for i, m in enumerate(members)
        ),
    )
    if not await circles_db.insert(conn, new):
        return
    await rt.outbox.add(
        conn,
        CircleStartedV1(
            circle_id=new.id,
            cohort_id=new.cohort_id,
            member_ids=[m.participant_id for m in new.members],
            facilitator_id=new.facilitator_id,
            started_at=new.started_at,
            hr_contact_email=new.hr_contact_email,
        ),
        subject=f"circle/{new.id}",
    )


async def dissolve(rt: Runtime[SessionsSettings], conn: Conn, p: CircleDissolvedV1) -> None:
    """circle.dissolved -> the circle ends early (sessions to come cancelled), in the consumer's
    transaction; the reason stays what matching sent."""
    closed = await close_circle(
        conn,
        rt.outbox,
        rt.settings,
        p.circle_id,
        outcome="ended_early",
        reason=p.reason,
        closed_by=CLOSED_BY_MATCHING,
        now=rt.clock.now(),
    )
    if closed is None:
        # circle.formed and circle.dissolved share a topic and key, so formed comes first; a circle
        # never opened here (or closed already) has nothing to close.
        log.info("circle.dissolved for %s: no open circle here", p.circle_id)
