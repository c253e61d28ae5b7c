"""Every Grafana panel and every alert rule queries metrics that the running services export.

The four services run as separate processes on real PostgreSQL and Kafka; after some traffic (a
cohort, and the pipeline probes every service sends and consumes back) each one's /metrics is
scraped, and every metric named in the dashboards (deploy/) and in the alert rules must be one of
them (or Prometheus's own `up`). A renamed metric, or a dashboard written against a metric nobody
exports, fails here instead of showing an empty panel or an alert that can never fire."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge_devstack.demo_cohort import COHORT
from bridge_devstack.platform import Platform
from tests.deploy.promql_names import (
    ALERT_RULES,
    DASHBOARDS,
    PROMETHEUS_OWN_METRICS,
    alert_rules,
    dashboard_queries,
    metric_names,
)

pytestmark = pytest.mark.e2e

SERVICES = ("matching", "sessions", "notifications", "reporting")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created", ""),
    "gauge": ("",),
    "info": ("_info",),
    "untyped": ("",),
}


def series_names(text: str) -> set[str]:
    """The names a Prometheus server stores for this exposition: each family's samples, also for
    labelled families that have no sample yet (they are declared with # TYPE)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(s.name for s in family.samples)
    return names


async def scrape_all(platform: Platform) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(*(client.get(f"{platform.url(s)}/metrics") for s in SERVICES))
    for r in responses:
        assert r.status_code == 200, r.text
    return {s: r.text for s, r in zip(SERVICES, responses, strict=True)}


def probes_back(text: str) -> float:
    return sum(
        s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "bridge_probe_round_trip_seconds_count"
    )


async def test_every_dashboard_and_alert_query_names_an_exported_metric(
    platform: Platform, hr: httpx.AsyncClient
) -> None:
    r = await hr.post(f"{platform.url('matching')}/cohorts", json=dict(COHORT, name="Dashboards cohort"))
    assert r.status_code == 201, r.text
    # Traffic through every service: each has sent and consumed back pipeline probes.
    deadline = time.monotonic() + 60
    while True:
        texts = await scrape_all(platform)
        if all(probes_back(t) >= 1 for t in texts.values()):
            break
        assert time.monotonic() < deadline, "not every service saw a probe round trip within 60 s"
        await asyncio.sleep(1)
    names = {s: series_names(t) for s, t in texts.items()}
    everywhere = set.union(*names.values()) | PROMETHEUS_OWN_METRICS

    queries: list[tuple[str, str]] = []
    for path in DASHBOARDS:
        queries += [(f"{path.name}: {q}", q) for q in dashboard_queries(path)]
    queries += [(f"{rule['alert']}: {rule['expr']}", rule["expr"]) for rule in alert_rules(ALERT_RULES)]
    assert len(queries) >= 20, queries

    unknown = {where: sorted(metric_names(q) - everywhere) for where, q in queries}
    unknown = {where: missing for where, missing in unknown.items() if missing}
    assert not unknown, f"queries name metrics no running service exports: {unknown}"
    # Each query names at least one metric (a panel of constants is a mistake).
    assert all(metric_names(q) for _, q in queries)

    # The metrics SREs page on are exported by every service, not only by one of them.
    for metric in (
        "bridge_ready",
        "bridge_degraded",
        "bridge_outbox_oldest_pending_seconds",
        "bridge_outbox_parked",
        "bridge_outbox_relay_leader",
        "bridge_probe_round_trip_seconds_bucket",
        "bridge_probe_lost_total",
        "bridge_probe_sent_total",
        "bridge_dead_letters_total",
        "bridge_kafka_consumer_lag",
    ):
        missing = [s for s in SERVICES if metric not in names[s]]
        assert not missing, f"{metric} not exported by {missing}"
