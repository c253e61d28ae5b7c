"""Projects matching events into the read models. Upserts keyed by aggregate id keep it idempotent."""

from __future__ import annotations

from typing import Any

import asyncpg

from bridge_shared.contracts.matching import (
    CohortCreatedV1,
    PairDissolvedV1,
    PairFormedV1,
    ParticipantEnrolledV1,
    ParticipantUpdatedV1,
    ParticipantWithdrawnV1,
)
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime

TOPICS = [CohortCreatedV1.topic, ParticipantEnrolledV1.topic, PairFormedV1.topic]


def projection_consumer(rt: Runtime) -> EventConsumer:
    consumer = consumer_for(rt, "projections", TOPICS, batch=True)

    @consumer.on(CohortCreatedV1)
    async def cohort_created(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, CohortCreatedV1)
        await conn.execute(
            """INSERT INTO rm_cohorts (cohort_id, name, regions, created_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT (cohort_id) DO UPDATE SET name = EXCLUDED.name, regions = EXCLUDED.regions""",
            p.cohort_id, p.name, p.regions, event.attributes.time,
        )

    @consumer.on(ParticipantEnrolledV1, ParticipantUpdatedV1)
    async def participant(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, ParticipantEnrolledV1 | ParticipantUpdatedV1)
        await conn.execute(
            """INSERT INTO rm_participants (participant_id, cohort_id, role, region, department,
                                            seniority_level, enrolled_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (participant_id) DO UPDATE SET role = EXCLUDED.role, region = EXCLUDED.region,
                   department = EXCLUDED.department, seniority_level = EXCLUDED.seniority_level""",
            p.participant_id, p.cohort_id, p.role, p.profile.region, p.profile.department,
            p.profile.seniority_level, event.attributes.time,
        )

    @consumer.on(ParticipantWithdrawnV1)
    async def withdrawn(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, ParticipantWithdrawnV1)
        await conn.execute("UPDATE rm_participants SET status = 'withdrawn' WHERE participant_id = $1",
                           p.participant_id)

    @consumer.on(PairFormedV1)
    async def pair_formed(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, PairFormedV1)
        await conn.execute(
            """INSERT INTO rm_pairs (pair_id, cohort_id, mentor_id, mentee_id, region, formed_at)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pair_id) DO NOTHING""",
            p.pair_id, p.cohort_id, p.mentor.participant_id, p.mentee.participant_id, p.mentee.region,
            p.formed_at,
        )

    @consumer.on(PairDissolvedV1)
    async def pair_dissolved(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, PairDissolvedV1)
        await conn.execute("UPDATE rm_pairs SET status = 'dissolved' WHERE pair_id = $1", p.pair_id)

    return consumer
