"""Static checks of docker-compose.yml, the service Dockerfiles and the kustomize manifests.

Nothing here runs Docker or a cluster: the files are parsed and checked against the code. Every
`BRIDGE_*` variable given to a Bridge service must be a real setting of that service, derived at
test time from its settings class (env_prefix + field name, upper-cased), so a renamed setting or
a typo in an env name fails here rather than being silently ignored at run time.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bridge_shared.db.provision import SERVICES, role_name
from bridge_shared.messaging.security import KafkaClientSettings
from bridge_shared.settings import SERVICE_PORTS, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
KUSTOMIZE = ROOT / "deploy" / "kustomize"
BASE = KUSTOMIZE / "base"
OTEL_COMPONENT = KUSTOMIZE / "components" / "otel"
REQUIRED_SETTINGS = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "JWT_SECRET")
PROVISION_MODULE = "bridge_shared.db.provision"
ACL_MODULE = "bridge_shared.messaging.acls"
COMPOSE_KAFKA = ROOT / "deploy" / "compose" / "kafka"
KAFKA_ACCESS = BASE / "kafka-access.json"


# --------------------------------------------------------------------------- settings -> names


@cache
def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"bridge_{service}.settings")
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, ServiceSettings)
        and obj is not ServiceSettings
        and obj.__module__ == module.__name__
    ]
    assert len(found) == 1, f"bridge_{service}.settings should define one settings class: {found}"
    return found[0]


def env_prefix(service: str) -> str:
    prefix = settings_class(service).model_config.get("env_prefix")
    assert prefix, f"{service}: settings class has no env_prefix"
    return str(prefix)


@cache
def setting_env_names(service: str) -> frozenset[str]:
    """Every environment variable name the service's settings class reads."""
    cls = settings_class(service)
    prefix = env_prefix(service)
    names = {f"{prefix}{name}".upper() for name in cls.model_fields}
    for field in cls.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif alias is not None and hasattr(alias, "choices"):
            names.update(c.upper() for c in alias.choices if isinstance(c, str))
    return frozenset(names)


def web_setting_env_names() -> frozenset[str]:
    """Every environment variable name the web app's settings read (BRIDGE_WEB_*)."""
    from bridge_web.settings import WebSettings

    return frozenset(f"BRIDGE_WEB_{name}".upper() for name in WebSettings.model_fields)


def default_http_port(service: str) -> int:
    port = settings_class(service).model_fields["http_port"].default
    assert isinstance(port, int)
    return port


def provisioning_env_names() -> frozenset[str]:
    return frozenset(f"BRIDGE_{svc.upper()}_DB_PASSWORD" for svc in SERVICES)


