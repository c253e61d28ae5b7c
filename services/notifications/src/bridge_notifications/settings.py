"""Notifications settings; every field can be set as BRIDGE_NOTIFICATIONS_<FIELD>."""

import hashlib
import hmac
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from bridge_shared.settings import ServiceSettings

ChannelName = Literal["email", "chat", "inbox"]


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BRIDGE_NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    http_port: int = 8003
    db_schema: str = "notifications"
    database_url: str = "postgresql://bridge_notifications:bridge_notifications@127.0.0.1:5432/bridge"

    # -- email (SMTP) ---------------------------------------------------------------------------
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 10.0
    # PEM bundle of CA certificates to verify the server's certificate against (STARTTLS / TLS);
    # None = the system trust store. Verification is never turned off.
    smtp_ca_file: str | None = None
    # Connection reuse: at most this many SMTP connections open per dispatcher (= concurrent sends);
    # an idle connection older than smtp_idle_seconds is replaced, and one is closed after carrying
    # smtp_max_messages_per_connection messages (0 = no limit).
    smtp_pool_size: int = 10
    smtp_idle_seconds: float = 30.0
    smtp_max_messages_per_connection: int = 100
    mail_from: str = "Bridge Mentoring <no-reply@bridge.example>"

    # -- chat (Slack / Teams incoming webhooks) -------------------------------------------------
    chat_timeout_seconds: float = 10.0
    # Hosts (shell patterns) a webhook URL may point at: Slack and Microsoft Teams / Power Automate.
    chat_webhook_allowed_hosts: list[str] = [
        "hooks.slack.com",
        "*.webhook.office.com",
        "*.logic.azure.com",
        "*.environment.api.powerplatform.com",
    ]
    chat_webhook_require_https: bool = True

    # -- links in messages ----------------------------------------------------------------------
    app_base_url: str = "http://127.0.0.1:8080"
    # Where a participant's e-mail footer sends them to change their notification preferences
    # (<preferences_base_url>/<recipient id>); None = the web app's page, app_base_url + "/preferences".
    preferences_base_url: str | None = None
    # One-click unsubscribe (RFC 8058): every participant e-mail carries List-Unsubscribe pointing at
    # <unsubscribe_base_url>/<token>; the token is signed with unsubscribe_secret (>= 32 bytes), or,
    # unset, with a key derived from jwt_secret. With neither, e-mails go out without the header.
    unsubscribe_base_url: str = "http://127.0.0.1:8003/unsubscribe"
    unsubscribe_secret: SecretStr | None = Field(default=None, min_length=32)

    # -- routing defaults (HR overrides per cohort, participants per person) ---------------------
    default_channels: list[ChannelName] = ["email", "inbox"]
    reminder_hours_before: float = 24.0
    # The partner is reminded once of an agreement draft still awaiting their confirmation this long
    # after it was drafted (cancelled when it is confirmed or drafted again).
    agreement_reminder_days: float = Field(default=3.0, gt=0, le=60)
    # HR hears when a participant has declined this many proposals in a cohort (once, at that count).
    repeated_decline_threshold: int = Field(default=3, ge=2, le=100)
    escalate_after_days: int = 7
    # A circle's facilitator is prompted to prepare the session's activity this long before it starts
    # (at once when the session is closer than that); withdrawn when the session moves or is cancelled.
    activity_prompt_hours_before: float = Field(default=48.0, gt=0, le=24 * 14)
    digest_local_hour: int = 8
    weekly_digest_weekday: int = 0  # Monday
    weekly_digest_local_hour: int = 8
    hr_default_timezone: str = "UTC"
    hr_default_locale: str = "en"

    # -- dispatcher -----------------------------------------------------------------------------
    dispatch_batch_size: int = 50
    dispatch_poll_seconds: float = 2.0
    dispatch_max_attempts: int = 8
    dispatch_lease_seconds: float = 60.0
    retry_base_seconds: float = 5.0
    retry_cap_seconds: float = 3600.0
    # Token buckets, per channel and PER INSTANCE: N instances may send N x this rate in total.
    email_rate_per_second: float = 50.0
    email_burst: int = 50
    chat_rate_per_second: float = 5.0
    chat_burst: int = 10
    jobs_poll_seconds: float = 60.0

    # -- retention (docs/privacy.md; applied by jobs/retention.py, one bounded batch per kind a run) --
    # Email/chat deliveries that are done (sent, failed, cancelled, digested) are deleted this many
    # days after they were last updated (the delivery log), inbox items this many days after they
    # were read, and unread ones this many days after they became visible.
    retention_delivery_log_days: int = Field(default=180, ge=1, le=3650)
    retention_read_inbox_days: int = Field(default=365, ge=1, le=3650)
    retention_unread_inbox_days: int = Field(default=730, ge=1, le=3650)
    retention_batch_size: int = Field(default=1000, ge=1, le=100_000)
    retention_interval_seconds: float = Field(default=86400.0, gt=0)  # daily; repeats at once while behind

    def preferences_url(self, recipient_id: str) -> str:
        """The link to a participant's notification preferences (see `preferences_base_url`)."""
        base = self.preferences_base_url or f"{self.app_base_url.rstrip('/')}/preferences"
        return f"{base.rstrip('/')}/{recipient_id}"

    def unsubscribe_key(self) -> bytes | None:
        """The key unsubscribe tokens are signed with (see `unsubscribe_secret`)."""
        if self.unsubscribe_secret is not None:
            return self.unsubscribe_secret.get_secret_value().encode()
        if self.jwt_secret is not None:
            base = self.jwt_secret.get_secret_value().encode()
            return hmac.new(base, b"bridge-notifications-unsubscribe-v1", hashlib.sha256).digest()
        return None
