"""Kafka client security settings (SASL/SCRAM, TLS, mutual TLS), mixed into every service's settings.

Every Kafka client Bridge builds (the services' FastStream broker and its admin client, the outbox
relay's producer, the readiness check, reporting's rebuild consumer, `bridge-dlq`, the benchmarks)
takes its security from here, so one set of settings decides how a process authenticates:

| setting (service env: `BRIDGE_<SVC>_…`, tools: `BRIDGE_…`) | meaning |
|---|---|
| `KAFKA_SECURITY_PROTOCOL` | `PLAINTEXT` (default), `SSL`, `SASL_PLAINTEXT`, `SASL_SSL` |
| `KAFKA_SASL_MECHANISM` | `SCRAM-SHA-512` (default) or `SCRAM-SHA-256` |
| `KAFKA_SASL_USERNAME` / `KAFKA_SASL_PASSWORD` | the SCRAM credentials (required with `SASL_*`) |
| `KAFKA_SSL_CAFILE` | PEM CA bundle that signed the brokers' certificates (else the system trust) |
| `KAFKA_SSL_CERTFILE` / `KAFKA_SSL_KEYFILE` / `KAFKA_SSL_KEY_PASSWORD` | client certificate for mutual TLS |
| `KAFKA_SSL_CHECK_HOSTNAME` | verify the broker's name against its certificate (default true) |
| `KAFKA_ALLOW_PLAINTEXT_IN_PRODUCTION` | opt-out: let `environment=production` run without TLS |

In production a connection without TLS (`PLAINTEXT`, `SASL_PLAINTEXT`) is refused at start-up unless
`KAFKA_ALLOW_PLAINTEXT_IN_PRODUCTION=true` says that is intended (e.g. a service mesh encrypts it).
See docs/security-kafka.md.

This module is settings only (pydantic): every service's settings, and so its pure `domain/`, import
it. `bridge_shared.messaging.client_security` turns them into aiokafka and FastStream arguments.
"""

from __future__ import annotations

import argparse
from typing import Any, Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256"]

TLS_PROTOCOLS = ("SSL", "SASL_SSL")
SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")


class KafkaSecuritySettings(BaseSettings):
    """Mixin: how every Kafka client of a service authenticates and encrypts."""

    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True
    # Production refuses a Kafka connection without TLS unless this says it is intended.
    kafka_allow_plaintext_in_production: bool = False

    @model_validator(mode="after")
    def _kafka_security_is_consistent(self) -> KafkaSecuritySettings:
        protocol = self.kafka_security_protocol
        if protocol in SASL_PROTOCOLS:
            password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
            if not self.kafka_sasl_username or not password:
                raise ValueError(
                    f"kafka_security_protocol={protocol} needs kafka_sasl_username and kafka_sasl_password"
                )
        elif self.kafka_sasl_username or self.kafka_sasl_password:
            raise ValueError(
                f"kafka_sasl_username/kafka_sasl_password are set but kafka_security_protocol={protocol} "
                "does not use SASL (use SASL_SSL)"
            )
        tls_files = (self.kafka_ssl_cafile, self.kafka_ssl_certfile, self.kafka_ssl_keyfile)
        if protocol not in TLS_PROTOCOLS and any(tls_files):
            raise ValueError(f"TLS files are set but kafka_security_protocol={protocol} does not use TLS")
        if self.kafka_ssl_keyfile and not self.kafka_ssl_certfile:
            raise ValueError("kafka_ssl_keyfile needs kafka_ssl_certfile (the client certificate)")
        if self.kafka_ssl_key_password and not self.kafka_ssl_certfile:
            raise ValueError("kafka_ssl_key_password needs kafka_ssl_certfile")
        environment = getattr(self, "environment", None)
        insecure = protocol not in TLS_PROTOCOLS and not self.kafka_allow_plaintext_in_production
        if environment == "production" and insecure:
            raise ValueError(
                f"kafka_security_protocol={protocol} is refused in production (no TLS): use SASL_SSL or "
                "SSL, or set kafka_allow_plaintext_in_production=true if the network encrypts it"
            )
        return self

    def kafka_security_summary(self) -> str:
        """For logs: the protocol and principal, never the secret."""
        who = f" as {self.kafka_sasl_username}" if self.kafka_security_protocol in SASL_PROTOCOLS else ""
        cert = " with a client certificate" if self.kafka_ssl_certfile else ""
        return f"{self.kafka_security_protocol}{who}{cert}"


class KafkaClientSettings(KafkaSecuritySettings):
    """The same settings for tools and benchmarks, read from `BRIDGE_KAFKA_…` (or another prefix via
    `KafkaClientSettings.from_env("BRIDGE_SESSIONS_")`, to act with a service's credentials)."""

    model_config = SettingsConfigDict(env_prefix="BRIDGE_", extra="ignore", env_file=None)

    @classmethod
    def from_env(cls, prefix: str = "BRIDGE_", **overrides: Any) -> KafkaClientSettings:
        class _Prefixed(cls):  # type: ignore[valid-type,misc]
            model_config = SettingsConfigDict(env_prefix=prefix, extra="ignore", env_file=None)

        loaded = _Prefixed(**overrides)
        return cls.model_validate(loaded.model_dump())


# -- command-line tools (bridge-dlq, bridge-kafka-acls, the benchmarks) ----------------------------


def add_security_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags for a tool's Kafka security. Each defaults to the environment (`BRIDGE_KAFKA_…`, or the
    prefix given by `--kafka-env-prefix`, e.g. `BRIDGE_REPORTING_` to act with a service's
    credentials). The password is read from the environment only, never from a flag."""
    group = parser.add_argument_group("Kafka security (default: the BRIDGE_KAFKA_* environment)")
    group.add_argument(
        "--kafka-env-prefix", default="BRIDGE_", help="read KAFKA_* settings under this prefix"
    )
    group.add_argument("--security-protocol", choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
    group.add_argument("--sasl-mechanism", choices=["SCRAM-SHA-512", "SCRAM-SHA-256"])
    group.add_argument("--sasl-username", help="password: <prefix>KAFKA_SASL_PASSWORD in the environment")
    group.add_argument("--ssl-cafile")
    group.add_argument("--ssl-certfile", help="client certificate (mutual TLS)")
    group.add_argument("--ssl-keyfile", help="client key (mutual TLS)")
    group.add_argument("--no-ssl-check-hostname", action="store_true")


def security_from_args(args: argparse.Namespace) -> KafkaClientSettings:
    overrides: dict[str, Any] = {
        f"kafka_{name}": getattr(args, name)
        for name in (
            "security_protocol",
            "sasl_mechanism",
            "sasl_username",
            "ssl_cafile",
            "ssl_certfile",
            "ssl_keyfile",
        )
        if getattr(args, name, None)
    }
    if getattr(args, "no_ssl_check_hostname", False):
        overrides["kafka_ssl_check_hostname"] = False
    return KafkaClientSettings.from_env(getattr(args, "kafka_env_prefix", "BRIDGE_"), **overrides)
