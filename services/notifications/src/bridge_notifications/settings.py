"""Notifications settings; every field can be set as BRIDGE_NOTIFICATIONS_<FIELD>."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bridge_shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGE_NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    http_port: int = 8003
    db_schema: str = "notifications"
    database_url: str = "postgresql://bridge_notifications:bridge_notifications@127.0.0.1:5432/bridge"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "Bridge Mentoring <no-reply@bridge.example>"
    preferences_base_url: str = "http://127.0.0.1:8003/preferences"

    dispatch_batch_size: int = 50
    dispatch_poll_seconds: float = 2.0
    dispatch_max_attempts: int = 8
    dispatch_lease_seconds: float = 60.0
