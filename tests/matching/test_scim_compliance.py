"""scim2-tester, the SCIM 2.0 compliance checker, against the matching service over a real socket
(uvicorn on a free port; the checker's client is synchronous, so it runs in a thread while the
service's event loop serves it). It reads the discovery documents, then creates, reads, lists,
replaces, patches (add, replace, remove on every attribute) and deletes Users: no check may fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx2
import pytest
import uvicorn
from pydantic import Field
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import ResourceType, ScimProvider
from scim2_tester import CheckResult, Status, check_server

from bridge_matching.domain import scim
from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, running_service

pytestmark = pytest.mark.integration

TOKEN = "scim-compliance-token-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"


@pytest.fixture(scope="module")
async def svc(admin_dsn: str, bootstrap_servers: str) -> AsyncIterator[RunningService]:
    clock = FrozenClock(datetime(2027, 1, 25, 9, 0, tzinfo=UTC))
    async with running_service(
        lambda s: create_app(s, clock=clock),
        MatchingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        expiry_interval_seconds=0,
        scim_bearer_token=TOKEN,
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def base_url(svc: RunningService) -> AsyncIterator[str]:
    """The service on a real socket: uvicorn on a free port, the app's lifespan already running."""
    config = uvicorn.Config(
        svc.app, host="127.0.0.1", port=0, lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/scim/v2"
    server.should_exit = True
    await serving


class CheckedBridgeUser(scim.BridgeUser):
    """The Bridge extension as served, with sample values for the checker. It fills attributes with
    random values of their SCIM type, which a level from 1 to 15 and a date-time are not (a random
    integer; a random string for a dateTime); a SCIM schema cannot say so (canonicalValues are strings)."""

    seniority_level: int | None = Field(None, examples=[2, 9, 15])
    start_date: datetime | None = Field(None, examples=[datetime(2027, 2, 1, tzinfo=UTC)])
    termination_date: datetime | None = Field(None, examples=[datetime(2099, 12, 31, tzinfo=UTC)])


def described() -> ScimProvider:
    """The service as the checker's client describes it: the very models the service serves (its
    /Schemas are built from them), the Bridge extension with the samples above."""
    user = scim.DirectoryUser[scim.EnterpriseUser | CheckedBridgeUser]
    return ScimProvider(
        models=[scim.DirectoryUser, scim.EnterpriseUser, CheckedBridgeUser],
        resource_types=[ResourceType.from_resource(user)],
    )


def run_checker(url: str) -> list[CheckResult]:
    with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http:
        return check_server(SyncSCIMClient(http, provider=described()))


E = scim.ENTERPRISE_SCHEMA
# Checks that cannot pass by design, by (check, attribute): what the directory does instead.
BY_DESIGN: dict[tuple[str, str], str] = {
    ("check_remove_attribute", "displayName"): "a directory entry always has a display name: removed, "
    "it is derived again from name.givenName and name.familyName, else userName",
    ("check_remove_attribute", "active"): "a person is active or has left: removing active leaves the "
    "default (true), never an unassigned state",
    ("check_remove_attribute", f"{E}:employeeNumber"): "the employee number is the key a person's "
    "enrolments are linked by: left out, removed or dropped with the whole extension, it is kept",
    ("check_remove_attribute", E): "the same: the extension keeps employeeNumber",
}
# The checker's own skips, and why they are right here.
SKIPS = {
    "search_with_attributes": "POST /scim/v2/.search over every resource type answers 501 (only "
    "/Users/.search is offered; tests/matching/test_scim_api.py exercises it)",
}


def explained(result: CheckResult) -> bool:
    """Whether a failure is one of BY_DESIGN, or the one address coming back as primary."""
    data = result.data if isinstance(result.data, dict) else {}
    urn = str(data.get("urn", ""))
    if (result.title or "", urn) in BY_DESIGN:
        return True
    if result.title == "check_replace_attribute" and urn == "emails":
        # One address is kept and read back as the primary work address: a replacement sent with
        # primary: false comes back with primary: true (the checker picks primary at random). The
        # addresses themselves must match.
        sent, back = data.get("expected") or [], data.get("modify_actual") or data.get("actual") or []
        return [(e.value, e.type) for e in sent] == [(e.value, e.type) for e in back]
    return False


async def test_scim2_tester_reports_no_failure(base_url: str) -> None:
    results = await asyncio.to_thread(run_checker, base_url)
    assert sum(r.status == Status.SUCCESS for r in results) >= 70, results  # the checks did run
    failures = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL) and not explained(r)]
    assert not failures, "\n".join(f"{r.title}: {r.reason}" for r in failures)
    skipped = {r.title for r in results if r.status == Status.SKIPPED}
    assert skipped <= set(SKIPS), skipped
