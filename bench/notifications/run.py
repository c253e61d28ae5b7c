"""Notifications delivered per second, through the real dispatcher (lease -> send -> record + outbox
event), to a local SMTP sink and a local webhook server, beside raw SMTP send rates (aiosmtplib
straight to the same sink) measured in the same run: one connection per message (50 at a time), and
SMTP_POOL reused connections (the same number the dispatcher's pool may open) -- the fair baseline.

    .tools/bin/uv run python bench/notifications/run.py [--n 300] [--rounds 5]

Uses DATABASE_URL if set, else starts the embedded PostgreSQL (and broker) from bridge_devstack.
The SMTP sink (aiosmtpd + Maildir) and the webhook server run as subprocesses so they do not share
this process's event loop. Rate limits are off; batch size = concurrency = 50 for both paths.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from pydantic import SecretStr

from bridge_devstack.infra import start_infra
from bridge_devstack.ports import free_port, wait_for_port
from bridge_notifications.app.dispatch import Dispatcher
from bridge_notifications.db import deliveries
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.db.migrations import migrate
from bridge_shared.db.pool import create_pool
from bridge_shared.db.provision import provision
from bridge_shared.outbox.writer import Outbox
from bridge_shared.scheduling.clock import SystemClock

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for tests.notifications.certs
from tests.notifications.certs import make_ca_and_server_cert

WEBHOOK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""
CONCURRENCY = 50
SMTP_POOL = 10  # the dispatcher's smtp_pool_size (its default) and the raw baseline's connections
RAW = f"raw SMTP, {SMTP_POOL} reused conns"
RAW_TLS = f"raw TLS+AUTH, {SMTP_POOL} reused"


def _msg(i: int) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "bench@bridge.example", f"raw{i}@bridge.example", f"raw {i}"
    m.set_content("Hello\n" * 20)
    m.add_alternative("<p>Hello</p>" * 20, subtype="html")
    return m


async def raw_smtp(port: int, n: int, **tls: Any) -> float:
    """One new connection per message, CONCURRENCY at a time (aiosmtplib.send)."""
    t0 = time.perf_counter()
    for start in range(0, n, CONCURRENCY):
        await asyncio.gather(
            *(
                aiosmtplib.send(_msg(i), hostname="127.0.0.1", port=port, **tls)
                for i in range(start, min(n, start + CONCURRENCY))
            )
        )
    return n / (time.perf_counter() - t0)


async def raw_smtp_reused(port: int, n: int, **tls: Any) -> float:
    """SMTP_POOL connections, each sending its share of the messages one after another."""

    async def sender(k: int) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, **tls) as client:
            for i in range(k, n, SMTP_POOL):
                await client.send_message(_msg(i))

    t0 = time.perf_counter()
    await asyncio.gather(*(sender(k) for k in range(SMTP_POOL)))
    return n / (time.perf_counter() - t0)


async def through_service(pool: object, dispatcher: Dispatcher, channel: str, n: int, address: str) -> float:
    now = datetime.now(UTC)
    tag = uuid.uuid4().hex[:8]
    async with pool.acquire() as conn:  # type: ignore[attr-defined]
        for i in range(n):
            await deliveries.create(
                conn,
                now=now,
                source_event_id=f"{tag}-{i}",
                recipient_id=f"r{i}",
                cohort_id="bench",
                channel=channel,
                kind="pair_formed",
                to_address=address.format(i=i),
                subject=f"bench {i}",
                body_text="Hello\n" * 20,
                body_html="<p>Hello</p>" * 20 if channel == "email" else None,
                chat_format="slack",
            )
    t0 = time.perf_counter()
    while True:
        await dispatcher.drain(max_rounds=10_000)
        async with pool.acquire() as conn:  # type: ignore[attr-defined]
            st = dict(
                await conn.fetch(
                    "SELECT status, count(*) FROM deliveries WHERE source_event_id LIKE $1 GROUP BY status",
                    f"{tag}-%",
                )
            )
        if st.get("sent", 0) + st.get("failed", 0) == n:
            break
        await asyncio.sleep(0.05)  # transient failures were rescheduled with backoff
    elapsed = time.perf_counter() - t0
    assert st.get("sent") == n, st
    return n / elapsed


def spawn(cmd: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sink(smtp_port: int, maildir: Path, *extra: str) -> subprocess.Popen[bytes]:
    return spawn(
        [
            sys.executable,
            "-m",
            "bridge_devstack.smtp_sink",
            "--smtp-port",
            str(smtp_port),
            "--http-port",
            str(free_port()),
            "--maildir",
            str(maildir),
            *extra,
        ]
    )


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-notifications-"))
    ca_file, cert_file, key_file = make_ca_and_server_cert(work)
    infra = start_infra(work, fast=True, kafka_quick_start=False)
    smtp_port, tls_port, hook_port = free_port(), free_port(), free_port()
    user, password = "bench", secrets.token_hex(8)
    procs = [
        sink(smtp_port, work / "maildir"),
        sink(
            tls_port,
            work / "maildir-tls",
            "--tls-cert",
            str(cert_file),
            "--tls-key",
            str(key_file),
            "--auth",
            f"{user}:{password}",
        ),
        spawn([sys.executable, "-c", WEBHOOK, str(hook_port)]),
    ]
    try:
        for port in (smtp_port, tls_port, hook_port):
            wait_for_port(port)
        name = f"notifications_bench_{uuid.uuid4().hex[:6]}"
        dsn = await provision(infra.admin_dsn, name, secrets.token_hex(8))
        base = NotificationsSettings(
            service_name=name,
            db_schema=name,
            database_url=dsn,
            smtp_port=smtp_port,
            environment="test",
            email_rate_per_second=0,
            chat_rate_per_second=0,
            dispatch_batch_size=CONCURRENCY,
            smtp_pool_size=SMTP_POOL,
            retry_base_seconds=0.2,
            chat_webhook_allowed_hosts=["127.0.0.1"],
            chat_webhook_require_https=False,
        )
        tls_settings = {
            "smtp_port": tls_port,
            "smtp_starttls": True,
            "smtp_ca_file": str(ca_file),
            "smtp_username": user,
            "smtp_password": SecretStr(password),
        }
        # "Before" in the same run: one connection per message (closed after it), up to CONCURRENCY at once.
        per_msg = {"smtp_max_messages_per_connection": 1, "smtp_pool_size": CONCURRENCY}
        pool = await create_pool(dsn, schema=name, min_size=4, max_size=CONCURRENCY + 5)
        async with pool.acquire() as conn:
            await migrate(conn, name, "bridge_notifications.db.migrations")
        outbox = Outbox(schema=name, source="/bench")
        dispatchers = {
            key: Dispatcher(pool, outbox, base.model_copy(update=upd), SystemClock())
            for key, upd in {
                "plain": {},
                "plain per msg": per_msg,
                "tls": tls_settings,
                "tls per msg": tls_settings | per_msg,
            }.items()
        }
        raw_tls = {
            "start_tls": True,
            "tls_context": ssl.create_default_context(cafile=str(ca_file)),
            "username": user,
            "password": password,
        }
        email = "u{i}@bridge.example"
        hook = f"http://127.0.0.1:{hook_port}/hook/{{i}}"
        n = args.n
        # path -> (baseline path, how to measure it)
        paths: dict[str, tuple[str, Callable[[], Awaitable[float]]]] = {
            "raw SMTP, conn per msg": (RAW, lambda: raw_smtp(smtp_port, n)),
            RAW: (RAW, lambda: raw_smtp_reused(smtp_port, n)),
            "service email, pooled": (
                RAW,
                lambda: through_service(pool, dispatchers["plain"], "email", n, email),
            ),
            "service email, conn per msg": (
                RAW,
                lambda: through_service(pool, dispatchers["plain per msg"], "email", n, email),
            ),
            "raw TLS+AUTH, conn per msg": (RAW_TLS, lambda: raw_smtp(tls_port, n, **raw_tls)),
            RAW_TLS: (RAW_TLS, lambda: raw_smtp_reused(tls_port, n, **raw_tls)),
            "service TLS+AUTH, pooled": (
                RAW_TLS,
                lambda: through_service(pool, dispatchers["tls"], "email", n, email),
            ),
            "service TLS+AUTH, per msg": (
                RAW_TLS,
                lambda: through_service(pool, dispatchers["tls per msg"], "email", n, email),
            ),
            "service chat (webhook)": (
                RAW,
                lambda: through_service(pool, dispatchers["plain"], "chat", n, hook),
            ),
        }
        results: dict[str, list[float]] = {p: [] for p in paths}
        await raw_smtp(smtp_port, 50)  # warm-up
        await raw_smtp_reused(tls_port, 50, **raw_tls)
        for r in range(args.rounds):
            for path, (_, measure) in paths.items():
                results[path].append(await measure())
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        opened = {k: d.email.connections_opened for k, d in dispatchers.items()}
        for d in dispatchers.values():
            await d.aclose()
        await pool.close()
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        infra.stop()
    print(f"\nnotifications benchmark: n={n} per round, {args.rounds} rounds, concurrency {CONCURRENCY}")
    print(f"SMTP connections opened by the dispatchers: {opened}")
    print(f"{'path':<30} {'median msg/s':>12} {'min':>8} {'max':>8} {'vs baseline':>12}  baseline")
    for path, vals in results.items():
        med = statistics.median(vals)
        baseline = paths[path][0]
        ratio = med / statistics.median(results[baseline])
        print(f"{path:<30} {med:>12.1f} {min(vals):>8.1f} {max(vals):>8.1f} {ratio:>11.2f}x  {baseline}")


if __name__ == "__main__":
    asyncio.run(main())
