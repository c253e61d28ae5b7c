"""`make up`: the whole platform on this machine, no Docker needed.

Starts embedded PostgreSQL, Apache Kafka (KRaft, on this machine's Java; data in .run/kafka, so
topics and offsets survive a restart) and an SMTP sink (or uses DATABASE_URL,
KAFKA_BOOTSTRAP_SERVERS and BRIDGE_NOTIFICATIONS_SMTP_HOST when set), provisions each service's
database role, starts the four services, waits until they are ready, then prints their URLs and a
development token. Ctrl-C stops everything.

Where it runs (each service's URL, the mail sink, Kafka, PostgreSQL, the JWT settings, a development
token) goes to `.run/platform.json` (`bridge_devstack.runfile`; `BRIDGE_RUN_DIR` moves `.run/`), which
`make demo`, `make token` and the tests read; it is removed when `bridge-up` stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bridge_devstack import runfile
from bridge_devstack.infra import start_infra
from bridge_devstack.kafka import KafkaUnavailable
from bridge_devstack.platform import WEB, WEB_PORT, Platform, SmtpSink
from bridge_devstack.ports import port_open
from bridge_shared.auth.tokens import mint_token
from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET, SERVICE_PORTS

RUN_DIR = runfile.run_dir()
PG_PORT = int(os.environ.get("BRIDGE_UP_PG_PORT", "54329"))
KAFKA_PORT = int(os.environ.get("BRIDGE_UP_KAFKA_PORT", "9092"))
KAFKA_CONTROLLER_PORT = int(os.environ.get("BRIDGE_UP_KAFKA_CONTROLLER_PORT", "9093"))
SMTP_PORT = int(os.environ.get("BRIDGE_UP_SMTP_PORT", "1025"))
MAIL_UI_PORT = int(os.environ.get("BRIDGE_UP_MAIL_UI_PORT", "8025"))
WEB_HTTP_PORT = int(os.environ.get("BRIDGE_WEB_HTTP_PORT", str(WEB_PORT)))


def dev_token(jwt: dict[str, str] | None = None) -> str:
    """An hr_admin token for the platform whose JWT settings are `jwt` (default: the development ones)."""
    jwt = jwt or {}
    return mint_token(
        secret=jwt.get("secret", DEV_JWT_SECRET),
        subject="dev-hr-admin",
        roles=["hr_admin"],
        issuer=jwt.get("issuer", DEFAULT_JWT_ISSUER),
        audience=jwt.get("audience", DEFAULT_JWT_AUDIENCE),
        name="Dev HR Admin",
    )


def jwt_settings() -> dict[str, str]:
    """The secret, issuer and audience the services verify tokens with: BRIDGE_JWT_SECRET /
    _ISSUER / _AUDIENCE (as in docker-compose), else the development defaults. A service's own
    BRIDGE_<SVC>_JWT_* still wins for that service (matching's is the one recorded)."""
    env = os.environ
    return {
        "secret": env.get("BRIDGE_MATCHING_JWT_SECRET") or env.get("BRIDGE_JWT_SECRET") or DEV_JWT_SECRET,
        "issuer": env.get("BRIDGE_MATCHING_JWT_ISSUER") or env.get("BRIDGE_JWT_ISSUER") or DEFAULT_JWT_ISSUER,
        "audience": env.get("BRIDGE_MATCHING_JWT_AUDIENCE")
        or env.get("BRIDGE_JWT_AUDIENCE")
        or DEFAULT_JWT_AUDIENCE,
    }


def jwt_env(jwt: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each service's JWT settings, unless the environment sets that service's own."""
    out: dict[str, dict[str, str]] = {}
    for svc in SERVICE_PORTS:
        prefix = f"BRIDGE_{svc.upper()}_JWT_"
        out[svc] = {
            f"{prefix}{key.upper()}": value
            for key, value in jwt.items()
            if f"{prefix}{key.upper()}" not in os.environ
        }
    return out


def directory_env(run_dir: Path) -> tuple[dict[str, str], str | None, Path | None]:
    """matching's company-directory feeds for a local platform, unless the environment sets them: a
    SCIM credential for an identity provider to try (a random one per run, kept in
    `.run/scim-token`) and an HRIS inbox folder (`.run/hris-inbox`, polled every 10 s) to drop
    delta files into. Returns matching's extra environment, the token and the folder (None where
    the environment set its own)."""
    env: dict[str, str] = {}
    token: str | None = None
    inbox: Path | None = None
    if "BRIDGE_MATCHING_SCIM_BEARER_TOKEN" not in os.environ:
        token = secrets.token_urlsafe(32)
        token_file = run_dir / "scim-token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        env["BRIDGE_MATCHING_SCIM_BEARER_TOKEN"] = token
    if "BRIDGE_MATCHING_HRIS_INBOX_DIR" not in os.environ:
        inbox = run_dir / "hris-inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        env["BRIDGE_MATCHING_HRIS_INBOX_DIR"] = str(inbox)
        env.setdefault(
            "BRIDGE_MATCHING_HRIS_POLL_SECONDS", os.environ.get("BRIDGE_MATCHING_HRIS_POLL_SECONDS", "10")
        )
        env.setdefault(
            "BRIDGE_MATCHING_HRIS_STABLE_SECONDS", os.environ.get("BRIDGE_MATCHING_HRIS_STABLE_SECONDS", "5")
        )
    return env, token, inbox


def environment_name() -> str:
    env = os.environ
    named = env.get("BRIDGE_MATCHING_ENVIRONMENT") or env.get("BRIDGE_ENVIRONMENT") or env.get("ENVIRONMENT")
    return (named or "development").strip().lower()


def other_bridge_up() -> str | None:
    """Why this directory's platform is already running, or None. A stale run file is replaced."""
    try:
        info = runfile.read(runfile.run_file(RUN_DIR))
    except runfile.StaleRunFile as exc:
        print(f"Note: replacing a stale {exc.path} (bridge-up pid {exc.pid} is gone).", flush=True)
        return None
    except ValueError:
        return None
    if info is None:
        return None
    return (
        f"bridge-up (pid {info.pid}) already runs from {RUN_DIR.resolve()} ({info.services['matching']}, "
        f"{info.status}). Use it (make demo finds it), stop it with Ctrl-C in its terminal, or start another "
        "copy from another directory or with BRIDGE_RUN_DIR set to another directory."
    )


def busy_ports() -> list[str]:
    """Ports `make up` would bind that something else already holds, with the setting that moves them."""
    wanted = [
        (int(os.environ.get(f"BRIDGE_{svc.upper()}_HTTP_PORT", port)), f"BRIDGE_{svc.upper()}_HTTP_PORT")
        for svc, port in SERVICE_PORTS.items()
    ]
    wanted.append((WEB_HTTP_PORT, "BRIDGE_WEB_HTTP_PORT"))
    if "DATABASE_URL" not in os.environ:
        wanted.append((PG_PORT, "BRIDGE_UP_PG_PORT"))
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
        wanted.append((KAFKA_PORT, "BRIDGE_UP_KAFKA_PORT"))
        wanted.append((KAFKA_CONTROLLER_PORT, "BRIDGE_UP_KAFKA_CONTROLLER_PORT"))
    if "BRIDGE_NOTIFICATIONS_SMTP_HOST" not in os.environ:
        wanted += [(SMTP_PORT, "BRIDGE_UP_SMTP_PORT"), (MAIL_UI_PORT, "BRIDGE_UP_MAIL_UI_PORT")]
    return [f"127.0.0.1:{port} (set {env} to move it)" for port, env in wanted if port_open(port)]


async def main_async() -> None:
    running = other_bridge_up()
    if running:
        print(f"Cannot start: {running}", file=sys.stderr)
        raise SystemExit(1)
    taken = busy_ports()
    if taken:
        print(
            "Cannot start: these ports are already in use (is another `make up` running?):", file=sys.stderr
        )
        for line in taken:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(1)
    started = time.monotonic()
    ports = {
        svc: int(os.environ.get(f"BRIDGE_{svc.upper()}_HTTP_PORT", port))
        for svc, port in SERVICE_PORTS.items()
    }
    own_smtp = "BRIDGE_NOTIFICATIONS_SMTP_HOST" not in os.environ
    jwt = jwt_settings()
    token_file = RUN_DIR.resolve() / "dev-token"
    run_file = runfile.run_file(RUN_DIR)
    # Written now, while the platform starts, so a `make demo` typed meanwhile finds it and waits.
    info = runfile.RunInfo(
        pid=os.getpid(),
        status="starting",
        started_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        environment=environment_name(),
        services={svc: f"http://127.0.0.1:{port}" for svc, port in ports.items()},
        mail_url=f"http://127.0.0.1:{MAIL_UI_PORT}" if own_smtp else None,
        smtp=f"127.0.0.1:{SMTP_PORT}" if own_smtp else os.environ.get("BRIDGE_NOTIFICATIONS_SMTP_HOST"),
        jwt=jwt,
        dev_token_file=str(token_file),
        logs=str(RUN_DIR.resolve() / "logs"),
        extra={"web_url": f"http://127.0.0.1:{WEB_HTTP_PORT}"},
    )
    runfile.write(info, run_file)
    print("Starting infrastructure ...", flush=True)
    try:
        infra = start_infra(
            RUN_DIR, pg_port=PG_PORT, kafka_port=KAFKA_PORT, kafka_controller_port=KAFKA_CONTROLLER_PORT
        )
    except KafkaUnavailable as exc:
        runfile.remove(info.pid, run_file)
        print(f"Cannot start: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except BaseException:
        runfile.remove(info.pid, run_file)
        raise
    sink: SmtpSink | None = None
    smtp: dict[str, str] = {}
    try:
        if own_smtp:
            sink = SmtpSink(SMTP_PORT, MAIL_UI_PORT, RUN_DIR / "mail").start(RUN_DIR / "smtp-sink.log")
            smtp = {"smtp_host": "127.0.0.1", "smtp_port": str(SMTP_PORT)}
    except BaseException:
        runfile.remove(info.pid, run_file)
        infra.stop()
        raise
    extra_env = jwt_env(jwt)
    scim_env, scim_token, hris_inbox = directory_env(RUN_DIR.resolve())
    extra_env["matching"].update(scim_env)
    platform = Platform(
        infra.admin_dsn,
        infra.bootstrap_servers,
        RUN_DIR,
        ports=ports,
        smtp=smtp,
        extra_env=extra_env,
        web_port=WEB_HTTP_PORT,
    )
    info.kafka_bootstrap_servers = infra.bootstrap_servers
    info.database_url = infra.admin_dsn
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        runfile.write(info, run_file)
        await platform.provision()
        platform.start()
        platform.start_web(jwt)
        print(f"  {infra.description}", flush=True)
        await platform.wait_ready()
        token = dev_token(jwt)
        token_file.write_text(token)
        token_file.chmod(0o600)
        info.status = "ready"
        runfile.write(info, run_file)
        lines = ["", f"Bridge is up (ready in {time.monotonic() - started:.1f} s).", ""]
        lines.append(
            f"  {'web app':<14} {platform.url(WEB)}   (development sign-in: choose HR or a demo person)"
        )
        for svc in ("matching", "sessions", "notifications", "reporting"):
            url = platform.url(svc)
            lines.append(f"  {svc:<14} {url}   docs {url}/docs   events {url}/asyncapi")
        lines.append(f"  {'dashboard':<14} {platform.url('reporting')}/dashboard")
        if sink:
            lines.append(f"  {'mail sink':<14} {sink.web_url}   (SMTP on 127.0.0.1:{SMTP_PORT})")
        matching = platform.url("matching")
        if scim_token:
            lines.append(
                f"  {'SCIM 2.0':<14} {matching}/scim/v2   (identity provider token in {RUN_DIR}/scim-token)"
            )
        if hris_inbox:
            lines.append(
                f"  {'HRIS inbox':<14} {hris_inbox}/   (drop delta CSVs; reports: {matching}/hris/files)"
            )
        lines += [
            "",
            f"  logs: {RUN_DIR}/logs/",
            f"  where it runs (make demo and make token read it): {run_file}",
            "",
            f"Development token (hr_admin), also in {token_file}:",
            f"  {token}",
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
        runfile.remove(info.pid, run_file)
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
