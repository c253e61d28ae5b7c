"""Static checks of Bridge's monitoring: alert rules, Grafana dashboards and provisioning, the
Prometheus scrape configurations, and how docker-compose and the kustomize component use them.

Nothing here runs Prometheus, Grafana, Docker or a cluster. Every PromQL expression is parsed
(promql_parser) and its metrics and labels are checked against what the code registers
(`bridge_shared.observability.metrics.ServiceMetrics` and FastStream's middleware), so a renamed
metric or label fails here rather than leaving a silent panel or an alert that never fires. The
Kubernetes scrape configuration's relabelling is run on the base's pod templates. When `kustomize`
or `kubectl` is installed, the example overlay is rendered too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import promql_parser
import pytest
import yaml

from bridge_shared.db.provision import SERVICES
from bridge_shared.observability.metrics import ServiceMetrics
from bridge_shared.settings import SERVICE_PORTS
from tests.deploy.promql_names import (
    ALERT_RULES,
    COMPOSE_GRAFANA_DASHBOARD_PROVIDERS,
    COMPOSE_GRAFANA_DATASOURCES,
    COMPOSE_PROMETHEUS_CONFIG,
    DASHBOARDS,
    DASHBOARDS_DIR,
    DATASOURCE_UID,
    GRAFANA_DEFAULTS,
    KUBERNETES_GRAFANA_DASHBOARD_PROVIDERS,
    KUBERNETES_GRAFANA_DATASOURCES,
    KUBERNETES_PROMETHEUS_CONFIG,
    MONITORING_COMPONENT,
    PIPELINE_DASHBOARD,
    PROMETHEUS_OWN_METRICS,
    ROOT,
    RULES_DIR,
    RUNBOOK_URL,
    RUNBOOKS,
    SERVICES_DASHBOARD,
    alert_rules,
    all_queries,
    children,
    dashboard_panels,
    dashboard_queries,
    load_dashboard,
    metric_names,
    parse,
    selector_name,
    substitute_grafana_variables,
    walk,
)
from tests.deploy.test_compose_and_manifests import (
    _kustomize_command,
    compose_services,
    default_http_port,
    environment,
    interpolate_defaults,
    published_ports,
)

EXAMPLE_OVERLAY = ROOT / "deploy" / "kustomize" / "overlays" / "example"
BASE = ROOT / "deploy" / "kustomize" / "base"
DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}
DASHBOARD_PATH = "/var/lib/grafana/dashboards"
RULES_PATH = "/etc/prometheus/rules"
SERVICE_VARIABLE_QUERY = "label_values(bridge_service_info, service)"
# Labels Prometheus attaches to every series of a Bridge target (compose: job, instance, service;
# Kubernetes adds namespace and pod).
TARGET_LABELS = frozenset({"job", "instance", "service", "namespace", "pod"})
# The alerts SREs asked for (docs/runbooks.md has a section for each; more may exist).
REQUIRED_ALERTS = frozenset(
    {
        "BridgeConsumerLagGrowing",
        "BridgeOutboxOldestPendingHigh",
        "BridgeOutboxParkedRows",
        "BridgeNoRelayLeader",
        "BridgeSeveralRelayLeaders",
        "BridgeDeadLettersArriving",
        "BridgeProbeLost",
        "BridgeProbeSlow",
        "BridgeProbeNotSending",
        "BridgeNotReady",
        "BridgeReadinessFlapping",
        "BridgeDegraded",
        "BridgeTargetDown",
        "BridgeHttpErrors",
    }
)
# Functions over a range whose window a dashboard must take from Grafana ($__rate_interval for
# rates, $__range for totals over the time range), never a fixed one that breaks when zooming.
RANGE_FUNCTIONS = frozenset({"rate", "irate", "increase", "delta", "idelta", "deriv"})
# Sentinels substituted for Grafana's variables to see where each one ended up in the AST.
SERVICE_SENTINEL = "__grafana_service__"
RATE_INTERVAL_SENTINEL = "1111s"
RANGE_SENTINEL = "2222s"
_SENTINELS = {
    **GRAFANA_DEFAULTS,
    "service": SERVICE_SENTINEL,
    "__rate_interval": RATE_INTERVAL_SENTINEL,
    "__range": RANGE_SENTINEL,
}
_PINNED_IMAGE = re.compile(r"^[\w.\-/]+:v?\d+\.\d+\.\d+$")


# --------------------------------------------------------------------------- what the code exports


@cache
def exported_metrics() -> dict[str, frozenset[str]]:
    """Sample name -> its label names, for every metric a Bridge service registers (ServiceMetrics
    and FastStream's Kafka middleware), as the Prometheus text format names the samples."""
    metrics = ServiceMetrics("matching")
    metrics.broker_middleware("matching")
    # prometheus_client keeps the label names on the collectors only (a private mapping).
    collectors = metrics.registry._collector_to_names
    labels_of: dict[str, frozenset[str]] = {}
    for collector, names in collectors.items():
        label_names = frozenset(getattr(collector, "_labelnames", ()))
        for name in names:
            labels_of[name] = label_names
    exported: dict[str, frozenset[str]] = {}
    for family in metrics.registry.collect():
        labels = labels_of.get(family.name, frozenset())
        if family.type == "counter":
            exported[f"{family.name}_total"] = labels
        elif family.type == "histogram":
            exported[f"{family.name}_bucket"] = labels | {"le"}
            exported[f"{family.name}_sum"] = labels
            exported[f"{family.name}_count"] = labels
        else:
            exported[family.name] = labels
    return exported


def series_labels(name: str) -> frozenset[str]:
    """The labels a stored series of `name` can carry: the metric's own plus the target labels."""
    if name in PROMETHEUS_OWN_METRICS:
        return TARGET_LABELS
    return exported_metrics()[name] | TARGET_LABELS


def test_the_code_exports_what_monitoring_was_built_on() -> None:
    exported = exported_metrics()
    for name, labels in {
        "bridge_kafka_consumer_lag": {"group", "topic", "partition"},
        "bridge_kafka_consumer_assigned_partitions": {"group"},
        "bridge_probe_round_trip_seconds_bucket": {"le"},
        "bridge_probe_sent_total": set(),
        "bridge_probe_lost_total": set(),
        "bridge_ready": set(),
        "bridge_degraded": set(),
        "bridge_dead_letters_total": {"consumer", "error_class"},
        "bridge_http_requests_total": {"route", "method", "status"},
        "bridge_kafka_received_messages_total": {"app_name", "broker", "handler"},
        "bridge_kafka_published_messages_total": {"app_name", "broker", "destination", "status"},
    }.items():
        assert name in exported, f"{name} is not registered by ServiceMetrics"
        assert exported[name] == labels, f"{name}: labels {sorted(exported[name])}, expected {sorted(labels)}"


# --------------------------------------------------------------------------- PromQL, everywhere


@pytest.mark.parametrize(("where", "expr"), all_queries(), ids=[w for w, _ in all_queries()])
def test_every_expression_parses_and_reads_exported_metrics(where: str, expr: str) -> None:
    names = metric_names(expr)
    assert names, f"{where}: reads no metric"
    unknown = {n for n in names if n not in PROMETHEUS_OWN_METRICS and n not in exported_metrics()}
    assert not unknown, f"{where}: {sorted(unknown)} are not exported by the services"
    problems = label_problems(parse(expr))
    assert problems == [], f"{where}: {problems}"


def label_problems(root: promql_parser.Expr) -> list[str]:
    """Matchers and `by (...)` labels that the series they apply to cannot carry."""
    problems: list[str] = []
    for node in walk(root):
        if isinstance(node, promql_parser.VectorSelector):
            name = selector_name(node)
            assert name is not None
            known = series_labels(name)
            for matcher in node.matchers.matchers:
                if matcher.name != "__name__" and matcher.name not in known:
                    problems.append(f"{name} has no label {matcher.name}")
        if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            available: set[str] = set()
            for inner in walk(node.expr):
                if isinstance(inner, promql_parser.VectorSelector):
                    inner_name = selector_name(inner)
                    assert inner_name is not None
                    available |= series_labels(inner_name)
            missing = set(node.modifier.labels) - available
            if missing:
                problems.append(f"{node.op} by/without {sorted(missing)}: no such label on {node.expr}")
    return problems


def test_metric_names_helper() -> None:
    assert metric_names('sum by (service) (rate(a_total{service=~"$service"}[$__rate_interval]))') == {
        "a_total"
    }
    assert metric_names('{__name__="b"} / on (service) c offset 5m and max_over_time(d[10m:1m]) > 0') == {
        "b",
        "c",
        "d",
    }
    assert metric_names("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m]))) > bool 1") == {"h_bucket"}
    assert metric_names("absent(up{job='bridge'})") == {"up"}
    with pytest.raises(ValueError, match="without a metric name"):
        metric_names('{__name__=~"bridge_.*"}')
    with pytest.raises(ValueError, match="unexpected"):
        metric_names("rate(x[")
    with pytest.raises(ValueError, match="unknown"):
        substitute_grafana_variables("x{a=~'$unknown'}")
    assert substitute_grafana_variables("x{a=~'${service}'}[$__range]") == "x{a=~'.*'}[5m]"


# --------------------------------------------------------------------------- alert rules


def rules_by_name() -> dict[str, dict[str, Any]]:
    rules = alert_rules(ALERT_RULES)
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)), f"duplicate alert names: {names}"
    return {r["alert"]: r for r in rules}


