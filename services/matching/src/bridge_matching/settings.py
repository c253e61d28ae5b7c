"""Matching settings; every field can be set as BRIDGE_MATCHING_<FIELD>."""

from typing import Annotated

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from bridge_shared.settings import ServiceSettings, weak_secret

DEV_PRIVACY_PEPPER = "bridge-dev-secret-privacy-pepper-0123456789"
"""The erasure ledger's key in development and test only (production must set its own)."""

RetentionDays = Annotated[int, Field(ge=1, le=3650)]


# The ignore: mypy may see pydantic-settings' BaseSettings as Any, and subclassing Any is [misc].
class MatchingSettings(ServiceSettings):  # type: ignore[misc,unused-ignore]
    model_config = SettingsConfigDict(env_prefix="BRIDGE_MATCHING_", extra="ignore")

    service_name: str = "matching"
    http_port: int = 8001
    db_schema: str = "matching"
    database_url: str = "postgresql://bridge_matching:bridge_matching@127.0.0.1:5432/bridge"
    # How long both sides have to answer a proposal before it expires and frees them for rematch.
    proposal_ttl_hours: int = 168
    # How often the single-instance expiry job looks for overdue proposals (0 disables it).
    expiry_interval_seconds: float = 60.0
    # Largest HRIS CSV accepted by POST /cohorts/{id}/imports.
    import_max_bytes: int = 64 * 1024 * 1024
    suggestions_max_k: int = 50
    # Import jobs and matching runs hold a lease, renewed every third of this; a job still running after
    # its lease expired (its instance stopped) is taken over by another instance.
    job_lease_seconds: float = 30.0
    # How often an instance looks for queued jobs and jobs with an expired lease (0: only at start-up).
    job_poll_seconds: float = 5.0
    # POST /cohorts/{id}/matching-runs?wait=true waits this long for the draft before answering 202.
    run_wait_seconds: float = 30.0
    # A matching run whose snapshot read or draft write fails on a transient error (deadlock,
    # serialization failure, lost connection, server restarting) is tried again, at most this many
    # attempts in all, after a random exponential backoff: the n-th retry waits up to
    # min(run_retry_backoff_max_seconds, run_retry_backoff_seconds * 2^(n-1)). Then it fails.
    run_retry_attempts: int = Field(default=3, ge=1, le=10)
    run_retry_backoff_seconds: float = Field(default=1.0, gt=0, le=60)
    run_retry_backoff_max_seconds: float = Field(default=30.0, gt=0, le=600)

    # -- privacy (docs/privacy.md) ---------------------------------------------------------------
    # The key of the erasure ledger's keyed hash (HMAC-SHA256 of the employee id). Unset, a
    # development pepper applies in development and test only; production needs >= 32 bytes, not a
    # placeholder. Changing it makes the ledger unable to recognise earlier erasures.
    privacy_pepper: SecretStr | None = None
    # Retention (days) by kind of data, applied by the retention job (0 = for ever is not allowed).
    retention_audit_days: RetentionDays = 730  # HR interventions (audit_log rows)
    retention_withdrawn_days: RetentionDays = 365  # withdrawn participants, then anonymised
    retention_import_reports_days: RetentionDays = 90  # import reports and errors (they name people)
    retention_exports_days: RetentionDays = 30  # assembled data exports (Art. 15/20)
    # How often the single-instance retention job runs (0 disables it); rows per batch.
    retention_interval_seconds: float = Field(default=86400.0, ge=0)
    retention_batch_size: int = Field(default=1000, ge=1, le=100_000)

    @model_validator(mode="after")
    def _privacy_pepper(self) -> "MatchingSettings":
        if self.privacy_pepper is not None and not self.privacy_pepper.get_secret_value():
            raise ValueError("privacy_pepper is empty: unset it or give a real secret")
        if self.environment == "production":
            if self.privacy_pepper is None:
                raise ValueError("production needs privacy_pepper (at least 32 bytes, not a placeholder)")
            problem = weak_secret(self.privacy_pepper.get_secret_value())
            if problem:
                raise ValueError(f"privacy_pepper is refused in production: {problem}")
        elif self.privacy_pepper is None:
            self.privacy_pepper = SecretStr(DEV_PRIVACY_PEPPER)  # development and test only
        return self

    def pepper(self) -> bytes:
        """The ledger key (set in every environment once validated)."""
        if self.privacy_pepper is None:
            raise RuntimeError("privacy_pepper is not set")
        return self.privacy_pepper.get_secret_value().encode()
