"""The stack a chaos run owns: embedded PostgreSQL, Kafka (one node or three), an SMTP sink and the four
services as separate processes, on free ports under one work directory. Everything it starts it stops."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bridge_devstack.infra import Infra, start_infra
from bridge_devstack.platform import Platform, SmtpSink
from bridge_devstack.ports import free_port
from bridge_devstack.up import dev_token
from bridge_shared.db.provision import SERVICES

# The chaos stack is always its own: these would point start_infra (and the services) elsewhere.
FOREIGN_ENV = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "BRIDGE_INFRA")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@dataclass
class Stack:
    workdir: Path
    kafka_nodes: int
    infra: Infra
    sink: SmtpSink
    platform: Platform
    hr_token: str = field(default_factory=dev_token)
    # Service restarts, for the report: (service, old pid, new pid).
    restarts: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def admin_dsn(self) -> str:
        return self.infra.admin_dsn

    @property
    def bootstrap(self) -> str:
        return self.infra.bootstrap_servers

    @property
    def maildir(self) -> Path:
        return self.sink.maildir

    def url(self, service: str) -> str:
        return self.platform.url(service)

    def urls(self) -> dict[str, str]:
        return {svc: self.platform.url(svc) for svc in SERVICES}

    def pid(self, service: str) -> int:
        return self.platform.procs[service].pid

    def kill_service(self, service: str) -> int:
        """kill -9 of the service's process (group), as a crash would. Returns the killed pid."""
        proc = self.platform.procs[service]
        _kill_group(proc)
        return proc.pid

    def restart_service(self, service: str) -> int:
        old = self.platform.procs[service].pid
        self.platform.start((service,))
        new = self.platform.procs[service].pid
        self.restarts.append((service, old, new))
        return new

    def log_path(self, service: str) -> Path:
        return self.platform.log_path(service)

    def stop(self) -> None:
        """Stops everything this stack started, the services first; kills what does not stop."""
        with contextlib.suppress(Exception):
            self.platform.stop()
        for proc in self.platform.procs.values():
            _kill_group(proc)
        with contextlib.suppress(Exception):
            self.sink.stop()
        if self.sink.proc is not None:
            _kill_group(self.sink.proc)
        self.infra.stop()
        kafka = self.infra.kafka
        if kafka is not None:
            for node in kafka.members:
                if node.proc is not None:
                    _kill_group(node.proc)


async def start_stack(workdir: Path, *, kafka_nodes: int = 1, say: Callable[[str], None] = print) -> Stack:
    for name in FOREIGN_ENV:
        os.environ.pop(name, None)
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    say(f"starting a stack in {workdir} (Kafka nodes: {kafka_nodes}) ...")
    # Durable PostgreSQL (no fsync=off / synchronous_commit=off): the fault kills it with -9, and a
    # commit the server acknowledged must survive that.
    infra = await asyncio.to_thread(start_infra, workdir / "infra", kafka_nodes=kafka_nodes)
    sink: SmtpSink | None = None
    platform: Platform | None = None
    try:
        sink = SmtpSink(free_port(), free_port(), workdir / "maildir")
        sink.start(workdir / "smtp-sink.log")
        platform = Platform(
            infra.admin_dsn,
            infra.bootstrap_servers,
            workdir / "platform",
            ports={svc: free_port() for svc in SERVICES},
            smtp={"smtp_host": "127.0.0.1", "smtp_port": str(sink.smtp_port)},
            replication_factor=infra.replication_factor,
        )
        await asyncio.to_thread((workdir / "platform").mkdir, parents=True, exist_ok=True)
        await platform.provision()
        platform.start()
        await platform.wait_ready(timeout=180)
    except BaseException:
        if platform is not None:
            platform.stop()
        if sink is not None:
            sink.stop()
        infra.stop()
        raise
    say(f"  {infra.description}; SMTP sink on 127.0.0.1:{sink.smtp_port}; services ready")
    return Stack(workdir, kafka_nodes, infra, sink, platform)
