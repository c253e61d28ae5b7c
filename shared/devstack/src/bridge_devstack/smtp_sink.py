"""A local SMTP sink: accepts all mail, keeps it in a Maildir, and shows it over HTTP.

`python -m bridge_devstack.smtp_sink --smtp-port 1025 --http-port 8025 --maildir .run/mail`
Optional: `--tls-cert server.pem --tls-key server.key` offers STARTTLS; `--auth USER:PASSWORD` then
requires STARTTLS and AUTH before mail is accepted (to exercise TLS/AUTH clients and measure them).
GET /            a page listing received mail (newest first)
GET /messages    the same as JSON (to, from, subject, text and html parts), for tests
DELETE /messages empties the mailbox
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import html
import mailbox
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from fastapi import FastAPI
from fastapi.responses import HTMLResponse


class MaildirHandler:
    def __init__(self, box: mailbox.Maildir, reject: set[str]) -> None:
        self.box = box
        self.reject = reject

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in self.reject or address.lower().endswith("@invalid.example"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        msg["X-Sink-Received"] = datetime.now(UTC).isoformat()
        msg["X-Sink-Rcpt"] = ", ".join(envelope.rcpt_tos)
        self.box.add(mailbox.MaildirMessage(msg.as_bytes()))
        return "250 Message accepted for delivery"


def _summaries(box: mailbox.Maildir) -> list[dict[str, Any]]:
    out = []
    for key, m in box.items():
        msg = email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
        text = msg.get_body(("plain",))
        htm = msg.get_body(("html",))
        attachments = [
            {"filename": part.get_filename(), "content_type": part.get_content_type()}
            for part in msg.iter_attachments()
        ]
        out.append(
            {
                "id": key,
                "received": msg.get("X-Sink-Received", ""),
                "from": msg.get("From", ""),
                "to": msg.get("X-Sink-Rcpt") or msg.get("To", ""),
                "subject": msg.get("Subject", ""),
                "text": text.get_content() if text else None,
                "html": htm.get_content() if htm else None,
                "attachments": attachments,
                "headers": {k: str(v) for k, v in msg.items()},
            }
        )
    out.sort(key=lambda m: str(m["received"]), reverse=True)
    return out


def create_web_app(box: mailbox.Maildir) -> FastAPI:
    app = FastAPI(title="Bridge SMTP sink", docs_url=None, redoc_url=None)

    @app.get("/messages")
    async def messages() -> list[dict[str, Any]]:
        return _summaries(box)

    @app.delete("/messages")
    async def clear() -> dict[str, int]:
        n = len(box)
        box.clear()
        return {"deleted": n}

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        rows = "".join(
            f"<details><summary><b>{html.escape(m['subject'])}</b> &mdash; to {html.escape(m['to'])}"
            f" <small>{html.escape(m['received'])}</small></summary>"
            f"<pre>{html.escape(m['text'] or '')}</pre></details>"
            for m in _summaries(box)
        )
        return (
            "<!doctype html><meta charset=utf-8><title>Bridge mail sink</title>"
            "<style>body{font-family:system-ui;margin:2rem}details{margin:.5rem 0}</style>"
            f"<h1>Mail received ({len(box)})</h1>{rows or '<p>No mail yet.</p>'}"
        )

    return app


def password_authenticator(username: str, password: str) -> Any:
    """An aiosmtpd authenticator accepting exactly this username and password."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == username.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    return authenticate


async def serve(
    smtp_port: int,
    http_port: int,
    maildir: Path,
    reject: set[str],
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    auth: tuple[str, str] | None = None,
) -> None:
    maildir.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(maildir, create=True)
    tls: dict[str, Any] = {}
    if tls_cert is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(tls_cert, tls_key)
        tls = {"tls_context": ctx}
        if auth is not None:
            tls |= {
                "require_starttls": True,
                "auth_required": True,
                "auth_require_tls": True,
                "authenticator": password_authenticator(*auth),
            }
    elif auth is not None:
        raise SystemExit("--auth needs --tls-cert/--tls-key (AUTH is only offered over TLS)")
    controller = Controller(MaildirHandler(box, reject), hostname="127.0.0.1", port=smtp_port, **tls)
    controller.start()
    try:
        config = uvicorn.Config(create_web_app(box), host="127.0.0.1", port=http_port, log_level="warning")
        await uvicorn.Server(config).serve()
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, default=Path(".run/mail"))
    parser.add_argument("--reject", default="", help="comma-separated addresses to refuse with 550")
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate (chain): offer STARTTLS")
    parser.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    parser.add_argument("--auth", help="USER:PASSWORD: require STARTTLS and AUTH (needs --tls-cert)")
    args = parser.parse_args()
    reject = {a.strip().lower() for a in args.reject.split(",") if a.strip()}
    auth: tuple[str, str] | None = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        auth = (user, password)
    asyncio.run(
        serve(
            args.smtp_port,
            args.http_port,
            args.maildir,
            reject,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            auth=auth,
        )
    )


if __name__ == "__main__":
    main()
