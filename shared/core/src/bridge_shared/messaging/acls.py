"""Kafka ACLs per service principal, derived from the code: one source of truth for `deploy/`, the
compose file and the secured test profile (docs/security-kafka.md).

Each service runs as its own principal `User:bridge-<service>` (its SCRAM username, or the CN of its
client certificate) and may:

- WRITE (+DESCRIBE, CREATE) only the topics it owns (`bridge.<service>.*`, from the event registry:
  the `@event(..., topic=...)` contracts) and its dead-letter topic `bridge.dlq.<service>`;
- READ (+DESCRIBE) only the topics its consumers subscribe to (read from the service's own consumer
  definitions), plus CREATE on them so that no start order is required (creating a topic grants no
  read or write);
- READ its own consumer groups: the prefix `bridge-<service>.` (EventConsumer's `group_id`).

Idempotent producers need no cluster ACL since Kafka 3.0 (WRITE on the topic implies it). The operator
tool `bridge-dlq` runs as `User:bridge-dlq`: READ every dead-letter topic and WRITE the event topics
back (a replay). Every topic name carries the deployment's `kafka_topic_prefix`.

    bridge-kafka-acls [--prefix staging.]                   # the table
    bridge-kafka-acls --format commands --bootstrap kafka:9092 --command-config admin.properties
    bridge-kafka-acls --apply --bootstrap kafka:9092 --security-protocol SASL_SSL --sasl-username admin ...
    bridge-kafka-acls --format access > deploy/kustomize/base/kafka-access.json   # what deploy/ applies

Deriving the table imports the four services. A service image holds only one, so deploy/ applies the
committed `kafka-access.json` (`--access FILE`), and `--check FILE` (run by tests/deploy) fails when
that file no longer matches the code.

`--apply` creates the bindings through the Kafka protocol (CreateAcls) as an admin principal (the
password from `BRIDGE_KAFKA_SASL_PASSWORD`); `--format commands` prints the equivalent
`kafka-acls.sh` lines for a cluster managed by hand. Creating an ACL that exists is a no-op.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, CompactString, Int8, Int16, Int32, Schema, TaggedFields

from bridge_shared.events.registry import all_specs
from bridge_shared.events.topics import dead_letter_topic, topic_name
from bridge_shared.messaging.broker import bootstrap_list
from bridge_shared.messaging.client_security import client_kwargs
from bridge_shared.messaging.security import (
    KafkaSecuritySettings,
    add_security_arguments,
    security_from_args,
)

# The services, named by their app factories (as bridge_shared.events.catalogue names them), so this
# shared module imports no service unless asked to derive the table.
SERVICES: dict[str, tuple[str, str]] = {
    name: (f"bridge_{name}.main:create_app", f"bridge_{name}.settings:{name.capitalize()}Settings")
    for name in ("matching", "sessions", "notifications", "reporting")
}
# Only what builds the app offline: the service's own topic prefix, security and environment are not
# part of what it consumes.
_OFFLINE: dict[str, Any] = {
    "environment": "development",
    "kafka_topic_prefix": "",
    "kafka_security_protocol": "PLAINTEXT",
    "kafka_sasl_username": None,
    "kafka_sasl_password": None,
    "kafka_ssl_cafile": None,
    "kafka_ssl_certfile": None,
    "kafka_ssl_keyfile": None,
    "kafka_ssl_key_password": None,
}
DLQ_TOOL = "dlq"
DLQ_TOPIC_PREFIX = dead_letter_topic("any").removesuffix("any")  # "bridge.dlq."

ResourceType = Literal["TOPIC", "GROUP"]
PatternType = Literal["LITERAL", "PREFIXED"]
Operation = Literal["READ", "WRITE", "CREATE", "DESCRIBE"]


def principal(service: str) -> str:
    return f"User:bridge-{service}"


def group_prefix(service: str) -> str:
    """EventConsumer's group ids are `bridge-<service>.<consumer>`."""
    return f"bridge-{service}."


@dataclass(frozen=True, order=True)
class Acl:
    principal: str
    resource_type: ResourceType
    pattern_type: PatternType
    resource: str
    operation: Operation


@dataclass(frozen=True)
class ServiceAccess:
    """What one service does on Kafka: contract topic names (unprefixed)."""

    service: str
    produces: tuple[str, ...]
    consumes: tuple[str, ...]


# -- deriving the table from the code ------------------------------------------------------------


