"""The PromQL of Bridge's alert rules and Grafana dashboards, and the metric names it reads.

A helper for tests (no pytest here): `tests/deploy/test_monitoring_config.py` checks the files with
it, and a test that runs the services can compare `metric_names(...)` of every query with what the
services export. Names are as PromQL reads them: a histogram appears as `<name>_bucket`, `_sum` or
`_count`, a counter with its `_total` suffix; `up` is Prometheus's own.

    from tests.deploy.promql_names import ALERT_RULES, DASHBOARDS, alert_rules, dashboard_queries, metric_names

    names = set().union(*(metric_names(r["expr"]) for r in alert_rules(ALERT_RULES)))
    names |= set().union(*(metric_names(q) for d in DASHBOARDS for q in dashboard_queries(d)))
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import promql_parser
import yaml

ROOT = Path(__file__).resolve().parents[2]

# The one copy of the rules and dashboards: in the kustomize component (kustomize reads files only
# from inside its folder); docker-compose mounts the same folders.
MONITORING_COMPONENT = ROOT / "deploy" / "kustomize" / "components" / "monitoring"
RULES_DIR = MONITORING_COMPONENT / "rules"
ALERT_RULES = RULES_DIR / "bridge-alerts.yml"
DASHBOARDS_DIR = MONITORING_COMPONENT / "dashboards"
PIPELINE_DASHBOARD = DASHBOARDS_DIR / "bridge-pipeline.json"
SERVICES_DASHBOARD = DASHBOARDS_DIR / "bridge-services.json"
DASHBOARDS = (PIPELINE_DASHBOARD, SERVICES_DASHBOARD)
KUBERNETES_PROMETHEUS_CONFIG = MONITORING_COMPONENT / "prometheus-kubernetes.yml"
KUBERNETES_GRAFANA_DATASOURCES = MONITORING_COMPONENT / "grafana" / "datasources.yml"
KUBERNETES_GRAFANA_DASHBOARD_PROVIDERS = MONITORING_COMPONENT / "grafana" / "dashboards.yml"

# docker-compose only.
COMPOSE_MONITORING = ROOT / "deploy" / "monitoring"
COMPOSE_PROMETHEUS_CONFIG = COMPOSE_MONITORING / "prometheus.yml"
COMPOSE_GRAFANA_PROVISIONING = COMPOSE_MONITORING / "grafana" / "provisioning"
COMPOSE_GRAFANA_DATASOURCES = COMPOSE_GRAFANA_PROVISIONING / "datasources" / "prometheus.yml"
COMPOSE_GRAFANA_DASHBOARD_PROVIDERS = COMPOSE_GRAFANA_PROVISIONING / "dashboards" / "bridge.yml"

RUNBOOKS = ROOT / "docs" / "runbooks.md"
RUNBOOK_URL = "https://github.com/bridge/bridge/blob/main/docs/runbooks.md"
DATASOURCE_UID = "bridge-prometheus"

# Metrics that Prometheus makes itself for every target, not the services.
PROMETHEUS_OWN_METRICS = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

# What the Grafana variables are replaced with before parsing (Grafana interpolates them).
GRAFANA_DEFAULTS: Mapping[str, str] = {
    "__rate_interval": "5m",
    "__interval": "5m",
    "__range": "5m",
    "service": ".*",
}

_GRAFANA_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def substitute_grafana_variables(expr: str, values: Mapping[str, str] = GRAFANA_DEFAULTS) -> str:
    """`expr` with `$name`, `${name}` and `[[name]]` replaced from `values`; unknown ones fail."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name not in values:
            raise ValueError(f"no value for the Grafana variable ${name} in {expr!r}")
        return values[name]

    return _GRAFANA_VARIABLE.sub(replace, expr)


def parse(expr: str, values: Mapping[str, str] = GRAFANA_DEFAULTS) -> promql_parser.Expr:
    """The AST of a rule's or a dashboard's expression (Grafana variables substituted first).
    Raises ValueError when it is not valid PromQL."""
    return promql_parser.parse(substitute_grafana_variables(expr, values))


def children(node: promql_parser.Expr) -> list[promql_parser.Expr]:
    """The sub-expressions of one AST node. An unknown node type fails rather than hiding names."""
    if isinstance(node, promql_parser.AggregateExpr):
        param = [node.param] if isinstance(node.param, promql_parser.Expr) else []
        return [*param, node.expr]
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)):
        return [node.expr]
    if isinstance(node, promql_parser.Call):
        return [arg for arg in node.args if isinstance(arg, promql_parser.Expr)]
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    if isinstance(
        node, (promql_parser.VectorSelector, promql_parser.NumberLiteral, promql_parser.StringLiteral)
    ):
        return []
    raise TypeError(f"unknown PromQL node {type(node).__name__}: {node}")


