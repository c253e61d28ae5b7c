"""Settings every Bridge service reads; each service subclasses with its own env prefix.

Defaults live here, in one place. Production refuses the development JWT secret.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bridge_shared.messaging.security import KafkaSecuritySettings

DEV_JWT_SECRET = "bridge-dev-secret-change-me-0123456789abcdef"
DEFAULT_JWT_ISSUER = "https://auth.bridge.local"
DEFAULT_JWT_AUDIENCE = "bridge"
DEFAULT_KAFKA = "127.0.0.1:9092"

SERVICE_PORTS = {"matching": 8001, "sessions": 8002, "notifications": 8003, "reporting": 8004}


class ServiceSettings(KafkaSecuritySettings):
    """Common settings. Subclasses set `env_prefix` (e.g. BRIDGE_MATCHING_) and the defaults below."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str
    environment: Literal["development", "test", "production"] = "development"

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_base_url: str | None = None
    # Where subscribers fetch this service's event schemas: every event's `ce_dataschema` is
    # `<this>/<type>.json`. Default: `<base_url>/schemas/events`, served by the service itself.
    events_schema_base_url: str | None = None

    database_url: str = Field(description="DSN of this service's own database role")
    db_schema: str
    db_pool_min: int = 1
    db_pool_max: int = 10

    kafka_bootstrap_servers: str = DEFAULT_KAFKA
    kafka_topic_partitions: int = 3
    kafka_topic_replication_factor: int = 1
    # Put before every topic name on the cluster (e.g. "staging."), so environments or test runs that
    # share one cluster never see each other's events. Empty in a cluster of its own.
    kafka_topic_prefix: str = Field(default="", pattern=r"^([a-z0-9][a-z0-9_-]*\.)?$")

    jwt_algorithms: list[str] = ["HS256"]
    jwt_secret: SecretStr | None = SecretStr(DEV_JWT_SECRET)
    jwt_public_key: str | None = None
    jwt_issuer: str = DEFAULT_JWT_ISSUER
    jwt_audience: str = DEFAULT_JWT_AUDIENCE

    otel_exporter_otlp_endpoint: str | None = None
    log_level: str = "INFO"
    log_json: bool = True

    outbox_batch_size: int = 500
    outbox_idle_poll_seconds: float = 5.0
    # Refused at write time (Outbox.add raises EventTooLarge -> 413): key + value + headers of one
    # event, a little under Kafka's default message.max.bytes (1048588) to leave room for batch overhead.
    outbox_max_event_bytes: int = Field(default=1_000_000, gt=0)
    # The relay waits at most this long for one batch's broker acks, and holds a lease that outlives
    # it: a relay that lost its lock session finishes (or abandons) its batch before another can start.
    # Keep the lease above the producer's own delivery timeout (aiokafka request_timeout_ms, 40 s).
    outbox_send_timeout_seconds: float = Field(default=30.0, gt=0)
    outbox_lease_seconds: float = Field(default=60.0, gt=0)
    # Attempts with a non-transient broker error (not connection/timeout) before a row is parked.
    outbox_max_attempts: int = Field(default=5, ge=1)
    # Published (and discarded) outbox rows are deleted after this; pending and parked rows never are.
    outbox_retention_hours: int = Field(default=168, ge=1)
    # Inbox rows (the dedupe memory) are deleted after this. Keep it longer than any redelivery window:
    # the topics' retention (Kafka default 7 days; a consumer reset re-reads that far back) and how
    # long dead letters may wait before a re-drive. 0 keeps them forever.
    inbox_retention_days: int = Field(default=30, ge=0)
    prune_interval_seconds: float = Field(default=60.0, gt=0)
    # /readyz caches the broker topic-metadata check this long.
    readiness_cache_seconds: float = Field(default=10.0, ge=0)
    # /readyz says "degraded" (still 200) when the oldest unpublished outbox row is older than this:
    # the relay is stuck or far behind, and "ready" would be a claim the service cannot back.
    readiness_outbox_stall_seconds: float = Field(default=60.0, gt=0)
    consumer_max_attempts: int = 5
    consumer_backoff_initial_seconds: float = 0.2
    consumer_backoff_max_seconds: float = 5.0
    consumer_batch_max_records: int = 500
    # How long a partition revocation waits for in-flight work before abandoning it; keep it well
    # below the group's rebalance timeout (max.poll.interval.ms, 300 s), as the whole group waits.
    consumer_revoke_timeout_seconds: float = 20.0

    # --- HTTP limits and hardening (bridge_shared.http.guard; docs/security-http.md) ---
    # Largest request body (413 above it); routes may have their own (matching's CSV import).
    http_max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    # All request headers together, and the Authorization header alone (431 above them).
    http_max_header_bytes: int = Field(default=32 * 1024, gt=0)
    http_max_authorization_bytes: int = Field(default=8 * 1024, gt=0)
    # /metrics: with a token, scrapers must send `Authorization: Bearer <token>`; with a port, the
    # metrics are served there only (on http_host) and not on the API port. Neither: open.
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @model_validator(mode="after")
    def _lease_outlives_a_batch(self) -> ServiceSettings:
        if self.outbox_lease_seconds <= self.outbox_send_timeout_seconds:
            raise ValueError("outbox_lease_seconds must be longer than outbox_send_timeout_seconds")
        return self

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> ServiceSettings:
        if self.environment == "production":
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else None
            if secret == DEV_JWT_SECRET:
                raise ValueError("jwt_secret: the development secret is refused in production")
            if secret is None and not self.jwt_public_key:
                raise ValueError("jwt_secret or jwt_public_key is required in production")
        return self

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.http_host}:{self.http_port}"


def env_prefix(service: str) -> str:
    return f"BRIDGE_{service.upper()}_"
