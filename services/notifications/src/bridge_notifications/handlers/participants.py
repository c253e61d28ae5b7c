"""Keeps the recipient directory from matching's participant events (v1 from before the privacy
upgrade, v2 with the profile sealed)."""

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
)
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def participant_consumer(rt: Runtime[NotificationsSettings]) -> EventConsumer:
    consumer = consumer_for(rt, "directory", [ParticipantEnrolledV1.topic], batch=True)
    consumer.handle(ParticipantEnrolledV1, directory.record_participant)
    consumer.handle(ParticipantEnrolledV2, directory.record_participant)
    consumer.handle(ParticipantUpdatedV1, directory.record_participant)
    consumer.handle(ParticipantUpdatedV2, directory.record_participant)
    consumer.handle(ParticipantWithdrawnV1, directory.withdraw_participant)
    consumer.handle(ParticipantWithdrawnV2, directory.withdraw_participant)
    return consumer
