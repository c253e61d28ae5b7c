"""Reporting settings; every field can be set as BRIDGE_REPORTING_<FIELD>."""

from pydantic_settings import SettingsConfigDict

from bridge_shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGE_REPORTING_", extra="ignore")

    service_name: str = "reporting"
    http_port: int = 8004
    db_schema: str = "reporting"
    database_url: str = "postgresql://bridge_reporting:bridge_reporting@127.0.0.1:5432/bridge"
