"""Matching settings; every field can be set as BRIDGE_MATCHING_<FIELD>."""

from pathlib import Path
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

    # -- scheduled HRIS delta files (README "Scheduled HRIS delta files") -------------------------
    # The folder the single-instance sync polls for delta files (None: the sync is off). Files whose
    # name matches the pattern (case-insensitive; names starting with "." are never taken) and that
    # were not modified for hris_stable_seconds are applied to the company directory once each.
    hris_inbox_dir: Path | None = None
    # How often it polls (0: never on its own; jobs.hris_poll_once still polls, as tests do).
    hris_poll_seconds: float = Field(default=300.0, ge=0)
    hris_file_pattern: str = Field(default="*.csv", min_length=1, max_length=100)
    hris_stable_seconds: float = Field(default=60.0, ge=0)
    # A larger file is recorded as failed, none of its rows applied.
    hris_max_bytes: int = Field(default=32 * 1024 * 1024, ge=1)
    # Files taken per poll (the next poll follows at once while there are more).
    hris_files_per_poll: int = Field(default=20, ge=1, le=1000)
    # A file's valid rows are written this many to a transaction (each row a savepoint: PostgreSQL
    # caches 64 subtransactions a transaction).
    hris_batch_rows: int = Field(default=50, ge=1, le=1000)
    # After its row is recorded a file moves to processed/ (or failed/) under the inbox; false leaves
    # it in place (read and hashed again at every poll, never applied again).
    hris_move_processed: bool = True

    # -- the company directory (README "Company directory") ----------------------------------------
    # How often the single-instance pass makes people whose termination date has come leave without
    # any new write (0 disables it); people per batch (another batch follows at once while one is full).
    directory_leavers_interval_seconds: float = Field(default=3600.0, ge=0)
    directory_leavers_batch_size: int = Field(default=200, ge=1, le=10_000)

    # -- privacy of the company directory (docs/privacy.md, applied by the retention job) ---------
    # A leaver's entry (deactivated or past their termination date) is purged this long after they
    # left: long enough to take back a deactivation by mistake or an early rehire as the same entry
    # (the identity provider keeps its id) and to answer HR about recent leavers; beyond it the HRIS
    # is the record of who worked here, and their enrolments follow retention_withdrawn_days.
    retention_directory_leavers_days: RetentionDays = 90
    # An entry deleted by the identity provider (SCIM DELETE) is gone for every read at once; its row
    # is purged by the first retention run this many days after (0: the next run). Nothing can bring
    # it back: provisioning the person again makes a new entry.
    retention_directory_deleted_days: int = Field(default=0, ge=0, le=3650)
    # HRIS delivery reports lose their rejected rows (they name people), progress and failure
    # reason after this; the delivery stays (a file is applied once). As HR's import reports.
    retention_hris_reports_days: RetentionDays = 90

    # -- SCIM 2.0 provisioning (README "SCIM 2.0 provisioning") -----------------------------------
    # The identity provider's own credential for /scim/v2 (Authorization: Bearer <token>), compared in
    # constant time; never a person's token. Unset: SCIM is off and /scim/v2 answers 404 saying so.
    # Production needs >= 32 bytes, not a placeholder.
    scim_bearer_token: SecretStr | None = None
    # Largest SCIM request body (a User is a few KB); a larger one is refused with a SCIM 413. The
    # request guard's http_max_body_bytes applies first (its 413 is problem+json).
    scim_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # The most users one page of GET /scim/v2/Users returns (ServiceProviderConfig filter.maxResults).
    scim_max_results: int = Field(default=100, ge=1, le=1000)

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

    @model_validator(mode="after")
    def _scim(self) -> "MatchingSettings":
        if self.scim_bearer_token is not None:
            token = self.scim_bearer_token.get_secret_value()
            if not token:
                raise ValueError("scim_bearer_token is empty: unset it (SCIM off) or give a real secret")
            if self.environment == "production":
                problem = weak_secret(token)
                if problem:
                    raise ValueError(f"scim_bearer_token is refused in production: {problem}")
        return self
