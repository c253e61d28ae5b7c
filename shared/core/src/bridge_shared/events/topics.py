"""One topic-naming convention: `bridge.<producing service>.<aggregate>`.

Every event of an aggregate goes to its aggregate's topic, keyed by the aggregate id, so Kafka keeps
per-aggregate order. Dead letters go to `bridge.dlq.<consuming service>`. A deployment may put a
prefix before every name (`kafka_topic_prefix`, e.g. `staging.`), applied where topics meet the broker.
"""

from __future__ import annotations

import re

_PART = re.compile(r"^[a-z][a-z0-9_-]*$")


def topic_name(service: str, aggregate: str) -> str:
    for part in (service, aggregate):
        if not _PART.match(part):
            raise ValueError(f"invalid topic part: {part!r}")
    return f"bridge.{service}.{aggregate}"


def dead_letter_topic(consuming_service: str, prefix: str = "") -> str:
    return prefix + topic_name("dlq", consuming_service)


def prefixed(topic: str, prefix: str) -> str:
    """The name `topic` has on the cluster: environments (or test runs) sharing one Kafka cluster
    set `kafka_topic_prefix` so they never see each other's events. Contracts name unprefixed topics."""
    return prefix + topic


MATCHING_COHORT = topic_name("matching", "cohort")
MATCHING_PARTICIPANT = topic_name("matching", "participant")
MATCHING_PROPOSAL = topic_name("matching", "proposal")
MATCHING_PAIR = topic_name("matching", "pair")
# The company directory (SCIM provisioning, HRIS delta files): joiners, movers and leavers.
MATCHING_PERSON = topic_name("matching", "person")
# Mentoring circles: matching forms them, sessions runs them (contracts/circles.py).
MATCHING_CIRCLE = topic_name("matching", "circle")
SESSIONS_CIRCLE = topic_name("sessions", "circle")
SESSIONS_RELATIONSHIP = topic_name("sessions", "relationship")
NOTIFICATIONS_NOTIFICATION = topic_name("notifications", "notification")
# Data-protection requests (matching coordinates) and each service's answers (docs/privacy.md).
MATCHING_PRIVACY = topic_name("matching", "privacy")
SESSIONS_PRIVACY = topic_name("sessions", "privacy")
NOTIFICATIONS_PRIVACY = topic_name("notifications", "privacy")
REPORTING_PRIVACY = topic_name("reporting", "privacy")
PRIVACY_ANSWER_TOPICS = (SESSIONS_PRIVACY, NOTIFICATIONS_PRIVACY, REPORTING_PRIVACY)

# The end-to-end pipeline probe (bridge_shared.observability.probe): each service sends probe events
# through its own outbox to its own probe topic and consumes them back. Internal: no other consumer
# reads them, and they are not in ALL_EVENT_TOPICS.
PROBE_TOPICS = {s: topic_name(s, "probe") for s in ("matching", "sessions", "notifications", "reporting")}

ALL_EVENT_TOPICS = (
    MATCHING_COHORT,
    MATCHING_PARTICIPANT,
    MATCHING_PROPOSAL,
    MATCHING_PAIR,
    MATCHING_PERSON,
    MATCHING_CIRCLE,
    SESSIONS_RELATIONSHIP,
    SESSIONS_CIRCLE,
    NOTIFICATIONS_NOTIFICATION,
    MATCHING_PRIVACY,
    *PRIVACY_ANSWER_TOPICS,
)
