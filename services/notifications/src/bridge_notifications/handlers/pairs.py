"""pair.formed -> a kick-off email to each person in the pair."""

from __future__ import annotations

from typing import Any

import asyncpg

from bridge_notifications.db import deliveries
from bridge_notifications.domain.rendering import render
from bridge_shared.contracts.matching import PairFormedV1, ParticipantRef
from bridge_shared.events.envelope import InboundEvent
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def pair_consumer(rt: Runtime) -> EventConsumer:
    consumer = consumer_for(rt, "pairs", [PairFormedV1.topic])
    prefs_url: str = rt.settings.preferences_base_url  # type: ignore[attr-defined]

    @consumer.on(PairFormedV1)
    async def on_pair_formed(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
        p = event.payload
        assert isinstance(p, PairFormedV1)
        sides: list[tuple[ParticipantRef, ParticipantRef, str]] = [
            (p.mentor, p.mentee, "reverse mentor"), (p.mentee, p.mentor, "mentee")]
        for me, partner, role_label in sides:
            content = render("pair_formed", me.locale, {
                "recipient_name": me.display_name, "partner_name": partner.display_name,
                "role_label": role_label, "explanation": p.explanation.summary,
                "programme_end": p.programme_end.isoformat() if p.programme_end else None,
                "preferences_url": f"{prefs_url}/{me.participant_id}",
            })
            await deliveries.create(
                conn, source_event_id=event.id, recipient_id=me.participant_id, cohort_id=p.cohort_id,
                channel="email", kind="pair_formed", to_address=str(me.email), subject=content.subject,
                body_text=content.text, body_html=content.html,
            )

    return consumer
