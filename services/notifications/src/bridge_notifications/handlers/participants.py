"""Keeps the recipient directory from matching's participant events (v1 from before the privacy
upgrade, v2 with the profile sealed), and marks leavers from its person events (matching.person.left:
nothing is sent to them any more; joiners and movers need nothing here, a mover's new profile comes
as participant.updated)."""

from __future__ import annotations

from bridge_notifications.app import directory
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts.matching import (
    ParticipantEnrolledV1,
    ParticipantEnrolledV2,
    ParticipantUpdatedV1,
    ParticipantUpdatedV2,
    ParticipantWithdrawnV1,
    ParticipantWithdrawnV2,
    PersonLeftV1,
)
from bridge_shared.db.connection import Conn
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def participant_consumer(rt: Runtime[NotificationsSettings]) -> EventConsumer:
    consumer = consumer_for(rt, "directory", [ParticipantEnrolledV1.topic, PersonLeftV1.topic], batch=True)
    consumer.handle(ParticipantEnrolledV1, directory.record_participant)
    consumer.handle(ParticipantEnrolledV2, directory.record_participant)
    consumer.handle(ParticipantUpdatedV1, directory.record_participant)
    consumer.handle(ParticipantUpdatedV2, directory.record_participant)
    consumer.handle(ParticipantWithdrawnV1, directory.withdraw_participant)
    consumer.handle(ParticipantWithdrawnV2, directory.withdraw_participant)

    async def on_left(conn: Conn, p: PersonLeftV1) -> None:
        await directory.person_left(conn, p, rt.clock.now())

    consumer.handle(PersonLeftV1, on_left)
    return consumer
