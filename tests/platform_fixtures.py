"""The platform as separate processes: the four services plus an SMTP sink, on free ports, and the web
app beside them (started by tests/web's `web_platform` when a test needs it). Its fixtures are
registered in tests/conftest.py, so tests/e2e and tests/web share the one session-wide platform: two
platforms would run the services under the same names, roles and consumer groups."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bridge_devstack.infra import Infra
from bridge_devstack.platform import Platform, SmtpSink
from bridge_devstack.ports import free_port
from bridge_devstack.up import dev_token
from bridge_shared.db.provision import SERVICES
from tests.e2e.otlp_capture import OtlpCapture

# The identity provider's SCIM credential the platform under test is given (matching's
# scim_bearer_token): a test secret, never a person's token.
SCIM_TOKEN = "e2e-scim-" + "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"


@pytest.fixture(scope="session")
def smtp_sink(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SmtpSink]:
    workdir: Path = tmp_path_factory.mktemp("mail")
    sink = SmtpSink(free_port(), free_port(), workdir / "maildir", reject="bounce@invalid.example")
    sink.start(workdir / "sink.log")
    yield sink  # type: ignore[misc]
    sink.stop()


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpCapture]:
    capture = OtlpCapture().start()
    yield capture
    capture.stop()


@pytest.fixture(scope="session")
async def platform(
    infra: Infra, smtp_sink: SmtpSink, otlp: OtlpCapture, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    workdir = tmp_path_factory.mktemp("platform")
    plat = Platform(
        infra.admin_dsn,
        infra.bootstrap_servers,
        workdir,
        # notifications' e-mail links point at the web app (tests/web's web_platform starts it).
        web_port=free_port(),
        ports={s: free_port() for s in ("matching", "sessions", "notifications", "reporting")},
        smtp={"smtp_host": "127.0.0.1", "smtp_port": str(smtp_sink.smtp_port)},
        extra_env={
            svc: {
                f"BRIDGE_{svc.upper()}_OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "200",
                # The pipeline probe more often than in production, so tests see its round trips.
                f"BRIDGE_{svc.upper()}_PROBE_INTERVAL_SECONDS": "2",
            }
            for svc in SERVICES
        },
    )
    plat.extra_env["matching"]["BRIDGE_MATCHING_SCIM_BEARER_TOKEN"] = SCIM_TOKEN
    await plat.provision()
    plat.start()
    try:
        await plat.wait_ready(timeout=120)
        yield plat
    finally:
        plat.stop()


@pytest.fixture(scope="session")
def hr_token() -> str:
    return dev_token()


@pytest.fixture
async def hr(hr_token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {hr_token}"}, timeout=30) as client:
        yield client
