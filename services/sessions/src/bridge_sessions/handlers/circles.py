"""matching's circle events (bridge.matching.circle): circle.formed -> the circle opens (once however
often the event arrives) and circle.started; circle.dissolved -> it ends early. The other circle
events on the topic (proposed, member_responded, refilled) are matching's workflow: not consumed."""

from __future__ import annotations

from functools import partial

from bridge_sessions.app import circles
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.circles import CircleDissolvedV1, CircleFormedV1
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def circle_consumer(rt: Runtime[SessionsSettings]) -> EventConsumer:
    consumer = consumer_for(rt, "circles", [CircleFormedV1.topic])
    consumer.handle(CircleFormedV1, partial(circles.start, rt))
    consumer.handle(CircleDissolvedV1, partial(circles.dissolve, rt))
    return consumer
