"""Matching settings; every field can be set as BRIDGE_MATCHING_<FIELD>."""

from pydantic_settings import SettingsConfigDict

from bridge_shared.settings import ServiceSettings


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
