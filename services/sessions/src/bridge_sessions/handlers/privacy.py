"""matching's data-protection requests: erase a person (ErasureRequestedV1) or export what sessions
holds about them (ExportRequestedV1); each answered on bridge.sessions.privacy in the consumer's
transaction (app/privacy.py)."""

from __future__ import annotations

from functools import partial

from bridge_sessions.app import privacy
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.privacy import ErasureRequestedV1, ExportRequestedV1
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def privacy_consumer(rt: Runtime[SessionsSettings]) -> EventConsumer:
    consumer = consumer_for(rt, "privacy", [ErasureRequestedV1.topic])
    consumer.handle(ErasureRequestedV1, partial(privacy.erase, rt))
    consumer.handle(ExportRequestedV1, partial(privacy.export, rt))
    return consumer
