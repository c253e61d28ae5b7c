"""Matching settings; every field can be set as BRIDGE_MATCHING_<FIELD>."""

from pydantic_settings import SettingsConfigDict

from bridge_shared.settings import ServiceSettings


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