def produced_topics(service: str) -> list[str]:
    """The topics of the service's registered contracts (`@event(..., topic="bridge.<service>.…")`)."""
    owned = {spec.topic for spec in all_specs() if spec.topic.split(".")[1:2] == [service]}
    return sorted(owned)


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def consumed_topics(service: str, factory: str, settings_cls: str) -> list[str]:
    """The contract topics the service's consumers subscribe to, from its app built with default
    settings (nothing is started: no database, no broker)."""
    log = logging.getLogger("bridge")
    level = log.level
    log.setLevel(logging.WARNING)  # building the app logs its setup; not wanted in a CLI's output
    try:
        app = _load(factory)(_load(settings_cls)(**_OFFLINE))
    finally:
        log.setLevel(level)
    topics: set[str] = set()
    for consumer in app.state.runtime.extras.get("consumers", []):
        prefix: str = consumer.topic_prefix
        topics.update(t[len(prefix) :] for t in consumer.topics)
    return sorted(topics)


def service_access(services: Mapping[str, tuple[str, str]] = SERVICES) -> list[ServiceAccess]:
    out: list[ServiceAccess] = []
    for service, (factory, settings_cls) in services.items():
        consumed = consumed_topics(
            service, factory, settings_cls
        )  # imports the service: its contracts register
        out.append(ServiceAccess(service, tuple(produced_topics(service)), tuple(consumed)))
    return out


def access_json(access: Sequence[ServiceAccess]) -> str:
    body = {a.service: {"produces": list(a.produces), "consumes": list(a.consumes)} for a in access}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def load_access(text: str) -> list[ServiceAccess]:
    body = json.loads(text)
    return [
        ServiceAccess(service, tuple(v["produces"]), tuple(v["consumes"]))
        for service, v in sorted(body.items())
    ]


def acls_for(access: Iterable[ServiceAccess], prefix: str = "") -> list[Acl]:
    """Every binding, sorted: the services' and the dead-letter tool's."""
    acls: set[Acl] = set()
    event_topics: set[str] = set()

    def topic(who: str, name: str, *ops: Operation) -> None:
        acls.update(Acl(who, "TOPIC", "LITERAL", prefix + name, op) for op in ops)

    for a in access:
        who = principal(a.service)
        for t in (*a.produces, topic_name("dlq", a.service)):
            topic(who, t, "WRITE", "DESCRIBE", "CREATE")
        for t in a.consumes:
            topic(who, t, "READ", "DESCRIBE", "CREATE")
        if a.consumes:
            acls.add(Acl(who, "GROUP", "PREFIXED", group_prefix(a.service), "READ"))
        event_topics.update(a.produces)
    tool = principal(DLQ_TOOL)
    acls.update(Acl(tool, "TOPIC", "PREFIXED", prefix + DLQ_TOPIC_PREFIX, op) for op in ("READ", "DESCRIBE"))
    for t in event_topics:
        topic(tool, t, "WRITE", "DESCRIBE")
    return sorted(acls)


# -- output ------------------------------------------------------------------------------------


def table(acls: Sequence[Acl]) -> str:
    lines = ["| principal | resource | pattern | name | operations |", "|---|---|---|---|---|"]
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for acl in acls:
        grouped.setdefault((acl.principal, acl.resource_type, acl.pattern_type, acl.resource), []).append(
            acl.operation
        )
    for (who, rtype, pattern, name), ops in grouped.items():
        lines.append(f"| `{who}` | {rtype} | {pattern} | `{name}` | {', '.join(sorted(ops))} |")
    return "\n".join(lines)


def kafka_acls_commands(acls: Sequence[Acl], *, bootstrap: str, command_config: str) -> list[str]:
    """`kafka-acls.sh` lines, one per (principal, resource), all its operations in one command."""
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for acl in acls:
        grouped.setdefault((acl.principal, acl.resource_type, acl.pattern_type, acl.resource), []).append(
            acl.operation
        )
    out = []
    for (who, rtype, pattern, name), ops in grouped.items():
        operations = " ".join(f"--operation {op.capitalize()}" for op in sorted(ops))
        out.append(
            f"kafka-acls.sh --bootstrap-server {bootstrap} --command-config {command_config} --add "
            f"--allow-principal {who} {operations} --{rtype.lower()} '{name}' "
            f"--resource-pattern-type {pattern.lower()}"
        )
    return out


# -- applying them (CreateAcls, Kafka protocol API 30, flexible versions 2-3) ----------------------

_RESOURCE = {"TOPIC": 2, "GROUP": 3}
_PATTERN = {"LITERAL": 3, "PREFIXED": 4}
_OPERATION = {"READ": 3, "WRITE": 4, "CREATE": 5, "DESCRIBE": 8}
_ALLOW = 3


