"""Chooses the infrastructure: what the environment names, else testcontainers (if asked and Docker
is there), else embedded PostgreSQL and Apache Kafka (KRaft) run from pinned jars on this machine."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from bridge_devstack.kafka import KAFKA_VERSION, KafkaCluster
from bridge_devstack.ports import free_port
from bridge_devstack.postgres import EmbeddedPostgres


@dataclass
class Infra:
    admin_dsn: str
    bootstrap_servers: str
    description: str
    # The embedded parts, when they are ours to kill and restart (fault tests); None when external.
    postgres: EmbeddedPostgres | None = None
    kafka: KafkaCluster | None = None
    replication_factor: int = 1
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self._stops):
            stop()
        self._stops.clear()


def _docker_available() -> bool:
    return shutil.which("docker") is not None and Path("/var/run/docker.sock").exists()


def start_infra(
    workdir: Path,
    *,
    fast: bool = False,
    pg_port: int | None = None,
    kafka_port: int | None = None,
    kafka_controller_port: int | None = None,
    kafka_nodes: int = 1,
    kafka_quick_start: bool | None = None,
) -> Infra:
    """Starts what the environment does not name. `kafka_nodes=3` runs a three-node cluster
    (replication factor 3, min.insync.replicas 2) for fault tests. `fast` trades durability and
    JIT for start-up speed (tests); benchmarks pass `kafka_quick_start=False` to measure a broker with
    its full JIT."""
    env_db = os.environ.get("DATABASE_URL")
    env_kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mode = os.environ.get("BRIDGE_INFRA", "auto")
    infra = Infra(admin_dsn=env_db or "", bootstrap_servers=env_kafka or "", description="")
    parts: list[str] = []
    use_containers = mode == "testcontainers" and _docker_available()
    if mode == "testcontainers" and not use_containers:
        raise RuntimeError("BRIDGE_INFRA=testcontainers but no Docker engine is reachable")

    kafka: KafkaCluster | None = None
    kafka_started: Future[KafkaCluster] | None = None
    starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-start")
    if not env_kafka and not use_containers:
        kafka = KafkaCluster(
            workdir / "kafka",
            nodes=kafka_nodes,
            port=kafka_port,
            controller_port=kafka_controller_port,
            fast=fast if kafka_quick_start is None else kafka_quick_start,
        )
        # The JVM starts while PostgreSQL does: both mostly wait on their own start-up.
        kafka_started = starter.submit(kafka.start)
    try:
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
            infra.postgres = epg
            parts.append(f"embedded PostgreSQL on 127.0.0.1:{epg.port}")

        if env_kafka:
            parts.append("Kafka from KAFKA_BOOTSTRAP_SERVERS")
        elif use_containers:
            from testcontainers.kafka import KafkaContainer

            kc = KafkaContainer("apache/kafka:4.1.1").with_kraft()
            kc.start()
            infra._stops.append(kc.stop)
            infra.bootstrap_servers = kc.get_bootstrap_server()
            parts.append("Kafka (KRaft) in a testcontainer")
        elif kafka is not None and kafka_started is not None:
            kafka_started.result()
            infra._stops.append(kafka.stop)
            infra.kafka = kafka
            infra.replication_factor = kafka.replication_factor
            infra.bootstrap_servers = kafka.bootstrap_servers
            nodes = "" if kafka_nodes == 1 else f", {kafka_nodes} nodes"
            parts.append(f"Apache Kafka {KAFKA_VERSION} (KRaft{nodes}) on {kafka.bootstrap_servers}")
    except BaseException:
        if kafka is not None and kafka_started is not None:
            wait([kafka_started])
            kafka.stop()
        infra.stop()
        raise
    finally:
        starter.shutdown(wait=False)
    infra.description = "; ".join(parts)
    return infra
