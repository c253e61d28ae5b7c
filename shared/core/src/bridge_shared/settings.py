"""Settings every Bridge service reads; each service subclasses with its own env prefix.

Defaults live here, in one place. The environment must be named (`BRIDGE_<SVC>_ENVIRONMENT`, else
`BRIDGE_ENVIRONMENT`, else `ENVIRONMENT`); the development JWT secret is used only when it is
`development` or `test`, and production refuses weak or placeholder secrets (docs/security-tokens.md).
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from bridge_shared.messaging.security import KafkaSecuritySettings

DEV_JWT_SECRET = "bridge-dev-secret-change-me-0123456789abcdef"
DEFAULT_JWT_ISSUER = "https://auth.bridge.local"
DEFAULT_JWT_AUDIENCE = "bridge"
DEFAULT_KAFKA = "127.0.0.1:9092"
DEFAULT_JWT_MAX_LIFETIME_SECONDS = 12 * 3600
MIN_PRODUCTION_SECRET_BYTES = 32
# Compared with the secret stripped and case-folded; a secret containing a fragment is refused too.
KNOWN_PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "change_me", "secret", "password", "jwt-secret", DEV_JWT_SECRET.casefold()}
)
PLACEHOLDER_FRAGMENTS = ("changeme", "change-me", "change_me", "bridge-dev-secret")
ASYMMETRIC_JWT_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

SERVICE_PORTS = {"matching": 8001, "sessions": 8002, "notifications": 8003, "reporting": 8004}


class ServiceSettings(KafkaSecuritySettings):
    """Common settings. Subclasses set `env_prefix` (e.g. BRIDGE_MATCHING_) and the defaults below."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str
    # Required: from BRIDGE_<SVC>_ENVIRONMENT, else BRIDGE_ENVIRONMENT, else ENVIRONMENT (see below).
    environment: Literal["development", "test", "production"]

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

    # --- Tokens (bridge_shared.auth; docs/security-tokens.md) ---
    # Internal tokens (service tokens, development): HS256 with jwt_secret. Unset, the development
    # secret applies in development and test only; production needs >= 32 bytes, not a placeholder.
    jwt_algorithms: list[str] = ["HS256"]
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str = DEFAULT_JWT_ISSUER
    jwt_audience: str = DEFAULT_JWT_AUDIENCE
    # Longest accepted token lifetime (exp - iat), for internal and identity-provider tokens alike.
    jwt_max_lifetime_seconds: int = Field(default=DEFAULT_JWT_MAX_LIFETIME_SECONDS, gt=0)
    # Clock skew allowed on exp, nbf and iat.
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # Enterprise sign-in: RS256/ES256 tokens of the company's identity provider (OIDC). Set issuer
    # and audience; the keys come from oidc_jwks_url, or from the issuer's discovery document.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_algorithms: list[str] = ["RS256", "ES256"]
    # Where the identity provider's tokens carry what Bridge reads.
    oidc_subject_claim: str = "sub"
    oidc_roles_claim: str = "roles"
    oidc_regions_claim: str = "regions"
    oidc_name_claim: str = "name"
    # The key set is fetched again when older than this, and at most once per min_refetch (also
    # for tokens naming an unknown key id).
    oidc_jwks_refresh_seconds: float = Field(default=600.0, gt=0)
    oidc_jwks_min_refetch_seconds: float = Field(default=30.0, ge=0)
    oidc_http_timeout_seconds: float = Field(default=5.0, gt=0)

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
    # End-to-end pipeline probe (bridge_shared.observability.probe): one probe through the outbox,
    # the relay, Kafka and a consumer this often (0: off); not back within the timeout, it is lost.
    probe_interval_seconds: float = Field(default=15.0, ge=0)
    probe_timeout_seconds: float = Field(default=60.0, gt=0)
    consumer_max_attempts: int = 5
    consumer_backoff_initial_seconds: float = 0.2
    consumer_backoff_max_seconds: float = 5.0
    consumer_batch_max_records: int = 500
    # How long a partition revocation waits for in-flight work before abandoning it; keep it well
    # below the group's rebalance timeout (max.poll.interval.ms, 300 s), as the whole group waits.
    consumer_revoke_timeout_seconds: float = 20.0
    # How long the broker holds a fetch open when it has nothing new for a consumer (Kafka's
    # fetch.max.wait.ms; aiokafka's default is 500). It bounds how late an event that arrives at an
    # idle partition is seen: lower is fresher, at the cost of more, mostly empty, fetch requests
    # (about 1000/this per second per consumer group while idle).
    consumer_fetch_max_wait_ms: int = Field(default=50, ge=1, le=500)
    # A batch consumer's poll: how long it waits for records, and sleeps after an empty poll. Lower
    # is fresher under a trickle of events, at a CPU cost: at 200 events/s reporting used 19 % of a
    # core at 10 ms against 8 % at 50 ms (smaller batches, more transactions); bench/reporting/
    # freshness.py measures the latency side.
    consumer_batch_poll_ms: int = Field(default=10, ge=1, le=500)
    # Net object allocations between the garbage collector's young collections (bridge_shared.
    # gc_tuning; CPython's default is 700, which costs a consumer a quarter or more of its time on bursts).
    gc_young_threshold: int = Field(default=50_000, ge=700, le=1_000_000)

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

    @model_validator(mode="before")
    @classmethod
    def _environment_is_named(cls, data: Any) -> Any:
        """BRIDGE_<SVC>_ENVIRONMENT (or the argument), else BRIDGE_ENVIRONMENT, else ENVIRONMENT."""
        if not isinstance(data, dict):
            return data
        value = data.get("environment")
        for name in ("BRIDGE_ENVIRONMENT", "ENVIRONMENT"):
            if value not in (None, ""):
                break
            value = os.environ.get(name)
        if value in (None, ""):
            prefix = cls.model_config.get("env_prefix") or "BRIDGE_<SVC>_"
            raise ValueError(
                f"the environment is not set: set {prefix}ENVIRONMENT (or BRIDGE_ENVIRONMENT) to "
                "development, test or production. The development JWT secret is only used in "
                "development and test."
            )
        return {**data, "environment": value.strip().lower() if isinstance(value, str) else value}

    @model_validator(mode="after")
    def _jwt_keys(self) -> ServiceSettings:
        if self.jwt_secret is not None and not self.jwt_secret.get_secret_value():
            raise ValueError("jwt_secret is empty: unset it or give a real secret")
        if "none" in {a.lower() for a in self.jwt_algorithms + self.oidc_algorithms}:
            raise ValueError("jwt_algorithms / oidc_algorithms: 'none' is never allowed")
        oidc_set = [n for n in ("oidc_issuer", "oidc_audience", "oidc_jwks_url") if getattr(self, n)]
        if oidc_set and not (self.oidc_issuer and self.oidc_audience):
            raise ValueError("enterprise sign-in needs both oidc_issuer and oidc_audience")
        if not self.oidc_algorithms or not set(self.oidc_algorithms) <= ASYMMETRIC_JWT_ALGORITHMS:
            raise ValueError("oidc_algorithms must be asymmetric (e.g. RS256, ES256), never HS*")
        if self.environment == "production":
            self._production_token_rules()
        elif self.jwt_secret is None:
            self.jwt_secret = SecretStr(DEV_JWT_SECRET)  # development and test only
        return self

    def _production_token_rules(self) -> None:
        if self.jwt_secret is not None:
            problem = weak_secret(self.jwt_secret.get_secret_value())
            if problem:
                raise ValueError(f"jwt_secret is refused in production: {problem}")
        elif not self.jwt_public_key and not self.oidc_issuer:
            raise ValueError(
                "production needs a token key: jwt_secret (at least 32 bytes), jwt_public_key, "
                "or enterprise sign-in (oidc_issuer and oidc_audience)"
            )
        for name in ("oidc_issuer", "oidc_jwks_url"):
            url = getattr(self, name)
            if url and not url.startswith("https://"):
                raise ValueError(f"{name} must be an https:// URL in production")

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.http_host}:{self.http_port}"


def weak_secret(secret: str) -> str | None:
    """Why `secret` is not good enough for production, or None."""
    if secret != secret.strip():
        return "it has leading or trailing whitespace"
    if len(secret.encode()) < MIN_PRODUCTION_SECRET_BYTES:
        return f"it is shorter than {MIN_PRODUCTION_SECRET_BYTES} bytes (256 bits)"
    folded = secret.strip().casefold()
    if folded in KNOWN_PLACEHOLDER_SECRETS or any(p in folded for p in PLACEHOLDER_FRAGMENTS):
        return "it is a known placeholder or the development secret"
    if len(set(secret)) < 8:
        return "it has fewer than 8 distinct characters"
    return None


def env_prefix(service: str) -> str:
    return f"BRIDGE_{service.upper()}_"