def env_name_problems(owner: str, names: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """`BRIDGE_*` names that are not in `allowed`; other names are not Bridge's to judge."""
    allowed = set(allowed)
    return [
        f"{owner}: {name} is not a Bridge setting here (typo or stale name?)"
        for name in sorted(set(names))
        if name.upper().startswith("BRIDGE_") and name not in allowed
    ]


def missing_required(owner: str, service: str, names: Iterable[str]) -> list[str]:
    present = set(names)
    prefix = env_prefix(service)
    return [
        f"{owner}: {prefix}{suffix} is not given"
        for suffix in REQUIRED_SETTINGS
        if f"{prefix}{suffix}" not in present
    ]


def test_settings_classes_cover_every_service() -> None:
    assert set(SERVICES) == set(SERVICE_PORTS)
    for svc in SERVICES:
        assert env_prefix(svc) == f"BRIDGE_{svc.upper()}_"
        assert default_http_port(svc) == SERVICE_PORTS[svc]
        assert {f"BRIDGE_{svc.upper()}_{s}" for s in REQUIRED_SETTINGS} <= setting_env_names(svc)


def test_env_name_rule_rejects_typos_and_foreign_prefixes() -> None:
    allowed = setting_env_names("matching")
    assert env_name_problems("x", ["BRIDGE_MATCHING_DATABASE_URL", "OTEL_SERVICE_NAME"], allowed) == []
    assert env_name_problems("x", ["BRIDGE_MATCHING_DATABSE_URL"], allowed)
    assert env_name_problems("x", ["BRIDGE_SESSIONS_DATABASE_URL"], allowed)
    assert env_name_problems("x", ["BRIDGE_MATCHING_DB_PASSWORD"], allowed)
    assert missing_required("x", "matching", ["BRIDGE_MATCHING_DATABASE_URL"]) != []


# --------------------------------------------------------------------------- docker compose

_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate_defaults(value: Any) -> str:
    """The value compose would use with none of the referenced variables set."""

    def default(match: re.Match[str]) -> str:
        op = match.group(2)
        assert op in {":-", "-"}, f"{match.group(0)} has no default; the dev stack must start bare"
        return match.group(3)

    text = str(value).replace("$$", "\0")
    return _INTERPOLATION.sub(default, text).replace("\0", "$")


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {k: v for k, v in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


@cache
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def compose_services() -> dict[str, dict[str, Any]]:
    services = compose()["services"]
    assert isinstance(services, dict)
    return services


def find_by_image(prefix: str) -> tuple[str, dict[str, Any]]:
    hits = [
        (name, svc)
        for name, svc in compose_services().items()
        if str(svc.get("image", "")).startswith(prefix)
    ]
    assert len(hits) == 1, f"expected one compose service with image {prefix}*, got {hits}"
    return hits[0]


def bridge_compose_service(svc: str) -> dict[str, Any]:
    services = compose_services()
    assert svc in services, f"compose has no {svc} service"
    return services[svc]


def published_ports(service: Mapping[str, Any]) -> dict[int, int]:
    """container port -> host port."""
    result: dict[int, int] = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            target = int(entry["target"])
            result[target] = int(entry["published"]) if "published" in entry else target
            continue
        spec = str(entry).split("/")[0]
        parts = spec.split(":")
        result[int(parts[-1])] = int(parts[-2]) if len(parts) > 1 else int(parts[-1])
    return result


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {k: (v or {}).get("condition", "service_started") for k, v in deps.items()}


def compose_env_problems(services: Mapping[str, Mapping[str, Any]]) -> list[str]:
    problems: list[str] = []
    for svc in SERVICES:
        names = environment(services[svc]).keys()
        problems += env_name_problems(f"compose {svc}", names, setting_env_names(svc))
        problems += missing_required(f"compose {svc}", svc, names)
    provision = next(s for s in services.values() if _runs_provision(s))
    problems += env_name_problems(
        "compose provision", environment(provision).keys(), provisioning_env_names()
    )
    return problems


def _runs_provision(service: Mapping[str, Any]) -> bool:
    command = service.get("command") or []
    text = command if isinstance(command, str) else " ".join(map(str, command))
    return PROVISION_MODULE in text


def test_compose_has_the_whole_stack() -> None:
    services = compose_services()
    for svc in SERVICES:
        assert svc in services
    find_by_image("apache/kafka")
    find_by_image("postgres:17")
    find_by_image("otel/opentelemetry-collector-contrib")
    find_by_image("jaegertracing/")
    find_by_image("axllent/mailpit")
    assert [n for n, s in services.items() if _runs_provision(s)] == ["provision"]


def test_compose_env_names_are_real_settings() -> None:
    assert compose_env_problems(compose_services()) == []


def test_compose_env_check_catches_a_typo() -> None:
    broken = {name: dict(svc) for name, svc in compose_services().items()}
    env = environment(broken["sessions"])
    env["BRIDGE_SESSIONS_KAFKA_BOOTSTRAP_SERVER"] = env.pop("BRIDGE_SESSIONS_KAFKA_BOOTSTRAP_SERVERS")
    broken["sessions"]["environment"] = env
    problems = compose_env_problems(broken)
    assert any("BRIDGE_SESSIONS_KAFKA_BOOTSTRAP_SERVER " in p for p in problems)
    assert any("BRIDGE_SESSIONS_KAFKA_BOOTSTRAP_SERVERS is not given" in p for p in problems)


def kafka_properties() -> dict[str, str]:
    """The compose Kafka's server.properties (mounted from deploy/compose/kafka)."""
    props: dict[str, str] = {}
    for line in (COMPOSE_KAFKA / "server.properties").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            props[key.strip()] = value.strip()
    return props


def test_compose_kafka_is_single_node_kraft() -> None:
    name, kafka = find_by_image("apache/kafka")
    env = environment(kafka)
    assert any(v.startswith("./deploy/compose/kafka:/etc/bridge/kafka") for v in kafka["volumes"])
    assert "/etc/bridge/kafka/start.sh" in kafka["command"]
    props = kafka_properties()
    roles = set(props["process.roles"].split(","))
    assert roles == {"broker", "controller"}
    node_id = props["node.id"]
    assert env["CLUSTER_ID"]

    listeners = dict(_listener(x) for x in props["listeners"].split(","))
    advertised = dict(_listener(x) for x in props["advertised.listeners"].split(","))
    protocols = dict(x.split(":") for x in props["listener.security.protocol.map"].split(","))
    controller = props["controller.listener.names"]
    assert set(listeners) <= set(protocols), "every listener needs a security protocol"
    assert controller in listeners
    assert controller not in advertised
    assert props["inter.broker.listener.name"] in advertised
    voter_id, voter_addr = props["controller.quorum.voters"].split("@")
    assert voter_id == node_id
    assert voter_addr == f"{name}:{listeners[controller][1]}"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["auto.create.topics.enable"] == "false"

    # Services use the internal listener; the host listener is published on 9094.
    internal = f"{name}:9092"
    assert (name, "9092") in advertised.values()
    assert ("localhost", "9094") in advertised.values()
    assert published_ports(kafka).get(9094) == 9094
    for svc in SERVICES:
        got = environment(bridge_compose_service(svc))[f"{env_prefix(svc)}KAFKA_BOOTSTRAP_SERVERS"]
        assert got == internal
    assert "healthcheck" in kafka


def test_compose_kafka_has_no_plaintext_and_denies_by_default() -> None:
    props = kafka_properties()
    protocols = dict(x.split(":") for x in props["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) <= {"SASL_SSL", "SSL"}, "no listener may be PLAINTEXT or SASL_PLAINTEXT"
    advertised = dict(_listener(x) for x in props["advertised.listeners"].split(","))
    by_address = {addr: protocols[name] for name, addr in advertised.items()}
    assert by_address[("kafka", "9092")] == "SASL_SSL"
    assert by_address[("localhost", "9094")] == "SASL_SSL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert "User:ANONYMOUS" not in props["super.users"]
    assert set(props["super.users"].split(";")) == {"User:admin", "User:kafka-broker"}
    # TLS listeners other than SASL_SSL demand a client certificate.
    assert props["ssl.client.auth"] == "required"
    assert props["ssl.keystore.type"] == props["ssl.truststore.type"] == "PEM"


def test_compose_kafka_has_a_scram_user_per_principal_with_passwords_from_the_environment() -> None:
    _, kafka = find_by_image("apache/kafka")
    env = environment(kafka)
    script = (COMPOSE_KAFKA / "start.sh").read_text()
    assert "--ignore-formatted" in script
    principals = ["admin", *(f"bridge-{svc}" for svc in SERVICES), "bridge-dlq"]
    for principal in principals:
        match = re.search(rf'scram {re.escape(principal)} "\$(\w+)"', script)
        assert match, f"start.sh creates no SCRAM user {principal}"
        assert env[match.group(1)].startswith("${BRIDGE_"), f"{principal}'s password must come from the env"
    for svc in SERVICES:
        service_env = environment(bridge_compose_service(svc))
        # The service logs in with the password Kafka was formatted with.
        assert (
            service_env[f"{env_prefix(svc)}KAFKA_SASL_PASSWORD"]
            == env[f"BRIDGE_{svc.upper()}_KAFKA_PASSWORD"]
        )


class _ProductionKafka(KafkaClientSettings):
    environment: str = "production"


def test_compose_services_authenticate_as_their_own_principal() -> None:
    _, kafka = find_by_image("apache/kafka")
    certs_volume = next(v for v in kafka["volumes"] if v.endswith(":/etc/bridge/kafka-certs:ro"))
    for svc in SERVICES:
        service = bridge_compose_service(svc)
        env = environment(service)
        prefix = env_prefix(svc)
        assert env[f"{prefix}KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env[f"{prefix}KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env[f"{prefix}KAFKA_SASL_USERNAME"] == f"bridge-{svc}"
        assert env[f"{prefix}KAFKA_SASL_PASSWORD"].startswith(f"${{BRIDGE_{svc.upper()}_KAFKA_PASSWORD")
        assert env[f"{prefix}KAFKA_SSL_CAFILE"].startswith("/etc/bridge/kafka-certs/")
        assert certs_volume in service["volumes"]
        assert depends_on(service).get("kafka-acls") == "service_completed_successfully"
        # The Kafka settings accept what compose gives, in production too (TLS is on).
        _ProductionKafka(
            environment="production",
            kafka_security_protocol=env[f"{prefix}KAFKA_SECURITY_PROTOCOL"],
            kafka_sasl_username=env[f"{prefix}KAFKA_SASL_USERNAME"],
            kafka_sasl_password=interpolate_defaults(env[f"{prefix}KAFKA_SASL_PASSWORD"]),
            kafka_ssl_cafile=env[f"{prefix}KAFKA_SSL_CAFILE"],
        )


def test_compose_acl_bootstrap_applies_the_committed_table_as_admin() -> None:
    acls = compose_services()["kafka-acls"]
    command = " ".join(acls["command"])
    assert "bridge_shared.messaging.acls" in command
    assert "--apply" in command
    assert "--security-protocol=SASL_SSL" in command
    assert "--sasl-username=admin" in command
    assert "password" not in command.lower(), "the admin password must not be on the command line"
    mount = next(v for v in acls["volumes"] if "kafka-access.json" in v)
    source, target = mount.split(":")[:2]
    assert (ROOT / source).resolve() == KAFKA_ACCESS
    assert f"--access={target}" in command
    assert (
        environment(acls)["BRIDGE_KAFKA_SASL_PASSWORD"]
        == environment(find_by_image("apache/kafka")[1])["KAFKA_ADMIN_PASSWORD"]
    )
    assert depends_on(acls).get("kafka") == "service_healthy"


def test_kafka_access_table_matches_the_code() -> None:
    """deploy/ applies a committed table (a service image holds one service, the derivation needs all
    four): it must be what bridge-kafka-acls derives from the code now."""
    from bridge_shared.messaging.acls import access_json, service_access

    assert KAFKA_ACCESS.read_text() == access_json(service_access()), (
        "stale: python -m bridge_shared.messaging.acls --format access > deploy/kustomize/base/kafka-access.json"
    )


def _listener(spec: str) -> tuple[str, tuple[str, str]]:
    listener, address = spec.split("://")
    host, port = address.rsplit(":", 1)
    return listener, (host, port)


def test_compose_database_roles_match_provisioning() -> None:
    pg_name, postgres = find_by_image("postgres:17")
    pg_env = environment(postgres)
    database = pg_env["POSTGRES_DB"]
    assert database == "bridge"
    assert "${" in pg_env["POSTGRES_PASSWORD"], "admin password should come from the environment"
    assert "healthcheck" in postgres

    provision = compose_services()["provision"]
    prov_env = environment(provision)
    assert depends_on(provision).get(pg_name) == "service_healthy"
    admin = urlsplit(interpolate_defaults(prov_env["DATABASE_URL"]))
    assert (admin.hostname, admin.path) == (pg_name, f"/{database}")
    assert admin.password == interpolate_defaults(pg_env["POSTGRES_PASSWORD"])

    for svc in SERVICES:
        password_var = f"BRIDGE_{svc.upper()}_DB_PASSWORD"
        assert password_var in prov_env, f"provision gets no password for {svc}"
        dsn = urlsplit(
            interpolate_defaults(environment(bridge_compose_service(svc))[f"{env_prefix(svc)}DATABASE_URL"])
        )
        assert dsn.username == role_name(svc)
        assert dsn.password == interpolate_defaults(prov_env[password_var])
        assert (dsn.hostname, dsn.port, dsn.path) == (pg_name, 5432, f"/{database}")


def test_compose_services_build_wait_and_publish() -> None:
    kafka_name, _ = find_by_image("apache/kafka")
    pg_name, _ = find_by_image("postgres:17")
    for svc in SERVICES:
        service = bridge_compose_service(svc)
        build = service["build"]
        assert build["context"] == "."
        assert build["dockerfile"] == "Dockerfile", "every service is built from the one Dockerfile"
        assert (ROOT / build["dockerfile"]).is_file()
        assert build["args"] == {
            "SERVICE": svc,
            "ENV_PREFIX": env_prefix(svc),
            "HTTP_PORT": str(default_http_port(svc)),
        }
        deps = depends_on(service)
        assert deps.get("provision") == "service_completed_successfully"
        assert deps.get(pg_name) == "service_healthy"
        assert deps.get(kafka_name) == "service_healthy"
        env = environment(service)
        port = default_http_port(svc)
        assert int(env.get(f"{env_prefix(svc)}HTTP_PORT", port)) == port
        assert published_ports(service).get(port) == port
        assert env.get(f"{env_prefix(svc)}HTTP_HOST") == "0.0.0.0"
        secret = env[f"{env_prefix(svc)}JWT_SECRET"]
        assert secret.startswith("${BRIDGE_JWT_SECRET"), "JWT secret must come from BRIDGE_JWT_SECRET"


def test_compose_tracing_goes_through_the_collector_to_jaeger() -> None:
    collector_name, collector = find_by_image("otel/opentelemetry-collector-contrib")
    jaeger_name, jaeger = find_by_image("jaegertracing/")
    assert published_ports(jaeger).get(16686) == 16686

    mounts = [str(v).split(":") for v in collector.get("volumes", [])]
    config_mounts = [m for m in mounts if m[0].lstrip("./") == "deploy/otel-collector.yaml"]
    assert config_mounts, "collector must mount deploy/otel-collector.yaml"
    config = yaml.safe_load((ROOT / "deploy" / "otel-collector.yaml").read_text())
    http_endpoint = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    http_port = int(http_endpoint.rsplit(":", 1)[1])
    pipeline = config["service"]["pipelines"]["traces"]
    assert "otlp" in pipeline["receivers"]
    for exporter in pipeline["exporters"]:
        assert exporter in config["exporters"]
    for processor in pipeline.get("processors", []):
        assert processor in config["processors"]
    endpoints = [config["exporters"][e].get("endpoint", "") for e in pipeline["exporters"]]
    assert any(urlsplit(f"//{e.split('://')[-1]}").hostname == jaeger_name for e in endpoints)

    for svc in SERVICES:
        endpoint = environment(bridge_compose_service(svc))[f"{env_prefix(svc)}OTEL_EXPORTER_OTLP_ENDPOINT"]
        url = urlsplit(endpoint)
        assert (url.scheme, url.hostname, url.port) == ("http", collector_name, http_port)
        assert url.path in {"", "/"}, "services append /v1/traces themselves"


def test_compose_notifications_mail_goes_to_the_sink() -> None:
    sink_name, sink = find_by_image("axllent/mailpit")
    assert {1025, 8025} <= set(published_ports(sink))
    env = environment(bridge_compose_service("notifications"))
    prefix = env_prefix("notifications")
    assert env[f"{prefix}SMTP_HOST"] == sink_name
    assert env[f"{prefix}SMTP_PORT"] == "1025"
    assert sink_name in depends_on(bridge_compose_service("notifications"))


# --------------------------------------------------------------------------- Dockerfiles


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, f"{path}: dangling line continuation"
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (kw, _) in enumerate(instructions) if kw == "FROM"]
    assert starts, "no FROM"
    return instructions[starts[-1] :]


def resolve_args(
    text: str, instructions: list[tuple[str, str]], build_args: Mapping[str, str] | None = None
) -> str:
    """Substitutes ARG defaults, overridden by `build_args` (what `docker build --build-arg` gives)."""
    args = {}
    for kw, rest in instructions:
        if kw == "ARG" and "=" in rest:
            key, value = rest.split("=", 1)
            args[key.strip()] = value.strip()
    args.update(build_args or {})
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), text)


def env_instruction_names(args: str) -> dict[str, str]:
    pairs = re.findall(r'(\w+)=("[^"]*"|\S+)', args)
    return {k: v.strip('"') for k, v in pairs}


@cache
def workspace_members() -> dict[str, Path]:
    """Normalised distribution name -> member directory (relative to the repo root)."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members: dict[str, Path] = {}
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        for directory in sorted(ROOT.glob(pattern)):
            manifest = directory / "pyproject.toml"
            if manifest.is_file():
                name = tomllib.loads(manifest.read_text())["project"]["name"]
                members[_normalise(name)] = directory.relative_to(ROOT)
    return members


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def workspace_closure(member: Path) -> set[Path]:
    """The member and every workspace member it depends on, transitively."""
    seen: set[Path] = set()
    todo = [member]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        project = tomllib.loads((ROOT / current / "pyproject.toml").read_text())["project"]
        for requirement in project.get("dependencies", []):
            name = _normalise(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])
            if name in workspace_members():
                todo.append(workspace_members()[name])
    return seen


def copy_sources(instructions: list[tuple[str, str]]) -> list[str]:
    sources: list[str] = []
    for kw, args in instructions:
        if kw not in {"COPY", "ADD"}:
            continue
        words = [w for w in args.split() if not w.startswith("--")]
        if "--from=" in args:
            continue
        if words and words[0].startswith("["):
            words = json.loads(args[args.index("[") :])
        sources += [w.rstrip("/") or "." for w in words[:-1]]
    return sources


def dockerignore_patterns() -> list[str]:
    path = ROOT / ".dockerignore"
    assert path.is_file(), "a root .dockerignore keeps .venv, .git and caches out of the context"
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored_by_dockerignore(path: str, patterns: list[str]) -> bool:
    parts = path.strip("/").split("/")
    ignored = False
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        for pattern in patterns:
            negate = pattern.startswith("!")
            pat = pattern.lstrip("!").strip("/")
            if pat.startswith("**/"):
                tail = pat[3:]
                hit = any(fnmatch.fnmatch("/".join(parts[j:i]), tail) for j in range(i))
            else:
                hit = fnmatch.fnmatch(prefix, pat)
            if hit:
                ignored = not negate
    return ignored


@pytest.mark.parametrize("svc", SERVICES)
def test_dockerfile(svc: str) -> None:
    """The one Dockerfile, as docker-compose builds it for `svc` (its build arguments substituted)."""
    path = ROOT / "Dockerfile"
    assert path.is_file(), f"{path} is missing"
    assert not (ROOT / "services" / svc / "Dockerfile").exists(), "one Dockerfile for every service"
    build_args = bridge_compose_service(svc)["build"]["args"]
    instructions = [(kw, resolve_args(args, [], build_args)) for kw, args in dockerfile_instructions(path)]
    final = final_stage(instructions)
    member = Path("services") / svc
    distribution = tomllib.loads((ROOT / member / "pyproject.toml").read_text())["project"]["name"]

    cmds = [args for kw, args in final if kw == "CMD"]
    assert cmds, "final stage has no CMD"
    cmd = json.loads(cmds[-1])
    assert cmd[:2] == ["sh", "-c"] and cmd[2].startswith("exec "), "the service must be PID 1 (exec)"
    env_now: dict[str, str] = {}
    for kw, args in final:
        if kw == "ENV":
            env_now.update(env_instruction_names(args))
    assert cmd[2].replace("${APP_MODULE}", env_now["APP_MODULE"]) == f'exec python -m "bridge_{svc}"'

    exposed = [int(p.split("/")[0]) for kw, args in final if kw == "EXPOSE" for p in args.split()]
    assert exposed == [default_http_port(svc)]

    users = [args for kw, args in final if kw == "USER"]
    assert users, "final stage must switch to a non-root user"
    assert users[-1].split(":")[0] not in {"root", "0"}

    healthchecks = [args for kw, args in final if kw == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert "/healthz" in healthchecks[0] and "APP_PORT_VAR" in healthchecks[0]
    assert env_now["APP_PORT_VAR"] == f"{env_prefix(svc)}HTTP_PORT"
    assert "python" in healthchecks[0]
    assert "curl" not in healthchecks[0]

    for kw, args in instructions:
        if kw == "FROM":
            assert resolve_args(args, instructions).split()[0] == "python:3.12-slim"
    runs = " ".join(args for kw, args in instructions if kw == "RUN")
    assert "pip install uv==0.13.9" in runs
    syncs = [args for kw, args in instructions if kw == "RUN" and "uv sync" in args]
    assert syncs
    for sync in syncs:
        for flag in ("--frozen", "--no-dev", f"--package {distribution}"):
            assert flag in sync, f"`{sync}` lacks {flag}"

    env: dict[str, str] = {}
    for kw, args in final:
        if kw == "ENV":
            env.update(env_instruction_names(args))
    assert env_name_problems(f"{path}", env, setting_env_names(svc)) == []
    port_var = f"{env_prefix(svc)}HTTP_PORT"
    assert int(env.get(port_var, default_http_port(svc))) == default_http_port(svc)

    # The build context is the repo root: every COPY source exists and is not dockerignored.
    sources = copy_sources(instructions)
    patterns = dockerignore_patterns()
    for source in sources:
        assert (ROOT / source).exists(), f"{path}: COPY source {source} does not exist"
        assert not ignored_by_dockerignore(source, patterns), f"{source} is in .dockerignore"
    # The lock, every workspace manifest, and the sources of this service's workspace closure.
    assert "uv.lock" in sources
    assert "pyproject.toml" in sources
    for directory in workspace_members().values():
        assert str(directory / "pyproject.toml") in sources, f"{directory}/pyproject.toml not copied"
    needed = {str(d) for d in workspace_closure(member)}
    copied_dirs = {s for s in sources if (ROOT / s).is_dir()}
    assert copied_dirs == needed, f"copies {copied_dirs}, the closure is {needed}"


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = dockerignore_patterns()
    for path in (".venv", ".tools", ".run", ".git", ".pytest_cache", "tests", "bench"):
        assert ignored_by_dockerignore(path, patterns), f"{path} is not dockerignored"
    assert ignored_by_dockerignore("services/matching/src/x/__pycache__/a.pyc", patterns)
    assert not ignored_by_dockerignore("services/matching/src/bridge_matching", patterns)


# --------------------------------------------------------------------------- kustomize


def yaml_documents(paths: Iterable[Path]) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                yield path, doc


def manifest_files(root: Path = KUSTOMIZE) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in {".yaml", ".yml"})


def is_kustomization(path: Path) -> bool:
    return path.name in {"kustomization.yaml", "kustomization.yml"}


@cache
def manifests() -> tuple[tuple[Path, dict[str, Any]], ...]:
    return tuple(yaml_documents(p for p in manifest_files() if not is_kustomization(p)))


def of_kind(kind: str, docs: Iterable[tuple[Path, dict[str, Any]]]) -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p, d in docs if d.get("kind") == kind]


def configmap_keys(docs: Iterable[tuple[Path, dict[str, Any]]]) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for _, doc in of_kind("ConfigMap", docs):
        keys.setdefault(doc["metadata"]["name"], set()).update((doc.get("data") or {}).keys())
    return keys


def pod_spec(doc: Mapping[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    assert isinstance(spec, dict)
    return spec


def container_env_names(container: Mapping[str, Any], configmaps: Mapping[str, set[str]]) -> list[str]:
    names = [e["name"] for e in container.get("env", [])]
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            names += sorted(configmaps.get(ref["name"], set()))
    return names


def is_monitoring(doc: Mapping[str, Any]) -> bool:
    """Prometheus and Grafana of components/monitoring: not Bridge services (test_monitoring_config.py)."""
    labels = (doc.get("metadata") or {}).get("labels") or {}
    return labels.get("app.kubernetes.io/component") == "monitoring"


def deployment_env_problems(docs: Iterable[tuple[Path, dict[str, Any]]], *, require: bool) -> list[str]:
    """Env-name rule for every Bridge container of every Deployment (full or patch) in `docs`."""
    docs = list(docs)
    configmaps = configmap_keys(docs)
    problems: list[str] = []
    for path, doc in of_kind("Deployment", docs):
        if is_monitoring(doc):
            continue
        for container in pod_spec(doc).get("containers", []):
            svc = container.get("name")
            owner = f"{path.relative_to(ROOT)} {doc['metadata']['name']}/{svc}"
            if svc == "web":  # the web app: no database, no Kafka, its own settings (BRIDGE_WEB_*)
                names = container_env_names(container, configmaps)
                problems += env_name_problems(owner, names, web_setting_env_names())
                problems += reference_problems(owner, container, configmaps)
                continue
            if svc not in SERVICES:
                problems.append(f"{owner}: container is not named after a Bridge service")
                continue
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef")
                if ref and ref["name"] not in configmaps:
                    problems.append(f"{owner}: envFrom ConfigMap {ref['name']} is not defined")
            names = container_env_names(container, configmaps)
            problems += env_name_problems(owner, names, setting_env_names(svc))
            if require:
                problems += missing_required(owner, svc, names)
            problems += reference_problems(owner, container, configmaps)
    return problems


def reference_problems(
    owner: str, container: Mapping[str, Any], configmaps: Mapping[str, set[str]]
) -> list[str]:
    """$(VAR) expansions refer to earlier variables; configMapKeyRefs name real keys."""
    problems: list[str] = []
    defined = {n for s in container.get("envFrom", []) for n in _envfrom_names(s, configmaps)}
    for entry in container.get("env", []):
        for ref in re.findall(r"\$\((\w+)\)", str(entry.get("value", ""))):
            if ref not in defined:
                problems.append(f"{owner}: {entry['name']} expands $({ref}) before it is defined")
        key_ref = (entry.get("valueFrom") or {}).get("configMapKeyRef")
        missing = key_ref and key_ref["key"] not in configmaps.get(key_ref["name"], set())
        if key_ref and missing and not key_ref.get("optional"):
            problems.append(f"{owner}: {entry['name']} refers to missing {key_ref}")
        defined.add(entry["name"])
    return problems


def _envfrom_names(source: Mapping[str, Any], configmaps: Mapping[str, set[str]]) -> set[str]:
    ref = source.get("configMapRef")
    return set(configmaps.get(ref["name"], set())) if ref else set()


def base_deployment(svc: str) -> dict[str, Any]:
    docs = [
        d
        for _, d in of_kind("Deployment", yaml_documents(manifest_files(BASE)))
        if any(c.get("name") == svc for c in pod_spec(d).get("containers", []))
    ]
    assert len(docs) == 1, f"base should have one Deployment running {svc}"
    return docs[0]


def _bridge_container(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod_spec(doc)["containers"] if c["name"] == name)


def test_kustomizations_reference_existing_files() -> None:
    kustomizations = [p for p in manifest_files() if is_kustomization(p)]
    assert {p.parent for p in kustomizations} >= {BASE, OTEL_COMPONENT}
    for path in kustomizations:
        spec = yaml.safe_load(path.read_text())
        refs = list(spec.get("resources", [])) + list(spec.get("components", []))
        refs += [p["path"] for p in spec.get("patches", []) if "path" in p]
        for ref in refs:
            assert (path.parent / ref).exists(), f"{path}: {ref} does not exist"
    assert yaml.safe_load((OTEL_COMPONENT / "kustomization.yaml").read_text())["kind"] == "Component"


def test_manifest_env_names_are_real_settings() -> None:
    # Base Deployments are complete: they must give the required settings themselves.
    base_docs = list(yaml_documents(p for p in manifest_files(BASE) if not is_kustomization(p)))
    assert deployment_env_problems(base_docs, require=True) == []
    # Component and overlay patches are partial; their names must still be real settings.
    assert deployment_env_problems(manifests(), require=False) == []
    configmaps = configmap_keys(manifests())
    for svc in SERVICES:
        container = _bridge_container(base_deployment(svc), svc)
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                keys = configmaps[source["configMapRef"]["name"]]
                assert env_name_problems(source["configMapRef"]["name"], keys, setting_env_names(svc)) == []


def test_manifest_env_check_catches_a_typo() -> None:
    docs = [(p, yaml.safe_load(yaml.safe_dump(d))) for p, d in manifests()]
    for _, doc in docs:
        if (
            doc.get("kind") == "Deployment"
            and doc["metadata"]["name"] == base_deployment("reporting")["metadata"]["name"]
        ):
            for container in pod_spec(doc).get("containers", []):
                for entry in container.get("env", []):
                    if entry["name"] == "BRIDGE_REPORTING_JWT_SECRET":
                        entry["name"] = "BRIDGE_REPORTING_JWT_SECRETS"
    problems = deployment_env_problems(docs, require=True)
    assert any("BRIDGE_REPORTING_JWT_SECRETS is not a Bridge setting" in p for p in problems)
    assert any("BRIDGE_REPORTING_JWT_SECRET is not given" in p for p in problems)


@pytest.mark.parametrize("svc", SERVICES)
def test_base_deployment(svc: str) -> None:
    deployment = base_deployment(svc)
    spec = pod_spec(deployment)
    container = _bridge_container(deployment, svc)
    port = default_http_port(svc)

    assert container["image"].split(":")[0].endswith(f"bridge-{svc}")
    named_ports = {p.get("name"): p["containerPort"] for p in container["ports"]}
    assert port in named_ports.values()

    def probe_target(kind: str) -> tuple[str, int]:
        probe = container.get(kind)
        assert probe, f"{svc}: no {kind}"
        assert "httpGet" in probe, f"{svc}: {kind} is not an HTTP probe"
        target = probe["httpGet"]["port"]
        return probe["httpGet"]["path"], named_ports.get(target, target)

    assert probe_target("readinessProbe") == ("/readyz", port)
    assert probe_target("livenessProbe") == ("/healthz", port)

    pod_non_root = (spec.get("securityContext") or {}).get("runAsNonRoot")
    container_non_root = (container.get("securityContext") or {}).get("runAsNonRoot")
    assert container_non_root is True or (pod_non_root is True and container_non_root is not False)
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]["memory"]

    env = {e["name"]: e for e in container.get("env", [])}
    prefix = env_prefix(svc)
    secret_ref = env[f"{prefix}JWT_SECRET"]["valueFrom"]["secretKeyRef"]
    assert secret_ref["name"]
    dsn = env[f"{prefix}DATABASE_URL"]["value"]
    assert urlsplit(dsn).username == role_name(svc)
    password_ref = re.search(r":\$\((\w+)\)@", dsn)
    assert password_ref, "the DSN's password must come from a Secret"
    assert "secretKeyRef" in env[password_ref.group(1)]["valueFrom"]

    services = [
        d
        for _, d in of_kind("Service", yaml_documents(manifest_files(BASE)))
        if d["metadata"]["name"] == deployment["metadata"]["name"]
    ]
    assert len(services) == 1
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert services[0]["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert any(p["port"] == port for p in services[0]["spec"]["ports"])

    # Metrics on a port of their own, which the Service (and so the ingress) never exposes.
    config = {
        k: v
        for _, d in of_kind("ConfigMap", yaml_documents(manifest_files(BASE)))
        if d["metadata"]["name"] == f"{svc}-config"
        for k, v in d["data"].items()
    }
    metrics_port = int(config[f"{prefix}METRICS_PORT"])
    assert named_ports.get("metrics") == metrics_port != port
    assert all(p["port"] != metrics_port for p in services[0]["spec"]["ports"])
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(metrics_port)


def _base_job(module: str) -> dict[str, Any]:
    jobs = [
        job
        for _, job in of_kind("Job", yaml_documents(manifest_files(BASE)))
        if any(
            module in " ".join(c.get("command", []) + c.get("args", [])) for c in pod_spec(job)["containers"]
        )
    ]
    assert len(jobs) == 1, f"base should have one Job running {module}"
    return jobs[0]


def test_base_provision_job() -> None:
    job = _base_job(PROVISION_MODULE)
    spec = pod_spec(job)
    assert (spec.get("securityContext") or {}).get("runAsNonRoot") is True
    (container,) = spec["containers"]
    assert PROVISION_MODULE in " ".join(container.get("command", []) + container.get("args", []))
    names = [e["name"] for e in container.get("env", [])]
    assert env_name_problems("provision job", names, provisioning_env_names()) == []
    assert provisioning_env_names() <= set(names)
    for entry in container["env"]:
        assert "secretKeyRef" in entry.get("valueFrom", {}), f"{entry['name']} must come from a Secret"


def test_otel_component_adds_otlp_endpoint_to_every_service() -> None:
    docs = list(yaml_documents(p for p in manifest_files(OTEL_COMPONENT) if not is_kustomization(p)))
    configmaps = configmap_keys(docs)
    given = {
        c["name"]: container_env_names(c, configmaps)
        for _, d in of_kind("Deployment", docs)
        for c in pod_spec(d).get("containers", [])
    }
    for svc in SERVICES:
        assert f"{env_prefix(svc)}OTEL_EXPORTER_OTLP_ENDPOINT" in given.get(svc, [])
        assert base_deployment(svc)["metadata"]["name"] in {
            d["metadata"]["name"] for _, d in of_kind("Deployment", docs)
        }


# ------------------------------------------------------- rendered with kustomize, when present


def _kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@pytest.mark.parametrize(
    "target",
    [BASE, *sorted(p for p in (KUSTOMIZE / "overlays").glob("*") if p.is_dir())],
    ids=lambda p: str(p.relative_to(KUSTOMIZE)),
)
def test_kustomize_build_renders_valid_deployments(target: Path) -> None:
    command = _kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    rendered = subprocess.run(
        [*command, str(target)], capture_output=True, text=True, timeout=60, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    docs = [(target, d) for d in yaml.safe_load_all(rendered.stdout) if isinstance(d, dict)]
    assert deployment_env_problems(docs, require=True) == []
    rendered_services = {
        c["name"]
        for _, d in of_kind("Deployment", docs)
        if not is_monitoring(d)
        for c in pod_spec(d)["containers"]
    }
    assert rendered_services == {*SERVICES, "web"}
    components = yaml.safe_load((target / "kustomization.yaml").read_text()).get("components", [])
    if any((target / c).resolve() == OTEL_COMPONENT for c in components):
        configmaps = configmap_keys(docs)
        for _, d in of_kind("Deployment", docs):
            if is_monitoring(d):
                continue
            for c in pod_spec(d)["containers"]:
                if c["name"] == "web":
                    continue  # the web app sends no traces of its own
                assert f"{env_prefix(c['name'])}OTEL_EXPORTER_OTLP_ENDPOINT" in container_env_names(
                    c, configmaps
                )


# ------------------------------------------------------------------ Kafka security in the manifests


def test_base_deployments_authenticate_to_kafka_as_their_own_principal() -> None:
    platform = configmap_keys(yaml_documents(manifest_files(BASE)))["bridge-platform"]
    assert {"kafka-security-protocol", "kafka-sasl-mechanism", "kafka-ssl-cafile"} <= platform
    platform_data = next(
        d["data"]
        for _, d in of_kind("ConfigMap", yaml_documents(manifest_files(BASE)))
        if d["metadata"]["name"] == "bridge-platform"
    )
    assert platform_data["kafka-security-protocol"] == "SASL_SSL"
    service_configmaps = {
        d["metadata"]["name"]: d.get("data") or {}
        for _, d in of_kind("ConfigMap", yaml_documents(manifest_files(BASE)))
    }
    for svc in SERVICES:
        deployment = base_deployment(svc)
        container = _bridge_container(deployment, svc)
        prefix = env_prefix(svc)
        env = {e["name"]: e for e in container.get("env", [])}
        protocol = env[f"{prefix}KAFKA_SECURITY_PROTOCOL"]["valueFrom"]["configMapKeyRef"]
        assert (protocol["name"], protocol["key"]) == ("bridge-platform", "kafka-security-protocol")
        password = env[f"{prefix}KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password["name"] == "bridge-kafka-credentials" and password["key"] == svc
        own = next(
            service_configmaps[s["configMapRef"]["name"]] for s in container["envFrom"] if "configMapRef" in s
        )
        assert own[f"{prefix}KAFKA_SASL_USERNAME"] == f"bridge-{svc}"
        cafile = platform_data["kafka-ssl-cafile"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
        ca_mount = next(n for n, path in mounts.items() if cafile.startswith(path + "/"))
        assert volumes[ca_mount]["secret"]["secretName"] == "bridge-kafka-ca"


def test_base_kafka_acl_job() -> None:
    job = _base_job(ACL_MODULE)
    spec = pod_spec(job)
    assert (spec.get("securityContext") or {}).get("runAsNonRoot") is True
    (container,) = spec["containers"]
    args = container.get("args", [])
    assert "--apply" in args
    access_arg = next(a for a in args if a.startswith("--access="))
    access_path = access_arg.split("=", 1)[1]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    directory, _, filename = access_path.rpartition("/")
    configmap = volumes[mounts[directory]]["configMap"]["name"]
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    generator = next(g for g in kustomization["configMapGenerator"] if g["name"] == configmap)
    assert generator["files"] == [filename] and (BASE / filename).resolve() == KAFKA_ACCESS
    assert generator["options"]["disableNameSuffixHash"] is True
    env = {e["name"]: e for e in container["env"]}
    assert "secretKeyRef" in env["BRIDGE_KAFKA_SASL_PASSWORD"]["valueFrom"]
    assert not any("password" in a.lower() for a in args), "the admin password must not be an argument"
    for ref in re.findall(r"\$\((\w+)\)", " ".join(args)):
        assert ref in env, f"$({ref}) is not defined"
