"""Sessions settings; every field can be set as BRIDGE_SESSIONS_<FIELD>."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bridge_shared.settings import ServiceSettings


class SessionsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGE_SESSIONS_", extra="ignore")

    service_name: str = "sessions"
    http_port: int = 8002
    db_schema: str = "sessions"
    database_url: str = "postgresql://bridge_sessions:bridge_sessions@127.0.0.1:5432/bridge"

    # Relationship health scheduler
    health_check_enabled: bool = True
    health_check_interval_seconds: float = 300.0
    default_inactivity_threshold_days: int = Field(
        21, ge=1, description="used when the cohort's cohort.created has not been seen"
    )
    cadence_slack_sessions: int = Field(
        1, ge=0, description="cadence_slipping when more than this many sessions behind the agreement"
    )
    balance_window_sessions: int = Field(6, ge=1, description="balance index over the last N held sessions")
    balance_min_sessions: int = Field(3, ge=1, description="judge balance only after this many held")
    balance_threshold: float = Field(0.3, ge=0, le=1, description="one_directional below this index")
    ending_soon_days: int = Field(14, ge=1, description="relationship.ending_soon this many days before")
    closing_survey_days: int = Field(14, ge=1, description="closing survey due this long after closure")

    # Calendar invites
    invite_organizer_email: str = "sessions@bridge.example"
    invite_uid_domain: str = "bridge.example"
