"""Starts the four services (and an SMTP sink) as separate processes against given infrastructure."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bridge_devstack.ports import wait_for_port
from bridge_shared.db.provision import SERVICES, provision
from bridge_shared.settings import SERVICE_PORTS

WEB = "web"
"""The web app's name among the platform's processes."""
WEB_PORT = 8080


@dataclass
class SmtpSink:
    smtp_port: int
    http_port: int
    maildir: Path
    reject: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, log: Path) -> SmtpSink:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bridge_devstack.smtp_sink",
                "--smtp-port",
                str(self.smtp_port),
                "--http-port",
                str(self.http_port),
                "--maildir",
                str(self.maildir),
                "--reject",
                self.reject,
            ],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.smtp_port)
        wait_for_port(self.http_port)
        return self

    def stop(self) -> None:
        _terminate(self.proc)


def _terminate(proc: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Platform:
    admin_dsn: str
    bootstrap_servers: str
    workdir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    smtp: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    # Three for the local three-node cluster (fault tests); external clusters set it per service.
    replication_factor: int | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    dsns: dict[str, str] = field(default_factory=dict)
    # The web app (bridge_web) beside the services: its port, when it runs. notifications' e-mail
    # links (app_base_url) then point at it.
    web_port: int | None = None

    def url(self, service: str) -> str:
        if service == WEB:
            if self.web_port is None:
                raise KeyError("the web app is not part of this platform (web_port is None)")
            return f"http://127.0.0.1:{self.web_port}"
        return f"http://127.0.0.1:{self.ports[service]}"

    def log_path(self, service: str) -> Path:
        return self.workdir / "logs" / f"{service}.log"

    async def provision(self) -> None:
        secrets_file = self.workdir / "db-passwords"
        stored = (
            dict(line.split("=", 1) for line in secrets_file.read_text().split())
            if secrets_file.exists()
            else {}
        )
        for svc in SERVICES:
            password = stored.setdefault(svc, secrets.token_urlsafe(16))
            self.dsns[svc] = await provision(self.admin_dsn, svc, password)
        secrets_file.write_text("\n".join(f"{k}={v}" for k, v in stored.items()) + "\n")
        secrets_file.chmod(0o600)

    def env_for(self, svc: str) -> dict[str, str]:
        prefix = f"BRIDGE_{svc.upper()}_"
        env = dict(os.environ)
        env.update(
            {
                f"{prefix}DATABASE_URL": self.dsns[svc],
                f"{prefix}KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
                f"{prefix}HTTP_PORT": str(self.ports[svc]),
                f"{prefix}HTTP_HOST": "127.0.0.1",
            }
        )
        if not any(env.get(name) for name in (f"{prefix}ENVIRONMENT", "BRIDGE_ENVIRONMENT", "ENVIRONMENT")):
            env[f"{prefix}ENVIRONMENT"] = "development"  # a local platform: the dev JWT secret applies
        if self.replication_factor is not None:
            env[f"{prefix}KAFKA_TOPIC_REPLICATION_FACTOR"] = str(self.replication_factor)
        if svc == "notifications":
            env.update({f"{prefix}{k.upper()}": v for k, v in self.smtp.items()})
            if self.web_port is not None:
                # Every link in every e-mail lands on the web app (preferences: <app>/preferences).
                env.setdefault(f"{prefix}APP_BASE_URL", self.url(WEB))
        env.update(self.extra_env.get(svc, {}))
        return env

    def web_env(self, jwt: dict[str, str] | None = None) -> dict[str, str]:
        """The web app's environment: the services' URLs, its port, development sign-in with the
        platform's JWT settings (`jwt`: secret, issuer, audience) and the demo cohort's people."""
        from bridge_devstack.demo_cohort import PARTICIPANTS

        assert self.web_port is not None
        env = dict(os.environ)
        env.update({f"BRIDGE_WEB_{svc.upper()}_URL": self.url(svc) for svc in SERVICE_PORTS})
        env.update(
            {
                "BRIDGE_WEB_HTTP_HOST": "127.0.0.1",
                "BRIDGE_WEB_HTTP_PORT": str(self.web_port),
                "BRIDGE_WEB_DEV_PEOPLE": json.dumps(
                    [
                        {
                            "employee_id": p["employee_id"],
                            "name": p["display_name"],
                            "region": p["region"],
                            "locale": p.get("locale"),
                        }
                        for p in PARTICIPANTS
                    ]
                ),
            }
        )
        env.setdefault("BRIDGE_WEB_PUBLIC_BASE_URL", self.url(WEB))
        if not any(env.get(n) for n in ("BRIDGE_WEB_ENVIRONMENT", "BRIDGE_ENVIRONMENT", "ENVIRONMENT")):
            env["BRIDGE_WEB_ENVIRONMENT"] = "development"
        for key, value in (jwt or {}).items():
            env.setdefault(f"BRIDGE_WEB_JWT_{key.upper()}", value)
        env.update(self.extra_env.get(WEB, {}))
        return env

    def start_web(self, jwt: dict[str, str] | None = None) -> None:
        """Starts the web app (`python -m bridge_web`); `wait_ready` then waits for it too."""
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        self.procs[WEB] = subprocess.Popen(
            [sys.executable, "-m", "bridge_web"],
            env=self.web_env(jwt),
            stdout=self.log_path(WEB).open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self, services: tuple[str, ...] = SERVICES) -> None:
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        for svc in services:
            self.procs[svc] = subprocess.Popen(
                [sys.executable, "-m", f"bridge_{svc}"],
                env=self.env_for(svc),
                stdout=self.log_path(svc).open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_ready(self, timeout: float = 90.0, services: tuple[str, ...] | None = None) -> None:
        pending = set(services or self.procs)
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while pending:
                for svc in sorted(pending):
                    proc = self.procs[svc]
                    if proc.poll() is not None:
                        tail = self.log_path(svc).read_text(errors="replace")[-3000:]
                        raise RuntimeError(f"{svc} exited with {proc.returncode}:\n{tail}")
                    try:
                        if (await client.get(f"{self.url(svc)}/readyz")).status_code == 200:
                            pending.discard(svc)
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"not ready after {timeout}s: {sorted(pending)}")
                await asyncio.sleep(0.2)

    def stop(self, services: tuple[str, ...] | None = None) -> None:
        for svc in services or tuple(self.procs):
            proc = self.procs.get(svc)
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for svc in services or tuple(self.procs):
            _terminate(self.procs.pop(svc, None))
