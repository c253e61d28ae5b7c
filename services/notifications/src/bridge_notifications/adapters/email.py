"""Email over SMTP (aiosmtplib) on reused connections, with optional STARTTLS/TLS and authentication."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
import time
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import aiosmtplib

from bridge_notifications.adapters.errors import PermanentDeliveryError, TransientDeliveryError
from bridge_notifications.settings import NotificationsSettings


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    attachments: list[dict[str, Any]],  # Any: stored jsonb (filename, content_type, method, content_b64)
    dedup_key: str,
    date: datetime,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """An RFC 5322 message: Date (when it is handed to SMTP), a Message-ID stable per delivery, and
    with ``unsubscribe_url`` the RFC 2369 / RFC 8058 one-click unsubscribe headers."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    # Derived from the dedup key: should a send be repeated after a crash between the SMTP reply and
    # recording it, receiving systems see the same Message-ID and can drop the copy.
    msg["Message-ID"] = f"<{hashlib.sha256(dedup_key.encode()).hexdigest()[:40]}@{_domain_of(sender)}>"
    if unsubscribe_url is not None:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
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


def _domain_of(sender: str) -> str:
    """The sender address's domain (Message-IDs are made unique within it)."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


class _Conn:
    """One open SMTP client and how long it has been idle / how many messages it carried."""

    __slots__ = ("client", "idle_since", "sent")

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client
        self.idle_since = time.monotonic()
        self.sent = 0


class EmailChannel:
    """Sends over a small pool of reused SMTP connections (at most `smtp_pool_size` open, one per
    concurrent sender). A connection that failed in any way is closed, never reused; an idle one older
    than `smtp_idle_seconds`, or one that has carried `smtp_max_messages_per_connection`, is replaced.
    A reused connection the server has dropped meanwhile is retried once on a fresh one (nothing was
    accepted on it). TLS certificates are always verified: against `smtp_ca_file` if set, else the
    system store.
    """

    def __init__(self, settings: NotificationsSettings) -> None:
        self.s = settings
        self._idle: list[_Conn] = []
        self._slots = asyncio.Semaphore(max(1, settings.smtp_pool_size))
        self._tls_context: ssl.SSLContext | None = None
        self.connections_opened = 0  # for tests and the benchmark
        self._closed = False

    def _tls(self) -> ssl.SSLContext | None:
        s = self.s
        if not (s.smtp_starttls or s.smtp_use_tls):
            return None
        if self._tls_context is None:
            # create_default_context: CERT_REQUIRED + hostname checking. Never weakened here.
            self._tls_context = ssl.create_default_context(cafile=s.smtp_ca_file)
        return self._tls_context

    async def _connect(self) -> _Conn:
        s = self.s
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_use_tls,
            start_tls=s.smtp_starttls,
            tls_context=self._tls(),
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            timeout=s.smtp_timeout_seconds,
        )
        await client.connect()  # EHLO, STARTTLS and AUTH as configured
        self.connections_opened += 1
        return _Conn(client)

    def _take_idle(self) -> _Conn | None:
        now = time.monotonic()
        while self._idle:
            c = self._idle.pop()  # most recently used first: least likely to have timed out
            if c.client.is_connected and now - c.idle_since < self.s.smtp_idle_seconds:
                return c
            _close_quietly(c)
        return None

    def _release(self, c: _Conn) -> None:
        c.sent += 1
        limit = self.s.smtp_max_messages_per_connection
        if self._closed or not c.client.is_connected or (limit and c.sent >= limit):
            _close_quietly(c)
            return
        c.idle_since = time.monotonic()
        self._idle.append(c)

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for c in idle:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(c.client.quit(), timeout=1.0)
            c.client.close()

    async def send(self, message: EmailMessage) -> None:
        async with self._slots:
            try:
                await self._send(message)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                codes = [err.code for err in exc.recipients]
                if all(500 <= c < 600 for c in codes):
                    raise PermanentDeliveryError(
                        f"recipient refused: SMTP {exc.recipients[0].code} {exc.recipients[0].message}"
                    ) from exc
                raise TransientDeliveryError(str(exc)) from exc
            except aiosmtplib.SMTPResponseException as exc:
                what = "SMTP authentication failed" if exc.code == 535 else "SMTP"
                if 500 <= exc.code < 600:
                    raise PermanentDeliveryError(f"{what} {exc.code}: {exc.message}") from exc
                raise TransientDeliveryError(f"{what} {exc.code}: {exc.message}") from exc
            except aiosmtplib.SMTPException as exc:
                reason = _configuration_problem(exc)
                if reason:  # retrying cannot help until the settings change
                    raise PermanentDeliveryError(reason) from exc
                raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc
            except (OSError, TimeoutError) as exc:
                raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc

    async def _send(self, message: EmailMessage) -> None:
        c = self._take_idle()
        if c is not None:
            try:
                await c.client.send_message(message)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                # The server closed the idle connection (timeout, restart) before taking anything:
                # one more go on a fresh connection, whose errors are reported as usual.
                _close_quietly(c)
            except BaseException:
                _close_quietly(c)
                raise
            else:
                self._release(c)
                return
        c = await self._connect()
        try:
            await c.client.send_message(message)
        except BaseException:
            _close_quietly(c)
            raise
        self._release(c)


def _close_quietly(c: _Conn) -> None:
    # close() drops the transport at once: after a failure the connection's state is unknown, so it is
    # never reused; and send does not wait on a polite QUIT.
    c.client.close()


def _configuration_problem(exc: aiosmtplib.SMTPException) -> str | None:
    text = str(exc)
    if "AUTH extension is not supported" in text:
        return (
            "SMTP server offers no AUTH on this connection (it may only allow it after TLS: set "
            f"smtp_starttls or smtp_use_tls): {text}"
        )
    if "STARTTLS extension not supported" in text:
        return f"smtp_starttls is set but the SMTP server does not offer STARTTLS: {text}"
    if "No suitable authentication method" in text:
        return f"SMTP server offers no authentication method this client supports: {text}"
    return None
