"""Chooses the infrastructure: what the environment names, else testcontainers (if asked and Docker
is there), else the embedded PostgreSQL and Tansu broker."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bridge_devstack.kafka import EmbeddedKafka
from bridge_devstack.ports import free_port
from bridge_devstack.postgres import EmbeddedPostgres


@dataclass
class Infra:
    admin_dsn: str
    bootstrap_servers: str
    description: str
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self._stops):
            stop()
        self._stops.clear()


def _docker_available() -> bool:
    return shutil.which("docker") is not None and Path("/var/run/docker.sock").exists()


def start_infra(
    workdir: Path, *, fast: bool = False, pg_port: int | None = None, kafka_port: int | None = None
) -> Infra:
    env_db = os.environ.get("DATABASE_URL")
    env_kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mode = os.environ.get("BRIDGE_INFRA", "auto")
    infra = Infra(admin_dsn=env_db or "", bootstrap_servers=env_kafka or "", description="")
    parts: list[str] = []
    use_containers = mode == "testcontainers" and _docker_available()
    if mode == "testcontainers" and not use_containers:
        raise RuntimeError("BRIDGE_INFRA=testcontainers but no Docker engine is reachable")

    if env_db:
        parts.append("PostgreSQL from DATABASE_URL")
    elif use_containers:
        from testcontainers.postgres import PostgresContainer

        pg = PostgresContainer("postgres:17", username="postgres", password="postgres", dbname="bridge")
        pg.start()
        infra._stops.append(pg.stop)
        infra.admin_dsn = pg.get_connection_url(driver=None)
        parts.append("PostgreSQL in a testcontainer")
    else:
        epg = EmbeddedPostgres(workdir / "pgdata", pg_port or free_port(), fast=fast).start()
        infra._stops.append(epg.stop)
        infra.admin_dsn = epg.admin_dsn
        parts.append(f"embedded PostgreSQL on 127.0.0.1:{epg.port}")

    if env_kafka:
        parts.append("Kafka from KAFKA_BOOTSTRAP_SERVERS")
    elif use_containers:
        from testcontainers.kafka import KafkaContainer

        kc = KafkaContainer("apache/kafka:3.9.1").with_kraft()
        kc.start()
        infra._stops.append(kc.stop)
        infra.bootstrap_servers = kc.get_bootstrap_server()
        parts.append("Kafka (KRaft) in a testcontainer")
    else:
        kafka = EmbeddedKafka(kafka_port or free_port(), log_file=workdir / "tansu.log").start()
        infra._stops.append(kafka.stop)
        infra.bootstrap_servers = kafka.bootstrap_servers
        parts.append(f"embedded Tansu broker on {kafka.bootstrap_servers}")
    infra.description = "; ".join(parts)
    return infra
