"""Event types that exist only in tests, each on a topic of its own."""

from __future__ import annotations

import uuid

from bridge_shared.events.registry import EventPayload, event

RUN = uuid.uuid4().hex[:8]
THING_TOPIC = f"bridge.test.thing-{RUN}"


@event(f"test{RUN}.thing.happened", version=1, topic=THING_TOPIC, key="thing_id")
class ThingHappened(EventPayload):
    thing_id: str
    seq: int
    note: str = ""
