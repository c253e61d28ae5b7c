"""The other services' answers to matching's privacy requests (docs/privacy.md): erasure
confirmations and export parts (sealed under the person's keys, opened by the consumer)."""

from __future__ import annotations

from functools import partial

from bridge_matching.app import privacy
from bridge_matching.app.runtime import MatchingRuntime
from bridge_shared.contracts import privacy as contracts
from bridge_shared.events import topics
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for


def privacy_consumer(rt: MatchingRuntime) -> EventConsumer:
    consumer = consumer_for(rt, "privacy", list(topics.PRIVACY_ANSWER_TOPICS))
    for answer in (
        contracts.SessionsErasureCompletedV1,
        contracts.NotificationsErasureCompletedV1,
        contracts.ReportingErasureCompletedV1,
    ):
        consumer.handle(answer, partial(privacy.record_answer, rt))
    for part in (
        contracts.SessionsExportPartV1,
        contracts.NotificationsExportPartV1,
        contracts.ReportingExportPartV1,
    ):
        consumer.handle(part, partial(privacy.store_export_part, rt))
    return consumer
