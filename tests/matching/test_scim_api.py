"""SCIM 2.0 over HTTP against the matching service (real PostgreSQL and broker): the identity
provider creates, reads, filters, replaces, patches and deletes people in the company directory, with
its own bearer token, SCIM errors, ETags and bounded bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bridge_matching.domain import scim
from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, auth, running_service

pytestmark = pytest.mark.integration

TOKEN = "scim-test-token-4f1d2c9e8b7a6d5c4b3a2f1e0d9c8b7a"
SCIM = {"Authorization": f"Bearer {TOKEN}", "Content-Type": scim.SCIM_MEDIA_TYPE}
E = scim.ENTERPRISE_SCHEMA
B = scim.BRIDGE_SCHEMA
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


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
        scim_max_body_bytes=16 * 1024,
    ) as running:
        yield running


def user(tag: str | None = None, **over: Any) -> dict[str, Any]:
    tag = tag or uuid.uuid4().hex[:8]
    body: dict[str, Any] = {
        "schemas": [scim.USER_SCHEMA, E, B],
        "userName": f"{tag}@corp.example",
        "externalId": f"idp-{tag}",
        "name": {"givenName": "Ada", "familyName": tag.capitalize()},
        "emails": [{"value": f"{tag}@corp.example", "type": "work", "primary": True}],
        "active": True,
        "locale": "en-GB",
        "timezone": "Europe/London",
        E: {"employeeNumber": f"E{tag.upper()}", "department": "Digital"},
        B: {"region": "EMEA", "seniorityLevel": 4},
    }
    body.update(over)
    return body


def assert_scim_error(r: httpx.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(scim.SCIM_MEDIA_TYPE), r.headers
    body: dict[str, Any] = r.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type, body
    assert body["detail"]
    return body


async def create(svc: RunningService, body: dict[str, Any]) -> dict[str, Any]:
    r = await svc.client.post("/scim/v2/Users", json=body, headers=SCIM)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def test_create_get_and_filter_by_user_name(svc: RunningService) -> None:
    body = user("ada01", displayName="Ada Lovelace", title="Engineer")
    r = await svc.client.post("/scim/v2/Users", json=body, headers=SCIM)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith(scim.SCIM_MEDIA_TYPE)
    created = r.json()
    person_id = created["id"]
    assert uuid.UUID(person_id)
    assert r.headers["location"] == created["meta"]["location"] == f"http://test/scim/v2/Users/{person_id}"
    assert r.headers["etag"] == created["meta"]["version"] == 'W/"1"'
    assert created["meta"]["resourceType"] == "User"
    assert created["meta"]["created"] and created["meta"]["lastModified"]
    assert created["userName"] == "ada01@corp.example"
    assert created["displayName"] == "Ada Lovelace" and created["title"] == "Engineer"
    assert created[E] == {"employeeNumber": "EADA01", "department": "Digital"}
    assert created[B] == {"region": "EMEA", "seniorityLevel": 4}

    got = await svc.client.get(f"/scim/v2/Users/{person_id}", headers=SCIM)
    assert got.status_code == 200 and got.json() == created
    assert got.headers["etag"] == 'W/"1"'
    # Unchanged since that version: 304.
    again = await svc.client.get(f"/scim/v2/Users/{person_id}", headers={**SCIM, "If-None-Match": 'W/"1"'})
    assert again.status_code == 304

    # The directory has the record, linked by the employee number.
    entry = await _directory_row(svc, person_id)
    assert entry["employee_id"] == "EADA01" and entry["source"] == "scim"

    # userName is compared case-insensitively (Entra ID's and Okta's matching query).
    r = await svc.client.get(
        "/scim/v2/Users", params={"filter": 'userName eq "ADA01@corp.example"'}, headers=SCIM
    )
    assert r.status_code == 200, r.text
    listed = r.json()
    assert listed["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert listed["totalResults"] == 1 and listed["startIndex"] == 1 and listed["itemsPerPage"] == 1
    assert [u["id"] for u in listed["Resources"]] == [person_id]
    # Nobody by that name: an empty list, not 404 (how identity providers ask before creating).
    r = await svc.client.get(
        "/scim/v2/Users", params={"filter": 'userName eq "nobody@corp.example"'}, headers=SCIM
    )
    assert r.json()["totalResults"] == 0 and r.json().get("Resources", []) == []
    for text in ('externalId eq "idp-ada01"', f'{E}:employeeNumber eq "eada01"'):
        r = await svc.client.get("/scim/v2/Users", params={"filter": text}, headers=SCIM)
        assert [u["id"] for u in r.json()["Resources"]] == [person_id], text
    # attributes / excludedAttributes select what comes back.
    r = await svc.client.get(f"/scim/v2/Users/{person_id}", params={"attributes": "userName"}, headers=SCIM)
    assert set(r.json()) == {"schemas", "id", "userName"}
    r = await svc.client.get(
        f"/scim/v2/Users/{person_id}", params={"excludedAttributes": f"title,{E}"}, headers=SCIM
    )
    assert "title" not in r.json() and E not in r.json() and r.json()["displayName"] == "Ada Lovelace"


async def test_unsupported_filters_and_paging(svc: RunningService) -> None:
    r = await svc.client.get("/scim/v2/Users", params={"filter": 'userName sw "ada"'}, headers=SCIM)
    assert_scim_error(r, 400, "invalidFilter")
    r = await svc.client.get("/scim/v2/Users", params={"filter": 'userName eq "unclosed'}, headers=SCIM)
    assert_scim_error(r, 400, "invalidFilter")
    tag = uuid.uuid4().hex[:6]
    ids = [(await create(svc, user(f"{tag}p{i}")))["id"] for i in range(3)]
    r = await svc.client.get("/scim/v2/Users", params={"startIndex": "1", "count": "500"}, headers=SCIM)
    page = r.json()
    assert page["itemsPerPage"] <= svc.settings.scim_max_results
    assert set(ids) <= {u["id"] for u in page["Resources"]}
    total = page["totalResults"]
    r = await svc.client.get(
        "/scim/v2/Users", params={"startIndex": str(total - 1), "count": "1"}, headers=SCIM
    )
    assert r.json()["itemsPerPage"] == 1 and r.json()["startIndex"] == total - 1
    r = await svc.client.get("/scim/v2/Users", params={"count": "0"}, headers=SCIM)
    assert r.json()["totalResults"] == total and r.json().get("Resources", []) == []
    # The same query as a SearchRequest body.
    r = await svc.client.post(
        "/scim/v2/Users/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": f'externalId eq "idp-{tag}p1"',
            "attributes": ["userName"],
        },
        headers=SCIM,
    )
    assert r.status_code == 200, r.text
    assert [(u["id"], u["userName"]) for u in r.json()["Resources"]] == [(ids[1], f"{tag}p1@corp.example")]


async def test_replace_the_user(svc: RunningService) -> None:
    created = await create(svc, user("grace1"))
    pid = created["id"]
    body = user("grace1", title="Rear Admiral", displayName="Grace Hopper")
    body[E] = {"department": "Navy"}  # employeeNumber left out: kept
    del body[B]  # the Bridge extension left out entirely: its fields kept
    r = await svc.client.put(f"/scim/v2/Users/{pid}", json=body, headers=SCIM)
    assert r.status_code == 200, r.text
    replaced = r.json()
    assert replaced["meta"]["version"] == r.headers["etag"] == 'W/"2"'
    assert replaced["title"] == "Rear Admiral" and replaced["displayName"] == "Grace Hopper"
    assert replaced[E] == {"employeeNumber": "EGRACE1", "department": "Navy"}
    assert replaced[B] == {"region": "EMEA", "seniorityLevel": 4}
    assert replaced["meta"]["created"] == created["meta"]["created"]
    # Nothing changed: the same version.
    r = await svc.client.put(f"/scim/v2/Users/{pid}", json=body, headers=SCIM)
    assert r.json()["meta"]["version"] == 'W/"2"'


async def test_patch_active_false_makes_a_leaver(svc: RunningService) -> None:
    pid = (await create(svc, user("leaver1")))["id"]
    r = await svc.client.patch(
        f"/scim/v2/Users/{pid}",
        json={"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
        headers=SCIM,
    )
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False and r.json()["meta"]["version"] == 'W/"2"'
    async with svc.runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_type, payload FROM outbox WHERE partition_key = $1 ORDER BY id", pid
        )
    kinds = [row["event_type"] for row in rows]
    assert any(k.endswith("person.joined.v1") for k in kinds), kinds
    [left] = [json.loads(row["payload"]) for row in rows if row["event_type"].endswith("person.left.v1")]
    assert left["person_id"] == pid
    assert left["cause"] == "deactivated" and left["source"] == "scim"
    assert (await _directory_row(svc, pid))["left_cause"] == "deactivated"
    # The leaver stays readable as inactive until deleted.
    assert (await svc.client.get(f"/scim/v2/Users/{pid}", headers=SCIM)).json()["active"] is False


async def test_patch_other_attributes_and_the_manager(svc: RunningService) -> None:
    manager = await create(svc, user("boss01"))
    pid = (await create(svc, user("staff01")))["id"]
    r = await svc.client.patch(
        f"/scim/v2/Users/{pid}",
        json={
            "schemas": [PATCH],
            "Operations": [
                {"op": "Add", "path": f"{E}:manager", "value": manager["id"]},  # Entra ID: a bare id
                {"op": "replace", "value": {"title": "Lead", f"{E}:department": "Platform"}},
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "staff.one@corp.example"},
                {"op": "remove", "path": f"{B}:seniorityLevel"},
            ],
        },
        headers=SCIM,
    )
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched[E]["manager"] == {"value": manager["id"], "$ref": manager["meta"]["location"]}
    assert patched[E]["department"] == "Platform" and patched["title"] == "Lead"
    assert patched["emails"] == [{"value": "staff.one@corp.example", "type": "work", "primary": True}]
    assert "seniorityLevel" not in patched[B]
    row = await _directory_row(svc, pid)
    assert row["record"]["manager_employee_id"] == "EBOSS01"
    assert row["record"]["email"] == "staff.one@corp.example"
    # A manager the directory does not know is left unset, not refused.
    unknown = str(uuid.uuid4())
    r = await svc.client.patch(
        f"/scim/v2/Users/{pid}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": f"{E}:manager", "value": {"value": unknown}}],
        },
        headers=SCIM,
    )
    assert r.status_code == 200, r.text
    assert "manager" not in r.json()[E]
    assert (await _directory_row(svc, pid))["record"]["manager_employee_id"] is None
    # A patch that cannot apply is refused with its scimType.
    r = await svc.client.patch(
        f"/scim/v2/Users/{pid}",
        json={"schemas": [PATCH], "Operations": [{"op": "remove", "path": "userName"}]},
        headers=SCIM,
    )
    assert_scim_error(r, 400, "mutability")


async def test_delete_then_404(svc: RunningService) -> None:
    pid = (await create(svc, user("gone01")))["id"]
    r = await svc.client.delete(f"/scim/v2/Users/{pid}", headers=SCIM)
    assert r.status_code == 204 and r.content == b""
    assert_scim_error(await svc.client.get(f"/scim/v2/Users/{pid}", headers=SCIM), 404)
    assert_scim_error(await svc.client.delete(f"/scim/v2/Users/{pid}", headers=SCIM), 404)
    r = await svc.client.get(
        "/scim/v2/Users", params={"filter": 'userName eq "gone01@corp.example"'}, headers=SCIM
    )
    assert r.json()["totalResults"] == 0
    async with svc.runtime.pool.acquire() as conn:
        causes = await conn.fetch(
            "SELECT payload FROM outbox WHERE partition_key = $1 AND event_type LIKE '%person.left%'", pid
        )
    assert [json.loads(c["payload"])["cause"] for c in causes] == ["deleted"]
    assert_scim_error(await svc.client.get("/scim/v2/Users/not-a-uuid", headers=SCIM), 404)


async def test_uniqueness_conflicts_are_409(svc: RunningService) -> None:
    first = user("uniq01")
    await create(svc, first)
    for clash in (
        user("uniq02", userName="UNIQ01@corp.example"),
        user("uniq03", externalId="idp-uniq01"),
        user("uniq04", **{E: {"employeeNumber": "euniq01"}}),
    ):
        r = await svc.client.post("/scim/v2/Users", json=clash, headers=SCIM)
        assert_scim_error(r, 409, "uniqueness")


async def test_if_match_mismatch_is_412(svc: RunningService) -> None:
    pid = (await create(svc, user("etag01")))["id"]
    stale = {**SCIM, "If-Match": 'W/"7"'}
    op = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Chief"}]}
    assert_scim_error(await svc.client.patch(f"/scim/v2/Users/{pid}", json=op, headers=stale), 412)
    assert_scim_error(await svc.client.put(f"/scim/v2/Users/{pid}", json=user("etag01"), headers=stale), 412)
    assert_scim_error(await svc.client.delete(f"/scim/v2/Users/{pid}", headers=stale), 412)
    assert (await svc.client.get(f"/scim/v2/Users/{pid}", headers=SCIM)).json()["meta"]["version"] == 'W/"1"'
    current = {**SCIM, "If-Match": 'W/"1"'}
    r = await svc.client.patch(f"/scim/v2/Users/{pid}", json=op, headers=current)
    assert r.status_code == 200 and r.json()["title"] == "Chief", r.text
    r = await svc.client.delete(f"/scim/v2/Users/{pid}", headers={**SCIM, "If-Match": r.headers["etag"]})
    assert r.status_code == 204


async def test_bad_requests_are_scim_errors(svc: RunningService) -> None:
    no_email = user("nomail1")
    del no_email["emails"]
    assert_scim_error(
        await svc.client.post("/scim/v2/Users", json=no_email, headers=SCIM), 400, "invalidValue"
    )
    r = await svc.client.post("/scim/v2/Users", content=b"{not json", headers=SCIM)
    assert_scim_error(r, 400, "invalidSyntax")
    r = await svc.client.post(
        "/scim/v2/Users", content=json.dumps(user()), headers={**SCIM, "Content-Type": "text/plain"}
    )
    assert_scim_error(r, 415)
    big = user("big01", title="x" * 20_000)  # over scim_max_body_bytes (16 KiB here)
    assert_scim_error(await svc.client.post("/scim/v2/Users", json=big, headers=SCIM), 413)
    r = await svc.client.post("/scim/v2/Users", json=user("long01", title="x" * 500), headers=SCIM)
    assert "title" in assert_scim_error(r, 400, "invalidValue")["detail"]
    # application/json is accepted, and answered to a client asking for it.
    r = await svc.client.post(
        "/scim/v2/Users",
        json=user("plain01"),
        headers={**SCIM, "Content-Type": "application/json", "Accept": "application/json"},
    )
    assert r.status_code == 201 and r.headers["content-type"].startswith("application/json")
    # Unknown paths and methods, in SCIM's format too.
    assert_scim_error(await svc.client.get("/scim/v2/Groups", headers=SCIM), 404)
    r = await svc.client.delete("/scim/v2/Schemas", headers=SCIM)
    assert_scim_error(r, 405)
    assert r.headers["allow"] == "GET"


async def test_only_the_identity_providers_token_is_accepted(svc: RunningService) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        auth("hr_admin"),  # a person's JWT, however privileged
    ):
        r = await svc.client.get("/scim/v2/Users", headers=headers)
        assert_scim_error(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")
    r = await svc.client.get("/scim/v2/Users", headers=auth("hr_admin"))
    assert "person's sign-in token" in r.json()["detail"]
    r = await svc.client.post(
        "/scim/v2/Users", json=user("anon01"), headers={"Content-Type": scim.SCIM_MEDIA_TYPE}
    )
    assert_scim_error(r, 401)
    # The SCIM token is no token for the rest of the API either.
    assert (await svc.client.get("/cohorts", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 401


async def test_without_a_configured_token_scim_is_off() -> None:
    app = create_app(
        MatchingSettings(environment="test", scim_bearer_token=None)
    )  # no lifespan needed: refused before any I/O
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        r = await client.get("/scim/v2/Users", headers=SCIM)
    body = assert_scim_error(r, 404)
    assert "not enabled" in body["detail"]


async def test_discovery(svc: RunningService) -> None:
    r = await svc.client.get("/scim/v2/ServiceProviderConfig", headers=SCIM)
    assert r.status_code == 200, r.text
    config = r.json()
    assert config["patch"] == {"supported": True} and config["etag"] == {"supported": True}
    assert config["filter"] == {"supported": True, "maxResults": 100}
    assert config["sort"] == {"supported": False} and config["bulk"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    r = await svc.client.get("/scim/v2/ResourceTypes/User", headers=SCIM)
    assert [x["schema"] for x in r.json()["schemaExtensions"]] == [E, B]
    r = await svc.client.get(f"/scim/v2/Schemas/{B}", headers=SCIM)
    assert {a["name"] for a in r.json()["attributes"]} == {
        "region",
        "seniorityLevel",
        "startDate",
        "terminationDate",
    }
    listed = (await svc.client.get("/scim/v2/Schemas", headers=SCIM)).json()
    assert {scim.USER_SCHEMA, E, B} <= {s["id"] for s in listed["Resources"]}
    assert_scim_error(await svc.client.get("/scim/v2/Schemas/urn:example:nothing", headers=SCIM), 404)


async def _directory_row(svc: RunningService, person_id: str) -> dict[str, Any]:
    async with svc.runtime.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM directory_entries WHERE id = $1", uuid.UUID(person_id))
    assert row is not None
    out = dict(row)
    if isinstance(out.get("record"), str):
        out["record"] = json.loads(out["record"])
    return out


async def test_an_erased_person_is_not_provisioned_again(svc: RunningService) -> None:
    tag = uuid.uuid4().hex[:8]
    pid = (await create(svc, user(tag)))["id"]
    r = await svc.client.post(
        "/privacy/erasures",
        json={"employee_id": f"E{tag.upper()}"},
        headers=auth("privacy_officer", sub="dpo-scim"),
    )
    assert r.status_code == 202, r.text
    assert_scim_error(await svc.client.get(f"/scim/v2/Users/{pid}", headers=SCIM), 404)
    # The identity provider still has them assigned and provisions them again: refused, nothing stored.
    body = assert_scim_error(
        await svc.client.post("/scim/v2/Users", json=user(tag), headers=SCIM), 409, "uniqueness"
    )
    assert "erased on request" in body["detail"] and tag not in body["detail"].lower()
    r = await svc.client.get(
        "/scim/v2/Users", params={"filter": f'userName eq "{tag}@corp.example"'}, headers=SCIM
    )
    assert r.json()["totalResults"] == 0