def walk(node: promql_parser.Expr) -> Iterator[promql_parser.Expr]:
    """Every node of the AST, depth first, the node before its children."""
    yield node
    for child in children(node):
        yield from walk(child)


def selector_name(selector: promql_parser.VectorSelector) -> str | None:
    """The metric a selector reads: its name, or an exact `__name__` matcher (`{__name__="x"}`)."""
    if selector.name:
        return selector.name
    for matcher in selector.matchers.matchers:
        if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal:
            return matcher.value
    return None


def selectors(expr: str, values: Mapping[str, str] = GRAFANA_DEFAULTS) -> list[promql_parser.VectorSelector]:
    return [n for n in walk(parse(expr, values)) if isinstance(n, promql_parser.VectorSelector)]


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` reads. Grafana's `$__rate_interval`, `$__interval`, `$__range` (5m)
    and `$service` (.*) are substituted first, so a dashboard query can be given as it is. A
    selector without a fixed name (`{__name__=~"bridge_.*"}`) is an error: it cannot be checked."""
    names: set[str] = set()
    for selector in selectors(expr):
        name = selector_name(selector)
        if name is None:
            raise ValueError(f"a selector without a metric name in {expr!r}: {selector}")
        names.add(name)
    return names


# --------------------------------------------------------------------------- rules


def rule_groups(path: Path = ALERT_RULES) -> list[dict[str, Any]]:
    loaded = yaml.safe_load(Path(path).read_text())
    if not isinstance(loaded, dict) or not isinstance(loaded.get("groups"), list):
        raise ValueError(f"{path}: not a Prometheus rule file (no `groups:` list)")
    groups: list[dict[str, Any]] = loaded["groups"]
    return groups


def alert_rules(path: Path = ALERT_RULES) -> list[dict[str, Any]]:
    """Every alerting rule of a Prometheus rule file, as written (alert, expr, for, labels, annotations)."""
    return [rule for group in rule_groups(path) for rule in group.get("rules", []) if "alert" in rule]


# --------------------------------------------------------------------------- dashboards


def load_dashboard(path: Path) -> dict[str, Any]:
    loaded = json.loads(Path(path).read_text())
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: not a dashboard")
    return loaded


def dashboard_panels(dashboard: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows included, and the panels inside collapsed rows."""
    found: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found += dashboard_panels(panel)
    return found


_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(?P<selector>.+?)\s*,\s*)?(?P<label>\w+)\s*\)\s*$")


def variable_selector(variable: Mapping[str, Any]) -> str | None:
    """The PromQL selector of a `label_values(<selector>, <label>)` query variable, else None."""
    query = variable.get("query")
    text = query.get("query", "") if isinstance(query, Mapping) else str(query or "")
    match = _LABEL_VALUES.match(text)
    return match.group("selector") if match else None


def dashboard_queries(path: Path) -> list[str]:
    """Every PromQL expression of a dashboard, as written (Grafana variables not substituted): the
    `expr` of every panel target, then the selector of every `label_values(...)` query variable."""
    dashboard = load_dashboard(path)
    queries = [
        str(target["expr"])
        for panel in dashboard_panels(dashboard)
        for target in panel.get("targets", [])
        if target.get("expr")
    ]
    for variable in dashboard.get("templating", {}).get("list", []):
        selector = variable_selector(variable) if variable.get("type") == "query" else None
        if selector:
            queries.append(selector)
    return queries


def all_queries() -> list[tuple[str, str]]:
    """(where, expression) for every alert rule and every dashboard query of the canonical files."""
    found = [(f"{ALERT_RULES.name}:{rule['alert']}", str(rule["expr"])) for rule in alert_rules(ALERT_RULES)]
    found += [(path.name, query) for path in DASHBOARDS for query in dashboard_queries(path)]
    return found


def all_metric_names(exclude: Callable[[str], bool] = PROMETHEUS_OWN_METRICS.__contains__) -> set[str]:
    """Every metric name the rules and dashboards read, less Prometheus's own (`up`)."""
    names: set[str] = set()
    for _, expr in all_queries():
        names |= metric_names(expr)
    return {name for name in names if not exclude(name)}
