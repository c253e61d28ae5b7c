"""matching's pair events: pair.formed -> a relationship (created once however often the event
arrives); pair.dissolved -> the relationship ends early."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg

from bridge_sessions.closure import close_relationship
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.matching import PairDissolvedV1, PairFormedV1
from bridge_shared.contracts.sessions import RelationshipStartedV1
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import Clock

log = logging.getLogger(__name__)


def pair_consumer(rt: Runtime) -> EventConsumer:
    consumer = consumer_for(rt, "pairs", [PairFormedV1.topic])

    @consumer.on(PairFormedV1)  # type: ignore[untyped-decorator, unused-ignore]
    async def on_pair_formed(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, PairFormedV1)
        rel_id = await conn.fetchval(
            """INSERT INTO relationships (id, pair_id, cohort_id, mentor_id, mentor_employee_id, mentor_name,
                    mentor_timezone, mentee_id, mentee_employee_id, mentee_name, mentee_timezone, region,
                    planned_end, hr_contact_email, started_at, mentor_email, mentee_email)
               VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
               ON CONFLICT (pair_id) DO NOTHING RETURNING id""",
            uuid.uuid4(),
            p.pair_id,
            p.cohort_id,
            p.mentor.participant_id,
            p.mentor.employee_id,
            p.mentor.display_name,
            p.mentor.timezone,
            p.mentee.participant_id,
            p.mentee.employee_id,
            p.mentee.display_name,
            p.mentee.timezone,
            p.mentee.region,
            p.programme_end,
            p.hr_contact_email,
            p.formed_at,
            str(p.mentor.email),
            str(p.mentee.email),
        )
        if rel_id is None:
            return
        await rt.outbox.add(
            conn,
            RelationshipStartedV1(
                relationship_id=str(rel_id),
                pair_id=p.pair_id,
                cohort_id=p.cohort_id,
                mentor_id=p.mentor.participant_id,
                mentee_id=p.mentee.participant_id,
                started_at=p.formed_at,
                planned_end=p.programme_end,
            ),
            subject=f"relationship/{rel_id}",
        )

    @consumer.on(PairDissolvedV1)  # type: ignore[untyped-decorator, unused-ignore]
    async def on_pair_dissolved(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, PairDissolvedV1)
        rel_id = await conn.fetchval("SELECT id FROM relationships WHERE pair_id = $1", p.pair_id)
        if rel_id is None:
            # pair.formed and pair.dissolved share a topic and key, so formed always comes first.
            log.warning("pair.dissolved for unknown pair %s; nothing to close", p.pair_id)
            return
        settings = rt.settings
        assert isinstance(settings, SessionsSettings)
        clock: Clock = rt.clock
        await close_relationship(
            conn,
            rt.outbox,
            settings,
            rel_id,
            outcome="ended_early",
            reason=p.reason,
            closed_by=p.dissolved_by,
            now=clock.now(),
        )

    return consumer
