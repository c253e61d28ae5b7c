"""Matching settings; every field can be set as BRIDGE_MATCHING_<FIELD>."""

from pydantic_settings import SettingsConfigDict

from bridge_shared.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGE_MATCHING_", extra="ignore")

    service_name: str = "matching"
    http_port: int = 8001
    db_schema: str = "matching"
    database_url: str = "postgresql://bridge_matching:bridge_matching@127.0.0.1:5432/bridge"
    proposal_ttl_hours: int = 168
