"""matching's pair events, consumed in batches: pair.formed -> a relationship (created once however
often the event arrives; a run of them set-based); pair.dissolved -> the relationship ends early.
v1 (history from before sealing) and v2 (personal fields sealed) go to the same use cases."""

from __future__ import annotations

from functools import partial

from bridge_sessions.app import relationships
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.matching import PairDissolvedV1, PairDissolvedV2, PairFormedV1, PairFormedV2
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def pair_consumer(rt: Runtime[SessionsSettings]) -> EventConsumer:
    # Batches: one transaction and one offset commit per batch; each run of pair.formed in one
    # set-based call (a cohort's publish sends thousands at once).
    consumer = consumer_for(rt, "pairs", [PairFormedV1.topic], batch=True)
    consumer.handle_many(PairFormedV1, partial(relationships.start, rt))
    consumer.handle_many(PairFormedV2, partial(relationships.start, rt))
    consumer.handle(PairDissolvedV1, partial(relationships.dissolve, rt))
    consumer.handle(PairDissolvedV2, partial(relationships.dissolve, rt))
    return consumer
