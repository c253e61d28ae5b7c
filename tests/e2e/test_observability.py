"""What an SRE relies on: one trace follows a request across service processes, through Kafka."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bridge_devstack.demo_cohort import COHORT, PARTICIPANTS
from bridge_devstack.platform import Platform
from tests.e2e.otlp_capture import CapturedSpan, OtlpCapture

pytestmark = pytest.mark.e2e

SERVER, CONSUMER, PRODUCER = 2, 5, 4  # OTLP SpanKind values


async def test_one_trace_follows_a_request_from_http_through_kafka_into_other_services(
    platform: Platform, otlp: OtlpCapture, hr: httpx.AsyncClient
) -> None:
    r = await hr.post(f"{platform.url('matching')}/cohorts", json=dict(COHORT, name="Trace cohort"))
    assert r.status_code == 201, r.text
    cohort_id = r.json()["id"]

    def traces_of(service: str, kind: int) -> dict[str, list[CapturedSpan]]:
        out: dict[str, list[CapturedSpan]] = {}
        for s in otlp.snapshot():
            if s.service == f"bridge-{service}" and s.kind == kind:
                out.setdefault(s.trace_id, []).append(s)
        return out

    http_spans = [s for s in otlp.snapshot() if s.service == "bridge-matching" and s.kind == SERVER]
    deadline = time.monotonic() + 20
    request_trace = None
    while time.monotonic() < deadline and request_trace is None:
        await asyncio.sleep(0.3)
        http_spans = [
            s
            for s in otlp.snapshot()
            if s.service == "bridge-matching"
            and s.kind == SERVER
            and s.attributes.get("http.route") == "/cohorts"
            and s.attributes.get("http.request.method", s.attributes.get("http.method")) == "POST"
        ]
        candidates = {s.trace_id for s in http_spans}
        # cohort.created is consumed one by one by sessions: its consume span continues the same trace.
        hit = candidates & traces_of("sessions", CONSUMER).keys()
        if hit:
            request_trace = hit.pop()
    assert request_trace is not None, "no sessions consume span joined matching's POST /cohorts trace"
    in_trace = [s for s in otlp.snapshot() if s.trace_id == request_trace]
    services = {s.service for s in in_trace}
    assert {"bridge-matching", "bridge-sessions"} <= services
    # Reporting consumes in batches: its batch span links to each message's trace instead.
    deadline = time.monotonic() + 10
    while not any(
        request_trace in s.linked_trace_ids for s in otlp.snapshot() if s.service == "bridge-reporting"
    ):
        assert time.monotonic() < deadline, "reporting's batch span does not link to the request's trace"
        await asyncio.sleep(0.3)
    # The relay publishes a batch under one PRODUCER span: in the trace of the batch's first writer,
    # linked to the other writers' traces.
    assert any(
        s.kind == PRODUCER
        and s.service == "bridge-matching"
        and (s.trace_id == request_trace or request_trace in s.linked_trace_ids)
        for s in otlp.snapshot()
    )
    # The database work of both services is traced too.
    assert any(
        s.service == "bridge-matching" and s.attributes.get("db.system") == "postgresql" for s in in_trace
    ) or any("INSERT" in s.name for s in in_trace if s.service == "bridge-matching")
    assert cohort_id


async def test_services_export_spans_with_their_names(platform: Platform, otlp: OtlpCapture) -> None:
    async with httpx.AsyncClient() as c:
        await c.get(f"{platform.url('sessions')}/relationships")  # 401, still traced
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(s.service == "bridge-sessions" and s.kind == SERVER for s in otlp.snapshot()):
            break
        await asyncio.sleep(0.2)
    names = {s.service for s in otlp.snapshot()}
    assert {"bridge-matching", "bridge-sessions", "bridge-notifications", "bridge-reporting"} <= names
    assert len(PARTICIPANTS) > 0


async def test_metrics_endpoint_shows_http_outbox_and_kafka_figures(
    platform: Platform, hr: httpx.AsyncClient
) -> None:
    r = await hr.post(f"{platform.url('matching')}/cohorts", json=dict(COHORT, name="Metrics cohort"))
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 20
    async with httpx.AsyncClient() as c:
        while True:
            matching = (await c.get(f"{platform.url('matching')}/metrics")).text
            reporting = (await c.get(f"{platform.url('reporting')}/metrics")).text
            published = [
                line for line in matching.splitlines() if line.startswith("bridge_outbox_published_total")
            ]
            if published and float(published[0].split()[-1]) >= 1 and "bridge_kafka_" in reporting:
                break
            assert time.monotonic() < deadline, "metrics did not show the published and consumed event"
            await asyncio.sleep(0.3)
    assert 'bridge_http_requests_total{method="POST",route="/cohorts",status="201"}' in matching
    assert "bridge_outbox_pending" in matching
    assert "bridge_kafka_received_messages_total" in reporting
