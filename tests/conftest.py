"""Session-wide real infrastructure: PostgreSQL and a Kafka-protocol broker over real sockets.

By default embedded PostgreSQL and Apache Kafka (KRaft) run from pinned jars on this machine's
Java; DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS point the suite at real ones; BRIDGE_INFRA=testcontainers
uses Docker when it is there. `make test` (scripts/run-tests.sh) starts one pair of servers for every
test process while they start up, and names the file their addresses will be written to in
BRIDGE_TEST_INFRA_ENV_FILE.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bridge_devstack.infra import Infra, start_infra
from bridge_shared.db.provision import deprovision, provision
from bridge_shared.observability.tracing import configure_tracing
from bridge_shared.privacy.vault import create_vault

# Services refuse to start without a named environment (bridge_shared.settings): what the tests build
# (and the e2e platform's processes, which inherit it) runs as "test" unless the caller chose otherwise.
os.environ.setdefault("BRIDGE_ENVIRONMENT", "test")


@pytest.fixture(scope="session", autouse=True)
def span_exporter() -> InMemorySpanExporter:
    """Spans of in-process code, for trace-propagation assertions."""
    exporter = InMemorySpanExporter()
    configure_tracing("tests", extra_exporter=exporter)
    return exporter


# Areas first whose files run longest, so no worker starts a long file when the others are done
# (pytest-xdist hands out whole files in collection order).
_AREA_ORDER = ("shared", "matching", "reporting", "sessions", "notifications", "deploy", "e2e")
_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def area_rank(item: pytest.Item) -> int:
        area = item.path.relative_to(_TESTS).parts[0]
        return _AREA_ORDER.index(area) if area in _AREA_ORDER else len(_AREA_ORDER)

    items.sort(key=area_rank)  # stable: the order within an area stays as written


def _wait_for_shared_infra(env_file: Path, timeout: float = 300.0) -> None:
    """Reads the servers' addresses once bridge-test-infra has written them."""
    deadline = time.monotonic() + timeout
    while not env_file.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the test infrastructure did not write {env_file} within {timeout:.0f}s")
        time.sleep(0.1)
    for line in env_file.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
            os.environ[key] = value


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    shared = os.environ.get("BRIDGE_TEST_INFRA_ENV_FILE")
    if shared:
        _wait_for_shared_infra(Path(shared))
    workdir: Path = tmp_path_factory.mktemp("infra")
    started = start_infra(workdir, fast=True)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def admin_dsn(infra: Infra) -> str:
    """The superuser DSN of the test database (the key vault exists in it)."""

    async def vault() -> None:
        conn = await asyncpg.connect(infra.admin_dsn)
        try:
            await create_vault(conn)
        finally:
            await conn.close()

    asyncio.run(vault())
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
    await deprovision(admin_dsn, name)


def unique_topic(prefix: str = "test") -> str:
    return f"bridge.{prefix}.{uuid.uuid4().hex[:12]}"


# The platform as separate processes (tests/e2e, tests/web): registered here, once for the whole run.
from tests.platform_fixtures import hr, hr_token, otlp, platform, smtp_sink  # noqa: E402, F401
