"""The end-to-end pipeline probe (bridge_shared.observability.probe; docs/runbooks.md).

Every service sends a probe event through its own transactional outbox to its own topic
`bridge.<service>.probe` every `probe_interval_seconds` and consumes it back with the consumer group
`bridge-<service>.probe`, so the round trip covers the whole path an event takes: the outbox write,
the relay, Kafka, a consumer and its inbox transaction. Internal to the service that sends it: no
other service subscribes, and subscribing systems should not. It carries no personal data.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from bridge_shared.contracts.common import Identifier
from bridge_shared.events import topics
from bridge_shared.events.registry import EventPayload, event


class PipelineProbe(EventPayload):
    """One probe: its id, the instance that sent it and when (the sender's clock)."""

    probe_id: Identifier
    instance: str = Field(min_length=1, max_length=128)
    sent_at: datetime


@event("matching.probe.sent", version=1, topic=topics.PROBE_TOPICS["matching"], key="probe_id")
class MatchingProbeV1(PipelineProbe):
    """Internal: matching's end-to-end pipeline probe, sent and consumed back by matching alone
    (docs/runbooks.md). Other systems should not subscribe."""


@event("sessions.probe.sent", version=1, topic=topics.PROBE_TOPICS["sessions"], key="probe_id")
class SessionsProbeV1(PipelineProbe):
    """Internal: sessions' end-to-end pipeline probe, sent and consumed back by sessions alone
    (docs/runbooks.md). Other systems should not subscribe."""


@event("notifications.probe.sent", version=1, topic=topics.PROBE_TOPICS["notifications"], key="probe_id")
class NotificationsProbeV1(PipelineProbe):
    """Internal: notifications's end-to-end pipeline probe, sent and consumed back by notifications alone
    (docs/runbooks.md). Other systems should not subscribe."""


@event("reporting.probe.sent", version=1, topic=topics.PROBE_TOPICS["reporting"], key="probe_id")
class ReportingProbeV1(PipelineProbe):
    """Internal: reporting's end-to-end pipeline probe, sent and consumed back by reporting alone
    (docs/runbooks.md). Other systems should not subscribe."""


PROBES: dict[str, type[PipelineProbe]] = {
    "matching": MatchingProbeV1,
    "sessions": SessionsProbeV1,
    "notifications": NotificationsProbeV1,
    "reporting": ReportingProbeV1,
}