class _CreateAclsResponseV2(Response):  # type: ignore[misc]
    API_KEY = 30
    API_VERSION = 2
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("error_code", Int16), ("error_message", CompactString("utf-8")), ("tags", TaggedFields)
            ),
        ),
        ("tags", TaggedFields),
    )


class _CreateAclsResponseV3(Response):  # type: ignore[misc]
    API_KEY = 30
    API_VERSION = 3
    SCHEMA = _CreateAclsResponseV2.SCHEMA


_CREATIONS = CompactArray(
    ("resource_type", Int8),
    ("resource_name", CompactString("utf-8")),
    ("resource_pattern_type", Int8),
    ("principal", CompactString("utf-8")),
    ("host", CompactString("utf-8")),
    ("operation", Int8),
    ("permission_type", Int8),
    ("tags", TaggedFields),
)


class _CreateAclsRequestV2(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 30
    API_VERSION = 2
    RESPONSE_TYPE = _CreateAclsResponseV2
    SCHEMA = Schema(("creations", _CREATIONS), ("tags", TaggedFields))


class _CreateAclsRequestV3(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 30
    API_VERSION = 3
    RESPONSE_TYPE = _CreateAclsResponseV3
    SCHEMA = _CreateAclsRequestV2.SCHEMA


class _CreateAcls(Request[_CreateAclsRequestV2 | _CreateAclsRequestV3]):  # type: ignore[misc]
    API_KEY = 30

    def __init__(self, acls: Sequence[Acl]) -> None:
        self._creations: list[tuple[Any, ...]] = [
            (
                _RESOURCE[a.resource_type],
                a.resource,
                _PATTERN[a.pattern_type],
                a.principal,
                "*",
                _OPERATION[a.operation],
                _ALLOW,
                {},
            )
            for a in acls
        ]

    def build(
        self, request_struct_class: type[_CreateAclsRequestV2 | _CreateAclsRequestV3]
    ) -> _CreateAclsRequestV2 | _CreateAclsRequestV3:
        return request_struct_class(self._creations, {})


class AclError(RuntimeError):
    """The broker refused some bindings (e.g. the caller is not an admin)."""


async def apply_acls(
    acls: Sequence[Acl], bootstrap: str, *, security: KafkaSecuritySettings | None = None
) -> int:
    """Creates the bindings on the cluster as the admin principal `security` names; returns how many."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_list(bootstrap), client_id="bridge-kafka-acls", **client_kwargs(security)
    )
    await admin.start()
    try:
        response: Any = await admin._send_request(_CreateAcls(acls))
    finally:
        await admin.close()
    errors = [
        f"{acl.principal} {acl.operation} {acl.resource_type}:{acl.resource}: {code} {message or ''}".strip()
        for acl, (code, message, _tags) in zip(acls, response.results, strict=True)
        if code != 0
    ]
    if errors:
        raise AclError("the broker refused: " + "; ".join(errors))
    return len(acls)


# -- the command -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prefix", default="", help="the deployment's kafka_topic_prefix (e.g. staging.)")
    parser.add_argument("--format", choices=["table", "commands", "json", "access"], default="table")
    parser.add_argument(
        "--access", help="use this committed access file instead of deriving it from the code"
    )
    parser.add_argument("--check", metavar="FILE", help="fail when FILE does not match the code")
    parser.add_argument("--apply", action="store_true", help="create the bindings on --bootstrap")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument(
        "--command-config",
        default="admin.properties",
        help="for --format commands: the admin's client config",
    )
    add_security_arguments(parser)
    args = parser.parse_args(argv)
    if args.check:
        with open(args.check, encoding="utf-8") as f:
            stale = f.read() != access_json(service_access())
        print(f"{args.check} is {'stale: regenerate with --format access' if stale else 'up to date'}")
        sys.exit(1 if stale else 0)
    if args.access:
        with open(args.access, encoding="utf-8") as f:
            access = load_access(f.read())
    else:
        access = service_access()
    acls = acls_for(access, args.prefix)
    if args.format == "access" and not args.apply:
        print(access_json(access), end="")
    elif args.apply:
        count = asyncio.run(apply_acls(acls, args.bootstrap, security=security_from_args(args)))
        print(f"applied {count} ACL bindings on {args.bootstrap}")
    elif args.format == "commands":
        print(
            "\n".join(kafka_acls_commands(acls, bootstrap=args.bootstrap, command_config=args.command_config))
        )
    elif args.format == "json":
        print(json.dumps([asdict(a) for a in acls], indent=2))
    else:
        print(table(acls))
    sys.exit(0)


if __name__ == "__main__":
    main()
