"""sessions' relationship events: pair.closed (v1 history and v2) ends the pair here, so its people
are free again (app/pairs.py `release`)."""

from __future__ import annotations

from functools import partial

from bridge_matching.app import pairs
from bridge_matching.app.runtime import MatchingRuntime
from bridge_shared.contracts.sessions import PairClosedV1, PairClosedV2
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for


def relationship_consumer(rt: MatchingRuntime) -> EventConsumer:
    consumer = consumer_for(rt, "relationships", [PairClosedV1.topic])
    consumer.handle(PairClosedV1, partial(pairs.release, rt))
    consumer.handle(PairClosedV2, partial(pairs.release, rt))
    return consumer