def test_the_required_alerts_exist() -> None:
    missing = REQUIRED_ALERTS - set(rules_by_name())
    assert not missing, f"missing alerts: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(rules_by_name()))
def test_alert_rule_is_complete(name: str) -> None:
    rule = rules_by_name()[name]
    assert re.fullmatch(r"Bridge[A-Z][A-Za-z0-9]+", name), f"{name}: alert names are Bridge + CamelCase"
    assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}, sorted(rule)
    assert "for" in rule, f"{name}: no `for:`"
    assert promql_parser.parse_duration(str(rule["for"])) >= timedelta(0)
    assert rule.get("labels", {}).get("severity") in {"warning", "critical"}, f"{name}: severity"
    annotations = rule.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        assert str(annotations.get(key, "")).strip(), f"{name}: no {key}"
    assert annotations["runbook_url"] == f"{RUNBOOK_URL}#{name.lower()}"


@pytest.mark.parametrize("name", sorted(rules_by_name()))
def test_alert_groups_by_service_and_reads_only_the_bridge_job(name: str) -> None:
    rule = rules_by_name()[name]
    root = parse(str(rule["expr"]))
    for node in walk(root):
        if isinstance(node, promql_parser.AggregateExpr):
            modifier = node.modifier
            assert modifier is not None, (
                f"{name}: `{node.op}` without `by (service, ...)` merges the services"
            )
            assert modifier.type == promql_parser.AggModifierType.By, f"{name}: use `by`, not `without`"
            assert "service" in modifier.labels, f"{name}: `{node.op} by {modifier.labels}` lacks service"
        if isinstance(node, promql_parser.VectorSelector):
            jobs = [m for m in node.matchers.matchers if m.name == "job"]
            assert [(m.op, m.value) for m in jobs] == [(promql_parser.MatchOp.Equal, "bridge")], (
                f'{name}: {node} must select job="bridge"'
            )


