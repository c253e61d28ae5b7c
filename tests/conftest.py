"""Session-wide real infrastructure: PostgreSQL and a Kafka-protocol broker over real sockets.

By default embedded PostgreSQL and Apache Kafka (KRaft) run from pinned jars on this machine's Java; DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS point
the suite at real ones; BRIDGE_INFRA=testcontainers uses Docker when it is there.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bridge_devstack.infra import Infra, start_infra
from bridge_shared.db.provision import provision
from bridge_shared.observability.tracing import configure_tracing


@pytest.fixture(scope="session", autouse=True)
def span_exporter() -> InMemorySpanExporter:
    """Spans of in-process code, for trace-propagation assertions."""
    exporter = InMemorySpanExporter()
    configure_tracing("tests", extra_exporter=exporter)
    return exporter


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    workdir: Path = tmp_path_factory.mktemp("infra")
    started = start_infra(workdir, fast=True)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def admin_dsn(infra: Infra) -> str:
    return infra.admin_dsn


@pytest.fixture(scope="session")
def bootstrap_servers(infra: Infra) -> str:
    return infra.bootstrap_servers


@pytest.fixture
async def scratch_service(admin_dsn: str) -> AsyncIterator[tuple[str, str]]:
    """A throwaway service role + schema: (service name, its DSN)."""
    name = f"t{uuid.uuid4().hex[:10]}"
    dsn = await provision(admin_dsn, name, secrets.token_hex(8))
    yield name, dsn
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await conn.execute(f'DROP ROLE IF EXISTS "bridge_{name}"')
    finally:
        await conn.close()


def unique_topic(prefix: str = "test") -> str:
    return f"bridge.{prefix}.{uuid.uuid4().hex[:12]}"
