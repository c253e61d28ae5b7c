"""Prometheus metrics for SRE dashboards: HTTP, Kafka (FastStream), consumer lag, outbox backlog,
dead letters, the end-to-end probe and readiness (dashboards and alerts: deploy/, docs/runbooks.md).

Served at /metrics: open by default; behind a bearer token (`metrics_token`) and/or on a port of its
own (`metrics_port`) as set (bridge_shared.http.guard and .metrics_server; docs/security-http.md).
Gauges that describe stored state (the outbox backlog) are refreshed from the database on every
scrape by the registered refreshers, so they tell the truth whatever the relay is doing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger(__name__)

Refresher = Callable[[], Awaitable[None]]

# Process-wide (consumers count into it without a handle on their service's metrics); every
# ServiceMetrics registry exposes it. docs/events.md, "Unknown types and versions".
EVENTS_UNKNOWN = Counter(
    "bridge_events_unknown",
    "Consumed records whose event type is not registered in bridge_shared.contracts (unknown type or "
    "version); action: dead_lettered (an unknown version of a family the consumer handles) or skipped",
    ["service", "consumer", "type", "action"],
    registry=None,
)


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.http_requests = Counter(
            "bridge_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "bridge_http_request_duration_seconds",
            "HTTP request latency by route",
            ["route", "method"],
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "bridge_outbox_pending",
            "Outbox rows not yet published (parked rows excluded; rows held behind one included)",
            registry=self.registry,
        )
        self.outbox_oldest_seconds = Gauge(
            "bridge_outbox_oldest_pending_seconds",
            "Age of the oldest unpublished outbox row (0 when none)",
            registry=self.registry,
        )
        self.outbox_parked = Gauge(
            "bridge_outbox_parked",
            "Outbox rows parked because they cannot be published (bridge-outbox list)",
            registry=self.registry,
        )
        self.outbox_held = Gauge(
            "bridge_outbox_held",
            "Pending outbox rows waiting behind a parked row of their own key",
            registry=self.registry,
        )
        self.outbox_relay_leader = Gauge(
            "bridge_outbox_relay_leader",
            "1 when this instance's outbox relay is the leader",
            registry=self.registry,
        )
        self.outbox_published = Counter(
            "bridge_outbox_published", "Events the relay published", registry=self.registry
        )
        self.outbox_sent = Counter(
            "bridge_outbox_sent",
            "Outbox rows the broker acknowledged, by topic (the relay's sends; recorded as published "
            "once their batch is recorded)",
            ["topic"],
            registry=self.registry,
        )
        self.outbox_send_errors = Counter(
            "bridge_outbox_send_errors",
            "Outbox sends that failed, by topic and error class (retried, or parked when permanent)",
            ["topic", "error_class"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "bridge_dead_letters",
            "Records sent to the dead-letter topic",
            ["consumer", "error_class"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "bridge_kafka_consumer_lag",
            "Records after the consumer group's committed offset (log-end offset minus committed), "
            "for the partitions this instance consumes; read from the broker at scrape time",
            ["group", "topic", "partition"],
            registry=self.registry,
        )
        self.consumer_assigned = Gauge(
            "bridge_kafka_consumer_assigned_partitions",
            "Partitions assigned to this instance, per consumer group",
            ["group"],
            registry=self.registry,
        )
        self.probe_round_trip = Histogram(
            "bridge_probe_round_trip_seconds",
            "End-to-end probe: from the probe's outbox write to its consumer's committed effect "
            "(outbox, relay, Kafka, consumer, inbox), by the database clock",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=self.registry,
        )
        self.probe_sent = Counter(
            "bridge_probe_sent", "Probes this instance put in the outbox", registry=self.registry
        )
        self.probe_lost = Counter(
            "bridge_probe_lost",
            "Probes not received back within probe_timeout_seconds (each counted once, by the "
            "instance that noticed)",
            registry=self.registry,
        )
        self.ready = Gauge(
            "bridge_ready",
            "1 when the readiness check passes (database, broker and topics), 0 when not; "
            "evaluated at scrape time",
            registry=self.registry,
        )
        self.degraded = Gauge(
            "bridge_degraded",
            "1 when ready but degraded (parked outbox rows, or a stalled outbox)",
            registry=self.registry,
        )
        self.events_unknown = EVENTS_UNKNOWN
        self.registry.register(EVENTS_UNKNOWN)
        self.info = Gauge("bridge_service_info", "Service identity", list(labels), registry=self.registry)
        self.info.labels(**labels).set(1)
        self._refreshers: list[Refresher] = []

    def add_refresher(self, refresher: Refresher) -> None:
        """Runs before every scrape (bounded by a timeout), to read gauges from their source."""
        self._refreshers.append(refresher)

    async def refresh(self, timeout: float = 2.0) -> None:
        for refresher in self._refreshers:
            try:
                async with asyncio.timeout(timeout):
                    await refresher()
            except Exception as exc:
                log.warning("metrics refresher failed: %s: %s", type(exc).__name__, exc)

    def broker_middleware(self, service: str) -> KafkaPrometheusMiddleware:
        return KafkaPrometheusMiddleware(
            registry=self.registry, app_name=f"bridge-{service}", metrics_prefix="bridge_kafka"
        )

    def install(self, app: FastAPI) -> None:
        @app.middleware("http")
        async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            started = time.perf_counter()
            response = await call_next(request)
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            if path not in {"/metrics", "/healthz", "/readyz"}:
                self.http_requests.labels(path, request.method, str(response.status_code)).inc()
                self.http_latency.labels(path, request.method).observe(time.perf_counter() - started)
            return response

        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            await self.refresh()
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
