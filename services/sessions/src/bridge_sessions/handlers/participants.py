"""matching's participant events: participant.updated (v1 history, v2 sealed) -> the person's profile
in every relationship they are in, and re-issued invites (app/profiles.py)."""

from __future__ import annotations

from functools import partial

from bridge_sessions.app import profiles
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.matching import ParticipantUpdatedV1, ParticipantUpdatedV2
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def participant_consumer(rt: Runtime[SessionsSettings]) -> EventConsumer:
    consumer = consumer_for(rt, "participants", [ParticipantUpdatedV1.topic])
    consumer.handle(ParticipantUpdatedV1, partial(profiles.apply_profile, rt))
    consumer.handle(ParticipantUpdatedV2, partial(profiles.apply_profile, rt))
    return consumer
