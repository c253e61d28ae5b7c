"""cohort.created -> the cohort's inactivity threshold (and programme end), for the health job."""

from __future__ import annotations

from bridge_sessions.app import cohorts
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.matching import CohortCreatedV1
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime


def cohort_consumer(rt: Runtime[SessionsSettings]) -> EventConsumer:
    consumer = consumer_for(rt, "cohorts", [CohortCreatedV1.topic])
    consumer.handle(CohortCreatedV1, cohorts.record)
    return consumer
