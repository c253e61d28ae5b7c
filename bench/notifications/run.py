"""Notifications delivered per second, through the real dispatcher (lease -> send -> record + outbox
event), to a local SMTP sink and a local webhook server, beside the raw SMTP send rate (aiosmtplib
straight to the same sink, same concurrency) measured in the same run.

    .tools/bin/uv run python bench/notifications/run.py [--n 300] [--rounds 5]

Uses DATABASE_URL if set, else starts the embedded PostgreSQL (and broker) from bridge_devstack.
The SMTP sink (aiosmtpd + Maildir) and the webhook server run as subprocesses so they do not share
this process's event loop. Rate limits are off; batch size = concurrency = 50 for both paths.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from bridge_devstack.infra import start_infra
from bridge_devstack.ports import free_port, wait_for_port
from bridge_notifications.db import deliveries
from bridge_notifications.domain.dispatcher import Dispatcher
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.db.migrations import migrate
from bridge_shared.db.pool import create_pool
from bridge_shared.db.provision import provision
from bridge_shared.outbox.writer import Outbox
from bridge_shared.scheduling.clock import SystemClock

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


async def raw_smtp(port: int, n: int) -> float:
    def msg(i: int) -> EmailMessage:
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "bench@bridge.example", f"raw{i}@bridge.example", f"raw {i}"
        m.set_content("Hello\n" * 20)
        m.add_alternative("<p>Hello</p>" * 20, subtype="html")
        return m

    t0 = time.perf_counter()
    for start in range(0, n, CONCURRENCY):
        await asyncio.gather(
            *(
                aiosmtplib.send(msg(i), hostname="127.0.0.1", port=port)
                for i in range(start, min(n, start + CONCURRENCY))
            )
        )
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


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-notifications-"))
    infra = start_infra(work, fast=True)
    smtp_port, http_port, hook_port = free_port(), free_port(), free_port()
    procs = [
        spawn(
            [
                sys.executable,
                "-m",
                "bridge_devstack.smtp_sink",
                "--smtp-port",
                str(smtp_port),
                "--http-port",
                str(http_port),
                "--maildir",
                str(work / "maildir"),
            ]
        ),
        spawn([sys.executable, "-c", WEBHOOK, str(hook_port)]),
    ]
    try:
        wait_for_port(smtp_port)
        wait_for_port(hook_port)
        name = f"notifications_bench_{uuid.uuid4().hex[:6]}"
        dsn = await provision(infra.admin_dsn, name, secrets.token_hex(8))
        settings = NotificationsSettings(
            service_name=name,
            db_schema=name,
            database_url=dsn,
            smtp_port=smtp_port,
            environment="test",
            email_rate_per_second=0,
            chat_rate_per_second=0,
            dispatch_batch_size=CONCURRENCY,
            retry_base_seconds=0.2,
        )
        pool = await create_pool(dsn, schema=name, min_size=4, max_size=CONCURRENCY + 5)
        async with pool.acquire() as conn:
            await migrate(conn, name, "bridge_notifications.db.migrations")
        dispatcher = Dispatcher(pool, Outbox(schema=name, source="/bench"), settings, SystemClock())
        results: dict[str, list[float]] = {
            "raw SMTP (aiosmtplib)": [],
            "service -> email (SMTP)": [],
            "service -> chat (webhook)": [],
        }
        await raw_smtp(smtp_port, 50)  # warm-up
        for r in range(args.rounds):
            results["raw SMTP (aiosmtplib)"].append(await raw_smtp(smtp_port, args.n))
            results["service -> email (SMTP)"].append(
                await through_service(pool, dispatcher, "email", args.n, "u{i}@bridge.example")
            )
            results["service -> chat (webhook)"].append(
                await through_service(
                    pool, dispatcher, "chat", args.n, f"http://127.0.0.1:{hook_port}/hook/{{i}}"
                )
            )
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        await dispatcher.aclose()
        await pool.close()
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        infra.stop()
    raw = statistics.median(results["raw SMTP (aiosmtplib)"])
    print(f"\nnotifications benchmark: n={args.n} per round, {args.rounds} rounds, concurrency {CONCURRENCY}")
    print(f"{'path':<28} {'median msg/s':>12} {'min':>8} {'max':>8} {'vs raw SMTP':>12}")
    for name_, vals in results.items():
        med = statistics.median(vals)
        print(f"{name_:<28} {med:>12.1f} {min(vals):>8.1f} {max(vals):>8.1f} {med / raw:>11.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
