"""`make up`: the whole platform on this machine, no Docker needed.

Starts embedded PostgreSQL, Apache Kafka (KRaft, on this machine's Java; data in .run/kafka, so
topics and offsets survive a restart) and an SMTP sink (or uses DATABASE_URL,
KAFKA_BOOTSTRAP_SERVERS and BRIDGE_NOTIFICATIONS_SMTP_HOST when set), provisions each service's
database role, starts the four services, waits until they are ready, then prints their URLs and a
development token. Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from bridge_devstack.infra import start_infra
from bridge_devstack.kafka import KafkaUnavailable
from bridge_devstack.platform import Platform, SmtpSink
from bridge_devstack.ports import port_open
from bridge_shared.auth.tokens import mint_token
from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET, SERVICE_PORTS

RUN_DIR = Path(os.environ.get("BRIDGE_RUN_DIR", ".run"))
PG_PORT = int(os.environ.get("BRIDGE_UP_PG_PORT", "54329"))
KAFKA_PORT = int(os.environ.get("BRIDGE_UP_KAFKA_PORT", "9092"))
KAFKA_CONTROLLER_PORT = int(os.environ.get("BRIDGE_UP_KAFKA_CONTROLLER_PORT", "9093"))
SMTP_PORT = int(os.environ.get("BRIDGE_UP_SMTP_PORT", "1025"))
MAIL_UI_PORT = int(os.environ.get("BRIDGE_UP_MAIL_UI_PORT", "8025"))


def dev_token() -> str:
    return mint_token(
        secret=DEV_JWT_SECRET,
        subject="dev-hr-admin",
        roles=["hr_admin"],
        issuer=DEFAULT_JWT_ISSUER,
        audience=DEFAULT_JWT_AUDIENCE,
        name="Dev HR Admin",
    )


def busy_ports() -> list[str]:
    """Ports `make up` would bind that something else already holds, with the setting that moves them."""
    wanted = [
        (int(os.environ.get(f"BRIDGE_{svc.upper()}_HTTP_PORT", port)), f"BRIDGE_{svc.upper()}_HTTP_PORT")
        for svc, port in SERVICE_PORTS.items()
    ]
    if "DATABASE_URL" not in os.environ:
        wanted.append((PG_PORT, "BRIDGE_UP_PG_PORT"))
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
        wanted.append((KAFKA_PORT, "BRIDGE_UP_KAFKA_PORT"))
        wanted.append((KAFKA_CONTROLLER_PORT, "BRIDGE_UP_KAFKA_CONTROLLER_PORT"))
    if "BRIDGE_NOTIFICATIONS_SMTP_HOST" not in os.environ:
        wanted += [(SMTP_PORT, "BRIDGE_UP_SMTP_PORT"), (MAIL_UI_PORT, "BRIDGE_UP_MAIL_UI_PORT")]
    return [f"127.0.0.1:{port} (set {env} to move it)" for port, env in wanted if port_open(port)]


async def main_async() -> None:
    taken = busy_ports()
    if taken:
        print(
            "Cannot start: these ports are already in use (is another `make up` running?):", file=sys.stderr
        )
        for line in taken:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(1)
    started = time.monotonic()
    print("Starting infrastructure ...", flush=True)
    try:
        infra = start_infra(
            RUN_DIR, pg_port=PG_PORT, kafka_port=KAFKA_PORT, kafka_controller_port=KAFKA_CONTROLLER_PORT
        )
    except KafkaUnavailable as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    sink: SmtpSink | None = None
    smtp: dict[str, str] = {}
    try:
        if "BRIDGE_NOTIFICATIONS_SMTP_HOST" not in os.environ:
            sink = SmtpSink(SMTP_PORT, MAIL_UI_PORT, RUN_DIR / "mail").start(RUN_DIR / "smtp-sink.log")
            smtp = {"smtp_host": "127.0.0.1", "smtp_port": str(SMTP_PORT)}
    except BaseException:
        infra.stop()
        raise
    ports = {
        svc: int(os.environ.get(f"BRIDGE_{svc.upper()}_HTTP_PORT", port))
        for svc, port in SERVICE_PORTS.items()
    }
    platform = Platform(infra.admin_dsn, infra.bootstrap_servers, RUN_DIR, ports=ports, smtp=smtp)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await platform.provision()
        platform.start()
        print(f"  {infra.description}", flush=True)
        await platform.wait_ready()
        (RUN_DIR / "dev-token").write_text(dev_token())
        lines = ["", f"Bridge is up (ready in {time.monotonic() - started:.1f} s).", ""]
        for svc in ("matching", "sessions", "notifications", "reporting"):
            url = platform.url(svc)
            lines.append(f"  {svc:<14} {url}   docs {url}/docs   events {url}/asyncapi")
        lines.append(f"  {'dashboard':<14} {platform.url('reporting')}/dashboard")
        if sink:
            lines.append(f"  {'mail sink':<14} {sink.web_url}   (SMTP on 127.0.0.1:{SMTP_PORT})")
        lines += [
            "",
            f"  logs: {RUN_DIR}/logs/",
            "",
            "Development token (hr_admin), also in .run/dev-token:",
            f"  {dev_token()}",
            "",
            "Try: make demo        Stop: Ctrl-C",
            "",
        ]
        print("\n".join(lines), flush=True)
        while not stop.is_set():
            for svc, proc in platform.procs.items():
                if proc.poll() is not None:
                    print(
                        f"{svc} exited with {proc.returncode}; see {platform.log_path(svc)}",
                        file=sys.stderr,
                    )
                    stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1)
    finally:
        print("Stopping ...", flush=True)
        platform.stop()
        if sink:
            sink.stop()
        infra.stop()
        print("Stopped.", flush=True)


def main() -> None:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    asyncio.run(main_async())


if __name__ == "__main__":
    main()