@pytest.mark.parametrize("name", sorted(rules_by_name()))
def test_alert_annotations_use_labels_the_expression_keeps(name: str) -> None:
    rule = rules_by_name()[name]
    labels = output_labels(parse(str(rule["expr"])))
    used = {
        label
        for text in rule.get("annotations", {}).values()
        for label in re.findall(r"\$labels\.(\w+)", str(text))
    }
    if labels is not None:
        assert used <= labels, (
            f"{name}: annotations use {sorted(used - labels)}, the result has {sorted(labels)}"
        )


def output_labels(node: promql_parser.Expr) -> set[str] | None:
    """The labels of an expression's result, where they can be told (None: cannot)."""
    if isinstance(node, promql_parser.VectorSelector):
        name = selector_name(node)
        return set(series_labels(name)) if name else None
    if isinstance(node, (promql_parser.MatrixSelector, promql_parser.ParenExpr, promql_parser.SubqueryExpr)):
        return output_labels(children(node)[0])
    if isinstance(node, (promql_parser.NumberLiteral, promql_parser.StringLiteral)):
        return set()
    if isinstance(node, promql_parser.AggregateExpr):
        if node.modifier is None:
            return (
                set()
                if str(node.op) not in {"topk", "bottomk", "limitk", "limit_ratio"}
                else output_labels(node.expr)
            )
        if node.modifier.type == promql_parser.AggModifierType.By:
            return set(node.modifier.labels)
        inner = output_labels(node.expr)
        return None if inner is None else inner - set(node.modifier.labels)
    if isinstance(node, promql_parser.BinaryExpr):
        lhs, rhs = output_labels(node.lhs), output_labels(node.rhs)
        if isinstance(node.lhs, promql_parser.NumberLiteral):
            return rhs
        return lhs
    if isinstance(node, promql_parser.UnaryExpr):
        return output_labels(node.expr)
    if isinstance(node, promql_parser.Call):
        args = [a for a in node.args if isinstance(a, promql_parser.Expr)]
        if node.func.name == "absent":
            selector = args[0]
            if isinstance(selector, promql_parser.VectorSelector):
                return {m.name for m in selector.matchers.matchers if m.op == promql_parser.MatchOp.Equal}
            return None
        if node.func.name == "histogram_quantile":
            inner = output_labels(args[1])
            return None if inner is None else inner - {"le"}
        if node.func.name in {"label_replace", "label_join"}:
            return None
        vectors = [
            a for a in args if not isinstance(a, (promql_parser.NumberLiteral, promql_parser.StringLiteral))
        ]
        return output_labels(vectors[0]) if vectors else set()
    raise TypeError(f"unknown PromQL node {type(node).__name__}")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def runbook_headings() -> dict[str, str]:
    """anchor -> heading text, for every heading of docs/runbooks.md (outside code blocks)."""
    headings: dict[str, str] = {}
    in_code = False
    for line in RUNBOOKS.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if match:
            headings[github_anchor(match.group(1))] = match.group(1)
    return headings


def test_every_runbook_url_has_a_section_and_every_section_an_alert() -> None:
    headings = runbook_headings()
    for name, rule in rules_by_name().items():
        url = urlsplit(rule["annotations"]["runbook_url"])
        assert url._replace(fragment="").geturl() == RUNBOOK_URL
        assert url.fragment in headings, f"{name}: docs/runbooks.md has no heading for #{url.fragment}"
        assert headings[url.fragment] == name, f"the section of {name} must be headed exactly `{name}`"
    alert_like = {h for h in headings.values() if re.fullmatch(r"Bridge[A-Z]\w+", h)}
    stale = alert_like - set(rules_by_name())
    assert not stale, f"docs/runbooks.md has sections for alerts that do not exist: {sorted(stale)}"


