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
    # pair.formed comes in bursts (HR publishes a draft of thousands of pairs at once): larger batches
    # than the shared 500 spread each transaction's and offset commit's cost over more events.
    consumer_batch_max_records: int = Field(2000, ge=1, le=20_000)

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
    midpoint_survey_days: int = Field(
        14, ge=1, description="mid-point survey due this long after it opens (at the latest the end date)"
    )

    # Circle health (the circle health job runs with the relationship health job's switch and interval;
    # inactivity uses the cohort's inactivity threshold, else default_inactivity_threshold_days)
    circle_attendance_window_sessions: int = Field(
        2, ge=1, le=50, description="falling_attendance judged over the last N held circle sessions"
    )
    circle_attendance_threshold: float = Field(
        0.6, ge=0, le=1, description="falling_attendance when the attendance rate is below this"
    )
    circle_dominance_window_sessions: int = Field(
        4, ge=1, le=50, description="dominant_voice judged over the last N held circle sessions"
    )
    circle_dominance_min_contributions: int = Field(
        6, ge=1, description="judge dominant_voice only from this many ideas and topics taught"
    )
    circle_dominance_threshold: float = Field(
        0.5, gt=0, le=1, description="dominant_voice when one member brings more than this share"
    )
    circle_escalate_after_days: int = Field(
        7,
        ge=1,
        le=90,
        description="circle.at_risk escalate_at: the facilitator first, HR this many days later",
    )

    # Calendar invites
    invite_organizer_email: str = "sessions@bridge.example"
    invite_uid_domain: str = "bridge.example"

    # Retention (docs/privacy.md): how long each kind of personal data is kept; 1..3650 days
    retention_enabled: bool = True
    retention_interval_seconds: float = Field(86400.0, gt=0, description="between retention runs (daily)")
    retention_batch_size: int = Field(
        500, ge=1, le=10_000, description="rows of each kind per run (a full batch runs again at once)"
    )
    retention_private_notes_days: int = Field(
        365, ge=1, le=3650, description="private notes are deleted this long after the relationship closed"
    )
    retention_shared_notes_days: int = Field(
        730,
        ge=1,
        le=3650,
        description="shared notes and action items are removed this long after the relationship closed",
    )
    retention_feedback_text_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="feedback free text is removed this long after submission (ratings stay)",
    )
    retention_closed_relationships_days: int = Field(
        1095,
        ge=1,
        le=3650,
        description="a closed relationship is anonymised (both people) this long after it closed",
    )
