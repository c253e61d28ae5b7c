"""Reporting settings; every field can be set as BRIDGE_REPORTING_<FIELD>."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bridge_shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGE_REPORTING_", extra="ignore")

    service_name: str = "reporting"
    http_port: int = 8004
    db_schema: str = "reporting"
    database_url: str = "postgresql://bridge_reporting:bridge_reporting@127.0.0.1:5432/bridge"
    # Read models see bursts (a draft of 50k pairs, a replay): larger batches than the shared 500
    # spread each transaction's and offset commit's fixed cost over more events (bench/reporting).
    consumer_batch_max_records: int = Field(2000, ge=1, le=20_000)

    # Retention (app/retention.py, README "Retention").
    retention_timeline_days: int = Field(
        730, ge=1, le=3650, description="timeline entries and risk-signal texts older than this are removed"
    )
    retention_closed_programme_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="this long after a programme ends (or closes), its people's employee ids and names are "
        "anonymised and its timeline deleted (figures unchanged)",
    )
    retention_interval_seconds: float = Field(3600.0, gt=0, le=86400, description="how often the job runs")
    retention_batch_size: int = Field(5000, ge=100, le=100_000, description="rows per kind per pass")