def test_runbook_sections_say_what_to_do() -> None:
    text = RUNBOOKS.read_text()
    for name in rules_by_name():
        section = re.split(rf"(?m)^## {name}\s*$", text)[1]
        section = re.split(r"(?m)^## ", section)[0]
        for part in ("Meaning", "Impact", "Confirm", "Act", "Escalate"):
            assert re.search(rf"(?m)^\*\*{part}", section), f"runbook {name} has no **{part}** paragraph"


# --------------------------------------------------------------------------- dashboards


@cache
def dashboards() -> dict[Path, dict[str, Any]]:
    return {path: load_dashboard(path) for path in DASHBOARDS}


def test_every_dashboard_file_is_provisioned_and_has_a_unique_stable_uid() -> None:
    on_disk = sorted(DASHBOARDS_DIR.glob("*.json"))
    assert on_disk == sorted(DASHBOARDS), "every dashboard file is listed in promql_names.DASHBOARDS"
    uids = [d["uid"] for d in dashboards().values()]
    assert len(set(uids)) == len(uids), f"duplicate dashboard uids: {uids}"
    titles = [d["title"] for d in dashboards().values()]
    assert len(set(titles)) == len(titles)
    for path, dashboard in dashboards().items():
        assert dashboard["uid"] == path.stem, f"{path.name}: uid should be {path.stem}"
        assert len(dashboard["uid"]) <= 40
        assert dashboard["schemaVersion"] == 39
        assert dashboard.get("id") is None, f"{path.name}: a provisioned dashboard has no id"
        assert "bridge" in dashboard["tags"]
    assert dashboards()[PIPELINE_DASHBOARD]["title"] == "Bridge — event pipeline"
    assert dashboards()[SERVICES_DASHBOARD]["title"] == "Bridge — services"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_panels(path: Path) -> None:
    dashboard = dashboards()[path]
    panels = dashboard_panels(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        title = panel.get("title", "")
        grid = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= set(grid), f"{title}: gridPos {grid}"
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, f"{title}: outside the 24 columns"
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{title} overlaps {cells[(x, y)]}"
                cells[(x, y)] = title
        if panel["type"] == "row":
            continue
        assert title and panel.get("description"), f"a panel without title or description: {title!r}"
        assert panel.get("datasource") == DATASOURCE, f"{title}: datasource {panel.get('datasource')}"
        targets = panel.get("targets", [])
        assert targets, f"{title}: no target"
        assert len({t["refId"] for t in targets}) == len(targets), f"{title}: duplicate refIds"
        for target in targets:
            assert target.get("datasource") == DATASOURCE, f"{title}: target datasource"
            assert str(target.get("expr", "")).strip(), f"{title}: a target without an expression"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_queries_follow_the_service_variable_and_grafana_intervals(path: Path) -> None:
    for panel in dashboard_panels(dashboards()[path]):
        for target in panel.get("targets", []):
            expr = str(target["expr"])
            root = parse(expr, _SENTINELS)
            for node in walk(root):
                if isinstance(node, promql_parser.VectorSelector):
                    matchers = [(m.name, m.op, m.value) for m in node.matchers.matchers]
                    assert ("service", promql_parser.MatchOp.Re, SERVICE_SENTINEL) in matchers, (
                        f'{panel["title"]}: {node} lacks service=~"$service"'
                    )
                if isinstance(node, promql_parser.Call) and node.func.name in RANGE_FUNCTIONS:
                    (matrix,) = [a for a in node.args if isinstance(a, promql_parser.MatrixSelector)]
                    assert matrix.range in {
                        promql_parser.parse_duration(RATE_INTERVAL_SENTINEL),
                        promql_parser.parse_duration(RANGE_SENTINEL),
                    }, (
                        f"{panel['title']}: {node.func.name} over a fixed window; use $__rate_interval or $__range"
                    )


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_service_variable(path: Path) -> None:
    variables = {v["name"]: v for v in dashboards()[path]["templating"]["list"]}
    service = variables["service"]
    assert service["type"] == "query"
    assert service["datasource"] == DATASOURCE
    assert service["definition"] == SERVICE_VARIABLE_QUERY
    assert service["query"]["query"] == SERVICE_VARIABLE_QUERY
    assert service["multi"] is True and service["includeAll"] is True
    assert "bridge_service_info" in dashboard_queries(path), "the variable's selector is a query too"


def test_dashboards_show_what_sres_asked_for() -> None:
    def reads(path: Path) -> set[str]:
        return set().union(*(metric_names(q) for q in dashboard_queries(path)))

    assert reads(PIPELINE_DASHBOARD) >= {
        "bridge_kafka_consumer_lag",
        "bridge_kafka_consumer_assigned_partitions",
        "bridge_kafka_received_messages_total",
        "bridge_kafka_received_processed_messages_duration_seconds_bucket",
        "bridge_kafka_published_messages_total",
        "bridge_outbox_pending",
        "bridge_outbox_oldest_pending_seconds",
        "bridge_outbox_parked",
        "bridge_outbox_held",
        "bridge_outbox_relay_leader",
        "bridge_dead_letters_total",
        "bridge_events_unknown_total",
        "bridge_probe_round_trip_seconds_bucket",
        "bridge_probe_sent_total",
        "bridge_probe_lost_total",
    }
    assert reads(SERVICES_DASHBOARD) >= {
        "up",
        "bridge_ready",
        "bridge_degraded",
        "bridge_http_requests_total",
        "bridge_http_request_duration_seconds_bucket",
    }
    tables = [p for p in dashboard_panels(dashboards()[PIPELINE_DASHBOARD]) if p["type"] == "table"]
    assert any("partition" in t["targets"][0]["expr"] for t in tables), "lag per partition as a table"


# --------------------------------------------------------------------------- Prometheus configurations


def load_yaml(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), path
    return loaded


def scrape_job(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    jobs = [j for j in config["scrape_configs"] if j["job_name"] == name]
    assert len(jobs) == 1, f"one scrape job {name}"
    job: dict[str, Any] = jobs[0]
    return job


@pytest.mark.parametrize(
    "path", [COMPOSE_PROMETHEUS_CONFIG, KUBERNETES_PROMETHEUS_CONFIG], ids=lambda p: p.name
)
def test_prometheus_config_evaluates_the_rules_every_15_seconds(path: Path) -> None:
    config = load_yaml(path)
    assert config["global"]["scrape_interval"] == "15s"
    assert config["global"]["evaluation_interval"] == "15s"
    assert config["rule_files"] == [f"{RULES_PATH}/*.yml"]
    assert scrape_job(config, "prometheus")["static_configs"] == [{"targets": ["localhost:9090"]}]
    scrape_job(config, "bridge")
    assert sorted(p.name for p in RULES_DIR.iterdir()) == [ALERT_RULES.name], (
        "the rules folder holds rule files only"
    )


def test_compose_prometheus_scrapes_every_service_with_its_service_label() -> None:

    job = scrape_job(load_yaml(COMPOSE_PROMETHEUS_CONFIG), "bridge")
    assert job.get("metrics_path", "/metrics") == "/metrics"
    services = compose_services()
    seen: dict[str, str] = {}
    for static in job["static_configs"]:
        (target,) = static["targets"]
        host, port = target.rsplit(":", 1)
        seen[static["labels"]["service"]] = target
        assert static["labels"] == {"service": host}, f"{target}: label service={host}, nothing else"
        assert host in services, f"{target}: no compose service {host}"
        assert int(port) == default_http_port(host) == SERVICE_PORTS[host]
    assert set(seen) == set(SERVICES)


# A minimal Prometheus relabelling, enough for keep / drop / replace (the actions the config uses).


def _expand(match: re.Match[str], template: str) -> str:
    def group(m: re.Match[str]) -> str:
        key = m.group(1) or m.group(2)
        value = match.group(int(key)) if key.isdigit() else match.group(key)
        return value or ""

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", group, template)


def relabel(labels: Mapping[str, str], configs: list[dict[str, Any]]) -> dict[str, str] | None:
    result = dict(labels)
    for config in configs:
        action = config.get("action", "replace")
        value = config.get("separator", ";").join(result.get(s, "") for s in config.get("source_labels", []))
        match = re.fullmatch(config.get("regex", "(.*)"), value)
        if action == "keep" and match is None:
            return None
        if action == "drop" and match is not None:
            return None
        if action == "replace" and match is not None:
            target = _expand(match, config["target_label"])
            new = _expand(match, config.get("replacement", "$1"))
            if new:
                result[target] = new
            else:
                result.pop(target, None)
        if action not in {"keep", "drop", "replace"}:
            raise AssertionError(f"the test does not know the relabel action {action}")
    return result


def _sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def pod_targets(
    template: Mapping[str, Any], *, name: str, ip: str, namespace: str = "bridge", phase: str = "Running"
) -> Iterator[dict[str, str]]:
    """The targets Prometheus's pod discovery makes of a pod: one per container port."""
    metadata = template["metadata"]
    common = {
        "__meta_kubernetes_namespace": namespace,
        "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_ip": ip,
        "__meta_kubernetes_pod_phase": phase,
        **{
            f"__meta_kubernetes_pod_label_{_sanitize(k)}": str(v)
            for k, v in metadata.get("labels", {}).items()
        },
        **{
            f"__meta_kubernetes_pod_annotation_{_sanitize(k)}": str(v)
            for k, v in metadata.get("annotations", {}).items()
        },
    }
    host = f"[{ip}]" if ":" in ip else ip
    for container in template["spec"]["containers"]:
        for port in container.get("ports", []):
            yield {
                **common,
                "__address__": f"{host}:{port['containerPort']}",
                "__meta_kubernetes_pod_container_name": container["name"],
                "__meta_kubernetes_pod_container_init": "false",
                "__meta_kubernetes_pod_container_port_number": str(port["containerPort"]),
                "__meta_kubernetes_pod_container_port_name": port.get("name", ""),
            }


def scraped(job: Mapping[str, Any], targets: Iterator[dict[str, str]]) -> list[dict[str, str]]:
    """What Prometheus scrapes: the targets after relabelling, without meta labels, deduplicated."""
    found: list[dict[str, str]] = []
    for target in targets:
        labels = relabel(
            {"job": job["job_name"], "__metrics_path__": job.get("metrics_path", "/metrics"), **target},
            job["relabel_configs"],
        )
        if labels is None:
            continue
        labels.setdefault("instance", labels["__address__"])
        kept = {k: v for k, v in labels.items() if not k.startswith("__meta_")}
        if kept not in found:
            found.append(kept)
    return found


def base_pod_templates() -> dict[str, dict[str, Any]]:
    """Each Bridge service's pod template as the base renders it (with the base's template labels)."""
    kustomization = load_yaml(BASE / "kustomization.yaml")
    extra = {
        k: v
        for entry in kustomization.get("labels", [])
        if entry.get("includeTemplates")
        for k, v in entry["pairs"].items()
    }
    templates: dict[str, dict[str, Any]] = {}
    for svc in SERVICES:
        deployment = next(
            doc
            for doc in yaml.safe_load_all((BASE / f"{svc}.yaml").read_text())
            if isinstance(doc, dict) and doc.get("kind") == "Deployment"
        )
        template = json.loads(json.dumps(deployment["spec"]["template"]))
        template["metadata"]["labels"] = {**template["metadata"].get("labels", {}), **extra}
        templates[svc] = template
    return templates


def test_kubernetes_prometheus_scrapes_the_base_pods_on_their_metrics_port() -> None:
    job = scrape_job(load_yaml(KUBERNETES_PROMETHEUS_CONFIG), "bridge")
    (sd,) = job["kubernetes_sd_configs"]
    assert sd["role"] == "pod"
    assert sd["namespaces"] == {"own_namespace": True}, (
        "the Role lets Prometheus list pods in its namespace only"
    )
    for svc, template in base_pod_templates().items():
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        pod = f"{svc}-6d4f7b9c8-x2x7q"
        targets = scraped(job, pod_targets(template, name=pod, ip="10.12.0.7"))
        assert targets == [
            {
                "job": "bridge",
                "__address__": f"10.12.0.7:{annotations['prometheus.io/port']}",
                "__metrics_path__": annotations["prometheus.io/path"],
                "service": svc,
                "namespace": "bridge",
                "pod": pod,
                "instance": pod,
            }
        ], f"{svc}: {targets}"
        (v6,) = scraped(job, pod_targets(template, name=pod, ip="fd00:10::7"))
        assert v6["__address__"] == f"[fd00:10::7]:{annotations['prometheus.io/port']}"
        assert scraped(job, pod_targets(template, name=pod, ip="10.12.0.7", phase="Succeeded")) == []
        unannotated = json.loads(json.dumps(template))
        unannotated["metadata"]["annotations"]["prometheus.io/scrape"] = "false"
        assert scraped(job, pod_targets(unannotated, name=pod, ip="10.12.0.7")) == []
    # Prometheus and Grafana are not Bridge services.
    for _, deployment in component_docs("Deployment"):
        assert scraped(job, pod_targets(deployment["spec"]["template"], name="x", ip="10.12.0.9")) == []


# --------------------------------------------------------------------------- Grafana provisioning


def test_grafana_datasources_point_at_the_prometheus_of_their_platform() -> None:

    compose_ds = one_datasource(COMPOSE_GRAFANA_DATASOURCES)
    url = urlsplit(compose_ds["url"])
    assert url.hostname in compose_services(), f"no compose service {url.hostname}"
    assert url.hostname == "prometheus" and url.port == 9090
    assert published_ports(compose_services()["prometheus"]).get(9090) == 9090

    kube_ds = one_datasource(KUBERNETES_GRAFANA_DATASOURCES)
    url = urlsplit(kube_ds["url"])
    services = {d["metadata"]["name"]: d for _, d in component_docs("Service")}
    assert url.hostname in services, f"no Service {url.hostname} in the component"
    assert url.port in {p["port"] for p in services[url.hostname]["spec"]["ports"]}
    for datasource in (compose_ds, kube_ds):
        assert datasource["uid"] == DATASOURCE_UID and datasource["type"] == "prometheus"
        assert (
            datasource["jsonData"]["timeInterval"]
            == load_yaml(COMPOSE_PROMETHEUS_CONFIG)["global"]["scrape_interval"]
        )


def one_datasource(path: Path) -> dict[str, Any]:
    (datasource,) = load_yaml(path)["datasources"]
    assert isinstance(datasource, dict)
    return datasource


def test_grafana_dashboard_providers_read_the_dashboards_folder() -> None:
    compose_providers = load_yaml(COMPOSE_GRAFANA_DASHBOARD_PROVIDERS)
    # The Kubernetes provider is the same file content (kustomize cannot read deploy/monitoring/).
    assert load_yaml(KUBERNETES_GRAFANA_DASHBOARD_PROVIDERS) == compose_providers
    (provider,) = compose_providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == DASHBOARD_PATH
    assert provider["allowUiUpdates"] is False


# --------------------------------------------------------------------------- docker compose


def compose_mounts(service: Mapping[str, Any]) -> dict[str, Path]:
    """container path -> host path, for the bind mounts of a compose service."""
    mounts: dict[str, Path] = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith((".", "/")):
            mounts[target] = (ROOT / source).resolve()
    return mounts


def test_every_compose_bind_mount_exists() -> None:

    for name, service in compose_services().items():
        for target, source in compose_mounts(service).items():
            assert source.exists(), f"compose {name} mounts {source} at {target}, which does not exist"


def test_compose_prometheus_and_grafana() -> None:

    services = compose_services()
    prometheus, grafana = services["prometheus"], services["grafana"]
    assert published_ports(prometheus).get(9090) == 9090
    assert published_ports(grafana).get(3000) == 3000

    config_arg = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    mounts = compose_mounts(prometheus)
    assert mounts[config_arg.split("=", 1)[1]] == COMPOSE_PROMETHEUS_CONFIG
    assert mounts[RULES_PATH] == RULES_DIR, "compose mounts the one copy of the rules"

    mounts = compose_mounts(grafana)
    assert mounts[DASHBOARD_PATH] == DASHBOARDS_DIR, "compose mounts the one copy of the dashboards"
    assert mounts["/etc/grafana/provisioning/datasources"] == COMPOSE_GRAFANA_DATASOURCES.parent
    assert mounts["/etc/grafana/provisioning/dashboards"] == COMPOSE_GRAFANA_DASHBOARD_PROVIDERS.parent

    env = environment(grafana)
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${BRIDGE_GRAFANA_ADMIN_PASSWORD:-")
    assert interpolate_defaults(env["GF_SECURITY_ADMIN_PASSWORD"]), "a dev default, so the stack starts bare"
    if env.get("GF_AUTH_ANONYMOUS_ENABLED", "false").lower() == "true":
        assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer", "anonymous users may only view"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    home = env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert (DASHBOARDS_DIR / Path(home).relative_to(DASHBOARD_PATH)).is_file()


def test_compose_and_kubernetes_run_the_same_pinned_images() -> None:

    kube = {
        c["name"]: c["image"]
        for _, d in component_docs("Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert set(kube) == {"prometheus", "grafana"}
    for name, image in kube.items():
        assert _PINNED_IMAGE.match(image), f"{name}: pin an exact version, not {image}"
        assert compose_services()[name]["image"] == image, f"compose {name} and the component differ"
    assert kube["prometheus"].startswith("prom/prometheus:v3.")
    assert kube["grafana"].startswith("grafana/grafana:12.")


# --------------------------------------------------------------------------- kustomize component


def component_kustomization() -> dict[str, Any]:
    return load_yaml(MONITORING_COMPONENT / "kustomization.yaml")


def component_docs(kind: str) -> list[tuple[Path, dict[str, Any]]]:
    found: list[tuple[Path, dict[str, Any]]] = []
    for resource in component_kustomization()["resources"]:
        path = MONITORING_COMPONENT / resource
        found += [
            (path, d)
            for d in yaml.safe_load_all(path.read_text())
            if isinstance(d, dict) and d.get("kind") == kind
        ]
    return found


def generated_configmaps() -> dict[str, dict[str, Path]]:
    """ConfigMap name -> key -> source file, from the component's configMapGenerator."""
    result: dict[str, dict[str, Path]] = {}
    for generator in component_kustomization()["configMapGenerator"]:
        files: dict[str, Path] = {}
        for entry in generator["files"]:
            key, _, source = entry.rpartition("=")
            files[key or Path(source).name] = (MONITORING_COMPONENT / source).resolve()
        result[generator["name"]] = files
    return result


def test_monitoring_component_files_and_generated_configmaps() -> None:
    kustomization = component_kustomization()
    assert kustomization["kind"] == "Component"
    for resource in kustomization["resources"]:
        assert (MONITORING_COMPONENT / resource).is_file(), resource
    configmaps = generated_configmaps()
    for name, files in configmaps.items():
        for key, source in files.items():
            assert source.is_file(), f"{name}/{key}: {source} does not exist"
            assert source.is_relative_to(MONITORING_COMPONENT), f"{name}: kustomize cannot read {source}"
    assert configmaps["bridge-prometheus-rules"] == {ALERT_RULES.name: ALERT_RULES}
    assert configmaps["bridge-grafana-dashboards"] == {p.name: p for p in DASHBOARDS}
    assert configmaps["bridge-prometheus-config"] == {"prometheus.yml": KUBERNETES_PROMETHEUS_CONFIG}
    overlay = load_yaml(EXAMPLE_OVERLAY / "kustomization.yaml")
    assert any((EXAMPLE_OVERLAY / c).resolve() == MONITORING_COMPONENT for c in overlay["components"])


def test_rules_and_dashboards_have_one_copy() -> None:
    canonical = {ALERT_RULES, *DASHBOARDS}
    contents = {p.read_bytes() for p in canonical}
    for path in (ROOT / "deploy").rglob("*"):
        if path.is_file() and path.resolve() not in canonical:
            assert path.read_bytes() not in contents, f"{path} duplicates a rule or dashboard file"


@pytest.mark.parametrize("name", ["bridge-prometheus", "bridge-grafana"])
def test_monitoring_deployment(name: str) -> None:
    (deployment,) = [d for _, d in component_docs("Deployment") if d["metadata"]["name"] == name]
    assert deployment["metadata"]["labels"]["app.kubernetes.io/component"] == "monitoring"
    spec = deployment["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    (container,) = spec["containers"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] in ports, f"{name}: {probe}"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    (service,) = [d for _, d in component_docs("Service") if d["metadata"]["name"] == name]
    assert service["spec"]["selector"] == selector
    # Every ConfigMap volume is one the component generates, and mounted read-only.
    configmaps = generated_configmaps()
    volumes = {v["name"]: v for v in spec["volumes"]}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            assert volume["configMap"]["name"] in configmaps, f"{name}: {volume['configMap']['name']}"
            assert mount.get("readOnly") is True


def test_monitoring_deployments_mount_what_their_configuration_names() -> None:
    (prometheus,) = [
        d for _, d in component_docs("Deployment") if d["metadata"]["name"] == "bridge-prometheus"
    ]
    spec = prometheus["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    config_file = next(a for a in container["args"] if a.startswith("--config.file=")).split("=", 1)[1]
    directory, _, key = config_file.rpartition("/")
    assert key in generated_configmaps()[volumes[mounts[directory]]["configMap"]["name"]]
    assert volumes[mounts[RULES_PATH]]["configMap"]["name"] == "bridge-prometheus-rules"
    assert spec["serviceAccountName"] == "bridge-prometheus"

    (grafana,) = [d for _, d in component_docs("Deployment") if d["metadata"]["name"] == "bridge-grafana"]
    spec = grafana["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes[mounts[DASHBOARD_PATH]]["configMap"]["name"] == "bridge-grafana-dashboards"
    provisioned = {
        "/etc/grafana/provisioning/datasources": KUBERNETES_GRAFANA_DATASOURCES,
        "/etc/grafana/provisioning/dashboards": KUBERNETES_GRAFANA_DASHBOARD_PROVIDERS,
    }
    for path, source in provisioned.items():
        assert source in generated_configmaps()[volumes[mounts[path]]["configMap"]["name"]].values()
    env = {e["name"]: e for e in container["env"]}
    assert "secretKeyRef" in env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"], "the admin password is a Secret"
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]["value"]
    assert (DASHBOARDS_DIR / Path(home).relative_to(DASHBOARD_PATH)).is_file()


def test_prometheus_may_only_read_pods_of_its_namespace() -> None:
    assert component_docs("ClusterRole") == [] and component_docs("ClusterRoleBinding") == []
    (role,) = [d for _, d in component_docs("Role")]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    (binding,) = [d for _, d in component_docs("RoleBinding")]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    (account,) = [d for _, d in component_docs("ServiceAccount")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"]}]


def test_example_overlay_renders_the_monitoring_component() -> None:
    command = _kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    rendered = subprocess.run(
        [*command, str(EXAMPLE_OVERLAY)], capture_output=True, text=True, timeout=60, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if isinstance(d, dict)]
    namespace = load_yaml(EXAMPLE_OVERLAY / "kustomization.yaml")["namespace"]
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}

    def generated(name: str) -> dict[str, Any]:
        (hit,) = [c for n, c in configmaps.items() if re.fullmatch(rf"{re.escape(name)}-[a-z0-9]{{10}}", n)]
        return hit

    assert generated("bridge-prometheus-rules")["data"] == {ALERT_RULES.name: ALERT_RULES.read_text()}
    assert generated("bridge-grafana-dashboards")["data"] == {p.name: p.read_text() for p in DASHBOARDS}
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        for volume in deployment["spec"]["template"]["spec"].get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps, f"{volume} refers to no rendered ConfigMap"
    (binding,) = [d for d in docs if d["kind"] == "RoleBinding"]
    assert binding["subjects"][0]["namespace"] == namespace
    # kubectl apply keeps the last applied configuration in an annotation of at most 256 KiB.
    for configmap in configmaps.values():
        assert len(json.dumps(configmap)) < 200_000, f"{configmap['metadata']['name']} is too large to apply"


def test_promtool_accepts_the_rules_and_configurations() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    for command in (
        ["check", "rules", str(ALERT_RULES)],
        ["check", "config", "--syntax-only", str(COMPOSE_PROMETHEUS_CONFIG)],
        ["check", "config", "--syntax-only", str(KUBERNETES_PROMETHEUS_CONFIG)],
    ):
        checked = subprocess.run(
            [promtool, *command], capture_output=True, text=True, timeout=60, check=False
        )
        assert checked.returncode == 0, f"promtool {' '.join(command)}:\n{checked.stdout}{checked.stderr}"
