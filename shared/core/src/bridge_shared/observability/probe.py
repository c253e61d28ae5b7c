"""End-to-end pipeline probe, in the style of KMinion: is an event that a service writes now
received back, and how long does the whole path take?

Every `probe_interval_seconds` each instance writes one probe (`com.bridge.<service>.probe.sent.v1`,
bridge_shared.contracts.probe) through its transactional outbox, with a row in `pipeline_probes`
in the same transaction. The relay publishes it to `bridge.<service>.probe`; the consumer group
`bridge-<service>.probe` (any instance of the service) receives it and, in its inbox transaction,
sets the row's `received_at`. So a probe's round trip covers the outbox write, the relay's
leadership and publish, Kafka, a consumer's fetch and its committed effect: what every real event of
the service goes through.

- `bridge_probe_round_trip_seconds` (histogram): `received_at - sent_at`, both by the database's
  clock (no skew between instances), observed by the instance that received it.
- `bridge_probe_sent_total`: probes this instance wrote.
- `bridge_probe_lost_total`: probes not received within `probe_timeout_seconds`. Every instance
  looks for them on its tick; `UPDATE ... RETURNING` marks each one lost exactly once, so the sum over
  instances counts each lost probe once. A probe that arrives after being marked lost is still
  observed in the histogram (in its top buckets).
- Rows older than a day are deleted.

`probe_interval_seconds = 0` turns the probe off (no sends, no probe consumer). Alerts and what to
do: docs/runbooks.md (BridgeProbeLost, BridgeProbeSlow, BridgeProbeNotSending).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Any

import asyncpg

from bridge_shared.contracts.probe import PROBES, PipelineProbe
from bridge_shared.db.connection import as_connection
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.factory import consumer_for
from bridge_shared.runtime import Runtime
from bridge_shared.settings import ServiceSettings

log = logging.getLogger(__name__)

RETENTION = "1 day"
CONSUMER_NAME = "probe"


def probe_model(settings: ServiceSettings) -> type[PipelineProbe] | None:
    """The probe event of this service (by its settings class's service name: an instance may run
    under a suffixed name such as `matching_eu`), or None for a service without one."""
    field = type(settings).model_fields.get("service_name")
    family = field.default if field is not None and isinstance(field.default, str) else settings.service_name
    return PROBES.get(family)


def enabled(settings: ServiceSettings) -> bool:
    return settings.probe_interval_seconds > 0 and probe_model(settings) is not None


def instance_name() -> str:
    """Who sent a probe: host and process (for an operator reading `pipeline_probes`)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


class Prober:
    """Sends this instance's probes, receives the service's, counts the lost ones."""

    def __init__(self, runtime: Runtime[Any]) -> None:
        model = probe_model(runtime.settings)
        if model is None:
            raise ValueError(f"no probe event for service {runtime.settings.service_name!r}")
        self.runtime = runtime
        self.model = model
        self.instance = instance_name()

    def consumer(self) -> EventConsumer:
        consumer = consumer_for(self.runtime, CONSUMER_NAME, [self.model.topic])
        consumer.handle(self.model, self.received)
        return consumer

    async def received(self, conn: asyncpg.Connection[Any], probe: PipelineProbe) -> None:
        """In the probe consumer's inbox transaction: the probe arrived. A probe of another
        deployment sharing the topic (no row here) has no effect."""
        seconds = await conn.fetchval(
            """UPDATE pipeline_probes SET received_at = now()
               WHERE probe_id = $1 AND received_at IS NULL
               RETURNING extract(epoch FROM received_at - sent_at)::float8""",
            probe.probe_id,
        )
        metrics = self.runtime.metrics
        if seconds is not None and metrics is not None:
            metrics.probe_round_trip.observe(max(float(seconds), 0.0))

    async def send(self) -> str:
        """Writes one probe (its row and its outbox event in one transaction); returns its id."""
        probe_id = str(uuid.uuid4())
        async with self.runtime.pool.acquire() as pooled, pooled.transaction():
            conn = as_connection(pooled)
            sent_at = await conn.fetchval(
                "INSERT INTO pipeline_probes (probe_id, instance) VALUES ($1, $2) RETURNING sent_at",
                probe_id,
                self.instance,
            )
            await self.runtime.outbox.add(
                conn, self.model(probe_id=probe_id, instance=self.instance, sent_at=sent_at)
            )
        if self.runtime.metrics is not None:
            self.runtime.metrics.probe_sent.inc()
        return probe_id

    async def mark_lost(self) -> int:
        """Marks the probes not received within the timeout as lost (each once); returns how many."""
        async with self.runtime.pool.acquire() as conn:
            rows = await conn.fetch(
                """UPDATE pipeline_probes SET lost_at = now()
                   WHERE received_at IS NULL AND lost_at IS NULL
                     AND sent_at < now() - make_interval(secs => $1)
                   RETURNING probe_id""",
                self.runtime.settings.probe_timeout_seconds,
            )
            await conn.execute(f"DELETE FROM pipeline_probes WHERE sent_at < now() - interval '{RETENTION}'")
        if rows:
            log.warning(
                "%d pipeline probe(s) not received within %.0f s: events may be stuck between the "
                "outbox and the consumers (docs/runbooks.md#bridgeprobelost)",
                len(rows),
                self.runtime.settings.probe_timeout_seconds,
            )
            if self.runtime.metrics is not None:
                self.runtime.metrics.probe_lost.inc(len(rows))
        return len(rows)

    async def run(self) -> None:
        """Background task: a probe every interval (the first after one interval), then the check."""
        interval = self.runtime.settings.probe_interval_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self.send()
                await self.mark_lost()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down: readiness and other alerts say so
                log.warning("pipeline probe skipped: %s: %s", type(exc).__name__, exc)
