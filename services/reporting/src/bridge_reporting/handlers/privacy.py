"""Data-protection requests from matching (`bridge.matching.privacy`): erasure and export, each in
the consumer's transaction with its inbox row and the answer in the outbox (app/privacy.py)."""

from __future__ import annotations

from functools import partial

from bridge_reporting.app import privacy
from bridge_reporting.settings import ReportingSettings
from bridge_shared.contracts.privacy import ErasureRequestedV1, ExportRequestedV1
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def privacy_consumer(rt: Runtime[ReportingSettings]) -> EventConsumer:
    consumer = consumer_for(rt, "privacy", [ErasureRequestedV1.topic])
    consumer.handle(ErasureRequestedV1, partial(privacy.erase, rt))
    consumer.handle(ExportRequestedV1, partial(privacy.export, rt))
    return consumer
