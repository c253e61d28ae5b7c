"""Email over SMTP (aiosmtplib), with optional STARTTLS/TLS and authentication."""

from __future__ import annotations

import base64
import hashlib
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from bridge_notifications.channels.errors import PermanentDeliveryError, TransientDeliveryError
from bridge_notifications.settings import NotificationsSettings


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    attachments: list[dict[str, Any]],
    dedup_key: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    # Derived from the dedup key: should a send be repeated after a crash between the SMTP reply and
    # recording it, receiving systems see the same Message-ID and can drop the copy.
    msg["Message-ID"] = f"<{hashlib.sha256(dedup_key.encode()).hexdigest()[:40]}@bridge.example>"
    # Lets mail tooling (and tests) tie a message to its delivery row.
    msg["X-Bridge-Dedup-Key"] = dedup_key
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for att in attachments:
        maintype, subtype = att["content_type"].split("/", 1)
        params = {"method": att["method"]} if att.get("method") else None
        msg.add_attachment(
            base64.b64decode(att["content_b64"]),
            maintype=maintype,
            subtype=subtype,
            filename=att["filename"],
            params=params,
        )
    return msg


class EmailChannel:
    def __init__(self, settings: NotificationsSettings) -> None:
        self.s = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.s
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                start_tls=s.smtp_starttls,
                use_tls=s.smtp_use_tls,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [err.code for err in exc.recipients]
            if all(500 <= c < 600 for c in codes):
                raise PermanentDeliveryError(
                    f"recipient refused: SMTP {exc.recipients[0].code} {exc.recipients[0].message}"
                ) from exc
            raise TransientDeliveryError(str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentDeliveryError(f"SMTP {exc.code}: {exc.message}") from exc
            raise TransientDeliveryError(f"SMTP {exc.code}: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc
