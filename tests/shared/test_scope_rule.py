"""The one region-scoping rule (bridge_shared.auth.scope, docs/access.md), as pure functions."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from bridge_shared.auth import scope
from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.auth.roles import refuse_reader_writes, service_writes
from bridge_shared.auth.tokens import TokenValidator, mint_token
from bridge_shared.errors import Problem
from bridge_shared.http.problems import install_problem_handlers

ADMIN = Principal(subject="a", roles=frozenset({Role.HR_ADMIN}))
EMEA = Principal(subject="h", roles=frozenset({Role.HR_REGIONAL}), regions=frozenset({"EMEA"}))
EMEA_APAC = Principal(subject="h2", roles=frozenset({Role.HR_REGIONAL}), regions=frozenset({"EMEA", "APAC"}))
SERVICE = Principal(subject="svc", roles=frozenset({Role.SERVICE}))
ALICE = Principal(subject="E1", roles=frozenset({Role.PARTICIPANT}))


def test_admin_sees_and_changes_everything() -> None:
    assert scope.sees_person(ADMIN, "APAC")
    assert scope.sees_person(ADMIN, None)
    assert scope.manages_all(ADMIN, ["EMEA", "APAC", "AMER"])
    assert scope.region_filter(ADMIN) is None
    assert not scope.is_reader_only(ADMIN)


def test_a_person_is_in_scope_by_home_region_only() -> None:
    assert scope.sees_person(EMEA, "EMEA")
    assert not scope.sees_person(EMEA, "APAC")
    assert not scope.sees_person(EMEA, None)  # unknown region: global readers only
    assert scope.region_filter(EMEA) == ("EMEA",)
    assert scope.region_filter(EMEA_APAC) == ("APAC", "EMEA")


def test_a_shared_record_is_visible_when_one_of_its_people_is_in_scope() -> None:
    assert scope.sees_shared(EMEA, ["APAC", "EMEA"])
    assert not scope.sees_shared(EMEA, ["APAC", "AMER"])
    assert scope.sees_shared(ALICE, ["APAC", "AMER"], ["E9", "E1"])  # one of the people
    assert not scope.sees_shared(ALICE, ["APAC", "EMEA"], ["E9", "E8"])


def test_cohort_wide_changes_need_every_region() -> None:
    assert not scope.manages_all(EMEA, ["EMEA", "APAC"])
    assert scope.manages_all(EMEA_APAC, ["EMEA", "APAC"])
    assert scope.missing_regions(EMEA, ["APAC", "EMEA", "AMER"]) == ["AMER", "APAC"]
    with pytest.raises(Problem) as caught:
        scope.ensure_manages_all(EMEA, ["EMEA", "APAC"])
    assert caught.value.status == 403
    assert "APAC" in (caught.value.detail or "")
    assert caught.value.extensions["missing_regions"] == ["APAC"]
    scope.ensure_manages_all(EMEA_APAC, ["EMEA", "APAC"])


def test_service_reads_everything_and_changes_nothing() -> None:
    assert scope.is_reader_only(SERVICE)
    assert scope.sees_person(SERVICE, "APAC")
    assert scope.region_filter(SERVICE) is None
    assert not scope.manages_all(SERVICE, ["EMEA"])
    with pytest.raises(Problem) as caught:
        scope.ensure_writer(SERVICE)
    assert caught.value.status == 403
    with pytest.raises(Problem):
        scope.ensure_manages_all(SERVICE, [])


def test_participant_sees_only_themself() -> None:
    assert scope.sees_person(ALICE, "APAC", "E1")
    assert not scope.sees_person(ALICE, "APAC", "E2")
    assert scope.region_filter(ALICE) == ()
    assert not scope.manages_all(ALICE, [])
    assert scope.is_self(ALICE, "E1") and not scope.is_self(EMEA, "h")


def test_secrets_are_reported_as_set_and_host() -> None:
    url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    view = scope.secret_view(url)
    assert view == {"set": True, "host": "hooks.slack.com"}
    assert "XXXXSECRET" not in str(view)
    assert scope.secret_view(None) == {"set": False, "host": None}
    assert scope.secret_view("") == {"set": False, "host": None}


SECRET = "unit-test-secret-0123456789abcdef0123456789"


async def test_refuse_reader_writes_is_403_for_service_on_writes_unless_documented() -> None:
    router = APIRouter()

    @router.get("/thing")
    async def read() -> dict[str, str]:
        return {"ok": "read"}

    @router.put("/thing")
    async def write() -> dict[str, str]:
        return {"ok": "write"}

    @router.post("/ingest", openapi_extra=service_writes("the HRIS connector pushes changes here"))
    async def ingest() -> dict[str, str]:
        return {"ok": "ingest"}

    app = FastAPI()
    app.state.token_validator = TokenValidator(
        algorithms=["HS256"], issuer="https://issuer.test", audience="bridge", secret=SECRET
    )
    install_problem_handlers(app)
    app.include_router(router, dependencies=[Depends(authenticate), Depends(refuse_reader_writes)])

    def token(*roles: str) -> dict[str, str]:
        t = mint_token(
            secret=SECRET, subject="x", roles=list(roles), issuer="https://issuer.test", audience="bridge"
        )
        return {"Authorization": f"Bearer {t}"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/thing", headers=token("service"))).status_code == 200
        refused = await c.put("/thing", headers=token("service"))
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await c.put("/thing", headers=token("hr_admin"))).status_code == 200
        assert (await c.post("/ingest", headers=token("service"))).status_code == 200
        assert (await c.put("/thing")).status_code == 401
    doc = app.openapi()
    assert doc["paths"]["/ingest"]["post"][scope.SERVICE_WRITES] == "the HRIS connector pushes changes here"
