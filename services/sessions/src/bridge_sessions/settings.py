"""Sessions settings; every field can be set as BRIDGE_SESSIONS_<FIELD>."""

from pydantic_settings import SettingsConfigDict

from bridge_shared.settings import ServiceSettings


class SessionsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGE_SESSIONS_", extra="ignore")

    service_name: str = "sessions"
    http_port: int = 8002
    db_schema: str = "sessions"
    database_url: str = "postgresql://bridge_sessions:bridge_sessions@127.0.0.1:5432/bridge"
    health_check_interval_seconds: float = 300.0
