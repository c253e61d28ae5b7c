"""Relationships: participants see their own, HR those in their regions; either side or HR can end
one early. Also what matching's pair events do: pair.formed opens a relationship (once however often
the event arrives), pair.dissolved ends it early."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from uuid import UUID

from bridge_sessions.app.access import hidden_sides, load_access, side_of
from bridge_sessions.app.closure import close_relationship
from bridge_sessions.db import Conn
from bridge_sessions.db import relationships as relationships_db
from bridge_sessions.db.relationships import NewRelationship
from bridge_sessions.domain.rows import RelationshipView, Side
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.contracts.matching import PairDissolvedV1, PairDissolvedV2, PairFormedV1
from bridge_shared.contracts.sessions import RelationshipStartedV1
from bridge_shared.db.connection import connection, transaction
from bridge_shared.errors import Problem
from bridge_shared.privacy.erased import ERASED_ID, is_erased_email
from bridge_shared.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Seen:
    """A relationship as one caller sees it."""

    rel: RelationshipView
    my_side: Side | None
    hidden: frozenset[Side] = frozenset()
    """Sides whose person is outside the caller's scope: shown by id, name and region only (rule 3)."""


def _seen(row: RelationshipView | None, principal: Principal) -> Seen:
    assert row is not None, "access to it was checked in this transaction"
    return Seen(row, side_of(principal, row), hidden_sides(principal, row))


async def visible(
    rt: Runtime[SessionsSettings], principal: Principal, *, cohort_id: str | None, status: str | None
) -> list[Seen]:
    """hr_admin and service all, regional HR those with one person in their regions, participants the
    relationships they are in."""
    regions = scope.region_filter(principal)
    async with connection(rt.pool) as conn:
        rows = await relationships_db.visible(
            conn,
            cohort_id=cohort_id,
            status=status,
            everyone=regions is None,
            regions=list(regions or ()),
            employee_id=principal.subject
            if Role.PARTICIPANT in principal.roles and principal.subject != ERASED_ID
            else None,
        )
    return [Seen(r, side_of(principal, r), hidden_sides(principal, r)) for r in rows]


async def get(rt: Runtime[SessionsSettings], relationship_id: UUID, principal: Principal) -> Seen:
    async with connection(rt.pool) as conn:
        await load_access(conn, relationship_id, principal)
        return _seen(await relationships_db.view(conn, relationship_id), principal)


async def close_early(
    rt: Runtime[SessionsSettings], relationship_id: UUID, principal: Principal, reason: str
) -> Seen:
    """Either participant, or HR for its region."""
    async with transaction(rt.pool) as conn:
        acc = await load_access(conn, relationship_id, principal, for_update=True)
        acc.open()
        scope.ensure_writer(principal)
        if not acc.is_participant and not principal.has(Role.HR_ADMIN, Role.HR_REGIONAL):
            raise Problem(403, "Forbidden", "Only the participants or HR can end a relationship.")
        await close_relationship(
            conn,
            rt.outbox,
            rt.settings,
            relationship_id,
            outcome="ended_early",
            reason=reason,
            closed_by=principal.subject,
            now=rt.clock.now(),
        )
        return _seen(await relationships_db.view(conn, relationship_id), principal)


async def start(rt: Runtime[SessionsSettings], conn: Conn, formed: list[PairFormedV1]) -> None:
    """pair.formed (v1 or v2; a run of them from one batch, in partition order) -> a relationship per
    pair and relationship.started, in the consumer's transaction, with one statement each. Not for a
    person already erased (their sealed fields open as placeholders: a replayed or late pair.formed
    must not bring them back); a pair formed twice in the run counts once (its first event)."""
    new: dict[str, NewRelationship] = {}
    for p in formed:
        erased = [r.participant_id for r in (p.mentor, p.mentee) if is_erased_email(r.email)]
        if erased:
            log.info("pair.formed %s names erased participant(s) %s: no relationship", p.pair_id, erased)
            continue
        new.setdefault(p.pair_id, _new_relationship(p))
    inserted = await relationships_db.insert_many(conn, list(new.values()))
    await rt.outbox.add_many(
        conn,
        [
            (
                RelationshipStartedV1(
                    relationship_id=str(r.id),
                    pair_id=r.pair_id,
                    cohort_id=r.cohort_id,
                    mentor_id=r.mentor_id,
                    mentee_id=r.mentee_id,
                    started_at=r.started_at,
                    planned_end=r.planned_end,
                ),
                f"relationship/{r.id}",
            )
            for r in new.values()
            if r.pair_id in inserted
        ],
    )


def _new_relationship(p: PairFormedV1) -> NewRelationship:
    return NewRelationship(
        id=uuid.uuid4(),
        pair_id=p.pair_id,
        cohort_id=p.cohort_id,
        mentor_id=p.mentor.participant_id,
        mentor_employee_id=p.mentor.employee_id,
        mentor_name=p.mentor.display_name,
        mentor_timezone=p.mentor.timezone,
        mentor_email=str(p.mentor.email),
        mentee_id=p.mentee.participant_id,
        mentee_employee_id=p.mentee.employee_id,
        mentee_name=p.mentee.display_name,
        mentee_timezone=p.mentee.timezone,
        mentee_email=str(p.mentee.email),
        region=p.mentee.region,
        mentor_region=p.mentor.region,
        mentee_region=p.mentee.region,
        planned_end=p.programme_end,
        hr_contact_email=p.hr_contact_email,
        started_at=p.formed_at,
    )


async def dissolve(rt: Runtime[SessionsSettings], conn: Conn, p: PairDissolvedV1) -> None:
    """pair.dissolved (v1 or v2) -> the relationship ends early, in the consumer's transaction. A v2
    that names `left_participant_id` (one of the two left the company) passes it on to pair.closed;
    the reason stays what matching sent."""
    rid = await relationships_db.id_for_pair(conn, p.pair_id)
    if rid is None:
        # pair.formed and pair.dissolved share a topic and key, so formed always comes first.
        log.warning("pair.dissolved for unknown pair %s; nothing to close", p.pair_id)
        return
    await close_relationship(
        conn,
        rt.outbox,
        rt.settings,
        rid,
        outcome="ended_early",
        reason=p.reason,
        closed_by=p.dissolved_by,
        now=rt.clock.now(),
        left_participant_id=p.left_participant_id if isinstance(p, PairDissolvedV2) else None,
    )
