"""Keeps the recipient directory from matching's participant events."""

from __future__ import annotations

from typing import Any

import asyncpg

from bridge_shared.contracts.matching import (
    ParticipantEnrolledV1,
    ParticipantUpdatedV1,
    ParticipantWithdrawnV1,
)
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def participant_consumer(rt: Runtime) -> EventConsumer:
    consumer = consumer_for(rt, "directory", [ParticipantEnrolledV1.topic], batch=True)

    async def upsert(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, ParticipantEnrolledV1 | ParticipantUpdatedV1)
        await conn.execute(
            """INSERT INTO recipients (participant_id, employee_id, cohort_id, display_name, email, locale,
                                       timezone)
               VALUES ($1,$2,$3,$4,$5,$6,$7)
               ON CONFLICT (participant_id) DO UPDATE SET employee_id = EXCLUDED.employee_id,
                   display_name = EXCLUDED.display_name, email = EXCLUDED.email, locale = EXCLUDED.locale,
                   timezone = EXCLUDED.timezone, active = true, updated_at = now()""",
            p.participant_id,
            p.profile.employee_id,
            p.cohort_id,
            p.profile.display_name,
            str(p.profile.email),
            p.profile.locale,
            p.profile.timezone,
        )

    async def withdraw(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, ParticipantWithdrawnV1)
        await conn.execute(
            "UPDATE recipients SET active = false, updated_at = now() WHERE participant_id = $1",
            p.participant_id,
        )

    consumer.on(ParticipantEnrolledV1, ParticipantUpdatedV1)(upsert)
    consumer.on(ParticipantWithdrawnV1)(withdraw)
    return consumer
