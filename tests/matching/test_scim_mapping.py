"""SCIM 2.0 <-> the company directory, without I/O (domain/scim.py): reading Users and PatchOps as
identity providers send them, the mapping both ways, filters, paging, ETags, discovery documents."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from scim2_models import Context, SCIMException

from bridge_matching.domain import scim
from bridge_matching.domain.directory import DirectoryRecord

E = scim.ENTERPRISE_SCHEMA
B = scim.BRIDGE_SCHEMA
NOW = datetime(2027, 1, 25, 9, 0, tzinfo=UTC)


def user_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [scim.USER_SCHEMA, E, B],
        "userName": "Jane.Doe@Corp.example",
        "externalId": "idp-0001",
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [
            {"value": "jane.home@mail.example", "type": "home"},
            {"value": "jane.doe@corp.example", "type": "work"},
        ],
        "title": "Analyst",
        "active": True,
        "timezone": "Europe/London",
        E: {"employeeNumber": "E-1001", "department": "Finance"},
        B: {"region": "EMEA", "seniorityLevel": 9, "startDate": "2027-02-01T00:00:00Z"},
    }
    body.update(over)
    return body


def record_of(body: dict[str, Any], **kw: Any) -> DirectoryRecord:
    user = scim.parse_user(body, Context.RESOURCE_CREATION_REQUEST)
    kw.setdefault("existing", None)
    kw.setdefault("manager_employee_id", None)
    return scim.to_record(user, preferred=scim.preferred_language(body), **kw)


def refused(exc: pytest.ExceptionInfo[SCIMException]) -> tuple[int | None, str | None]:
    error = exc.value.to_error()
    return error.status, error.scim_type


def test_a_user_maps_to_a_directory_record() -> None:
    record = record_of(user_body())
    assert record.employee_id == "E-1001"
    assert record.user_name == "Jane.Doe@Corp.example"
    assert record.external_id == "idp-0001"
    assert (record.given_name, record.family_name) == ("Jane", "Doe")
    assert record.display_name == "Jane Doe"  # no displayName: given and family name
    assert record.email == "jane.doe@corp.example"  # no primary: the work address
    assert (record.title, record.department, record.region) == ("Analyst", "Finance", "EMEA")
    assert record.seniority_level == 9
    assert record.start_date == date(2027, 2, 1)
    assert record.timezone == "Europe/London"
    assert record.active is True


def test_the_primary_address_wins_and_display_name_falls_back_to_the_user_name() -> None:
    body = user_body(
        name=None,
        emails=[
            {"value": "a@corp.example", "type": "work"},
            {"value": "b@corp.example", "type": "other", "primary": True},
        ],
    )
    del body["name"]
    record = record_of(body)
    assert record.email == "b@corp.example"
    assert record.display_name == "Jane.Doe@Corp.example"
    assert record_of(user_body(displayName="J. Doe")).display_name == "J. Doe"


def test_attributes_the_directory_does_not_keep_are_ignored_not_refused() -> None:
    body = user_body(phoneNumbers=[{"value": "+44 20 7946 0000", "type": "work"}], nickName="JD")
    body[E] = {**body[E], "costCenter": "4130"}
    body["schemas"].append("urn:example:params:scim:schemas:extension:acme:2.0:User")
    body["urn:example:params:scim:schemas:extension:acme:2.0:User"] = {"badge": "7"}
    assert record_of(body).employee_id == "E-1001"


@pytest.mark.parametrize(
    "emails",
    [None, [], [{"type": "work"}]],
    ids=["absent", "empty", "no-value"],
)
def test_a_user_without_an_email_address_is_refused_as_an_invalid_value(emails: Any) -> None:
    body = user_body(emails=emails)
    if emails is None:
        del body["emails"]
    with pytest.raises(SCIMException) as exc:
        record_of(body)
    assert refused(exc) == (400, "invalidValue")


def test_a_body_that_is_not_a_user_object_is_invalid_syntax() -> None:
    with pytest.raises(SCIMException) as exc:
        scim.parse_user(["not", "an", "object"], Context.RESOURCE_CREATION_REQUEST)
    assert refused(exc) == (400, "invalidSyntax")
    with pytest.raises(SCIMException) as exc:
        scim.parse_user(user_body(schemas=["urn:example:Other"]), Context.RESOURCE_CREATION_REQUEST)
    assert refused(exc) == (400, "invalidSyntax")


def test_directory_rules_refuse_with_the_scim_attribute_named() -> None:
    with pytest.raises(SCIMException) as exc:
        record_of(user_body(**{B: {"seniorityLevel": 99}}))
    assert refused(exc) == (400, "invalidValue")
    assert "seniorityLevel" in exc.value.detail
    with pytest.raises(SCIMException) as exc:
        record_of(user_body(**{E: {"employeeNumber": "has spaces"}}))
    assert "employeeNumber" in exc.value.detail
    with pytest.raises(SCIMException) as exc:  # a rule across fields: the manager is not oneself
        scim.to_record(
            scim.parse_user(user_body(), Context.RESOURCE_CREATION_REQUEST),
            existing=None,
            manager_employee_id="e-1001",
        )
    assert refused(exc) == (400, "invalidValue")
    assert f"{E}:manager" in exc.value.detail and "manager_employee_id" not in exc.value.detail


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("en", "en"), ("en-US", "en-US"), ("en_us", "en-US"), ("DE-de", "de-DE"), ("fr-FR,fr;q=0.9", "fr-FR")],
)
def test_locales_are_kept_as_language_and_region(sent: str, kept: str) -> None:
    assert scim.normalize_locale(sent) == kept
    assert record_of(user_body(locale=sent)).locale == kept


def test_a_locale_that_is_no_language_tag_is_refused_but_preferred_language_only_stands_in() -> None:
    with pytest.raises(SCIMException) as exc:
        record_of(user_body(locale="Klingon"))
    assert refused(exc) == (400, "invalidValue")
    assert record_of(user_body(preferredLanguage="de-DE")).locale == "de-DE"
    assert record_of(user_body(preferredLanguage="de-DE", locale="fr")).locale == "fr"
    assert record_of(user_body(preferredLanguage="zh-Hant-TW")).locale is None


def test_a_missing_employee_number_is_derived_stably_within_the_directory_pattern() -> None:
    body = user_body(**{E: {"department": "Finance"}})
    first, again = record_of(body).employee_id, record_of(body).employee_id
    assert first == again
    assert first.startswith("scim:idp-0001:")
    assert re.fullmatch(r"[A-Za-z0-9._:-]+", first) and len(first) <= 128
    # Without externalId, from userName, case-insensitively (userName is compared that way).
    del body["externalId"]
    by_name = record_of(body).employee_id
    assert by_name == record_of({**body, "userName": "jane.doe@corp.EXAMPLE"}).employee_id
    assert by_name.startswith("scim:jane.doe-corp.example:")
    # Two sources that read alike still differ (the hash is of the whole value).
    assert scim.derive_employee_id("a b", None) != scim.derive_employee_id("a-b", None)
    long = scim.derive_employee_id("x" * 500, None)
    assert len(long) <= 128 and re.fullmatch(r"[A-Za-z0-9._:-]+", long)


def test_a_later_write_without_an_employee_number_keeps_the_stored_one() -> None:
    stored = record_of(user_body())
    body = user_body(externalId="idp-other", **{E: {"department": "Legal"}})
    again = scim.to_record(
        scim.parse_user(body, Context.RESOURCE_REPLACEMENT_REQUEST),
        existing=stored,
        manager_employee_id=None,
    )
    assert again.employee_id == "E-1001"
    assert again.department == "Legal"


def test_put_keeps_the_fields_of_an_extension_it_leaves_out_entirely_patch_does_not() -> None:
    stored = record_of(user_body()).model_copy(update={"manager_employee_id": "M-1"})
    body = user_body()
    del body[B], body[E]
    user = scim.parse_user(body, Context.RESOURCE_REPLACEMENT_REQUEST)
    kept = scim.to_record(user, existing=stored, manager_employee_id=None, keep_absent_extensions=True)
    assert (kept.region, kept.seniority_level, kept.start_date) == ("EMEA", 9, date(2027, 2, 1))
    assert (kept.department, kept.manager_employee_id, kept.employee_id) == ("Finance", "M-1", "E-1001")
    cleared = scim.to_record(user, existing=stored, manager_employee_id=None)
    assert (cleared.region, cleared.seniority_level, cleared.department) == (None, None, None)
    assert cleared.employee_id == "E-1001"


def test_a_record_reads_back_as_the_user_it_came_from() -> None:
    record = record_of(user_body(locale="en-GB", **{B: {"terminationDate": "2027-06-30T00:00:00Z"}}))
    person_id = uuid.uuid4()
    manager = scim.Manager(person_id=uuid.uuid4(), location="https://bridge.example/scim/v2/Users/m")
    user = scim.to_scim(
        record,
        person_id=person_id,
        version=7,
        created=NOW,
        last_modified=NOW,
        location=f"https://bridge.example/scim/v2/Users/{person_id}",
        manager=manager,
    )
    out = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert out["id"] == str(person_id)
    assert out["meta"]["version"] == 'W/"7"' and out["meta"]["resourceType"] == "User"
    assert out["meta"]["location"].endswith(str(person_id))
    assert out["emails"] == [{"value": "jane.doe@corp.example", "type": "work", "primary": True}]
    assert out[E]["manager"] == {"value": str(manager.person_id), "$ref": manager.location}
    assert out[B]["terminationDate"].startswith("2027-06-30T00:00:00")
    assert set(out["schemas"]) == {scim.USER_SCHEMA, E, B}
    again = scim.to_record(
        scim.parse_user(out, Context.RESOURCE_REPLACEMENT_REQUEST),
        existing=record,
        manager_employee_id=record.manager_employee_id,
    )
    assert again == record


def test_an_hris_entry_without_user_name_reads_back_with_its_email_as_user_name() -> None:
    record = DirectoryRecord(employee_id="H1", display_name="Hana", email="hana@corp.example")
    user = scim.to_scim(
        record, person_id=uuid.uuid4(), version=1, created=NOW, last_modified=NOW, location="x", manager=None
    )
    assert user.user_name == "hana@corp.example"
    assert user[scim.BridgeUser] is None  # nothing of the Bridge extension is known


def _patched(ops: list[dict[str, Any]], record: DirectoryRecord | None = None) -> tuple[Any, Any]:
    record = record or record_of(user_body())
    current = scim.to_scim(
        record, person_id=uuid.uuid4(), version=1, created=NOW, last_modified=NOW, location="x", manager=None
    )
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}
    return current, scim.apply_patch(current, scim.parse_patch(body))


def test_entra_id_deactivation_with_a_capitalised_op_and_a_string_boolean() -> None:
    current, patched = _patched([{"op": "Replace", "path": "active", "value": "False"}])
    assert current.active is True and patched.active is False
    assert scim.to_record(patched, existing=None, manager_employee_id=None).active is False


def test_a_pathless_replace_with_extension_attributes_and_a_bare_manager_id() -> None:
    manager = str(uuid.uuid4())
    _, patched = _patched(
        [
            {"op": "replace", "value": {"displayName": "Jane D.", f"{E}:department": "Risk"}},
            {"op": "Add", "path": f"{E}:manager", "value": manager},
            {"op": "add", "path": f"{B}:seniorityLevel", "value": "8"},
        ]
    )
    assert patched.display_name == "Jane D."
    assert patched[scim.EnterpriseUser].department == "Risk"
    assert scim.manager_ref(patched) == manager
    assert scim.manager_person_id(scim.manager_ref(patched)) == uuid.UUID(manager)
    assert patched[scim.BridgeUser].seniority_level == 8


def test_entra_id_work_email_replace_and_removing_the_manager() -> None:
    record = record_of(user_body()).model_copy(update={"manager_employee_id": "M-1"})
    _, patched = _patched(
        [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "jd@corp.example"},
            {"op": "Remove", "path": f"{E}:manager"},
            {"op": "Add", "path": "preferredLanguage", "value": "de"},
        ],
        record,
    )
    assert scim.work_email(patched) == "jd@corp.example"
    assert scim.manager_ref(patched) is None


def test_preferred_language_is_read_from_patch_operations() -> None:
    ops = {"Operations": [{"op": "Add", "path": "preferredLanguage", "value": "de-DE"}]}
    assert scim.preferred_language(ops) == "de-DE"
    pathless = {"Operations": [{"op": "replace", "value": {"preferredLanguage": "ja"}}]}
    assert scim.preferred_language(pathless) == "ja"
    assert scim.preferred_language({"Operations": [{"op": "remove", "path": "preferredLanguage"}]}) is None


@pytest.mark.parametrize(
    ("ops", "scim_type"),
    [
        ([{"op": "remove", "path": "userName"}], "mutability"),
        ([{"op": "replace", "path": "id", "value": "x"}], "mutability"),
        ([{"op": "move", "path": "title", "value": "x"}], "invalidValue"),
        ([{"op": "replace", "path": "title[[", "value": "x"}], "invalidPath"),
        ([{"op": "replace", "path": f"{B}:seniorityLevel", "value": "senior"}], "invalidValue"),
    ],
)
def test_patch_operations_that_cannot_apply_are_refused_with_their_scim_type(
    ops: list[dict[str, Any]], scim_type: str
) -> None:
    with pytest.raises(SCIMException) as exc:
        _patched(ops)
    assert refused(exc) == (400, scim_type)


@pytest.mark.parametrize(
    ("text", "lookup"),
    [
        ('userName eq "jane@corp.example"', scim.Lookup(user_name="jane@corp.example")),
        ('USERNAME Eq "Jane"', scim.Lookup(user_name="Jane")),
        ('externalId eq "idp-1"', scim.Lookup(external_id="idp-1")),
        (f'{E}:employeeNumber eq "E-1"', scim.Lookup(employee_id="E-1")),
        ('userName eq "j" and externalId eq "x"', scim.Lookup(user_name="j", external_id="x")),
        (f'{scim.USER_SCHEMA}:userName eq "j"', scim.Lookup(user_name="j")),
    ],
)
def test_supported_filters_become_directory_lookups(text: str, lookup: scim.Lookup) -> None:
    request = scim.search_request({"filter": text})
    assert scim.lookup_of(request.filter.ast) == lookup


@pytest.mark.parametrize(
    "text",
    [
        'userName sw "j"',
        'userName eq "a" or userName eq "b"',
        'not (userName eq "a")',
        "title pr",
        'emails.value eq "jane@corp.example"',
        "active eq true",
        'displayName eq "Jane"',
        'nickName eq "x"',  # not an attribute this service keeps
        'userName eq "a" and userName eq "b"',
        'userName eq "unterminated',
        "x" * 1001,
    ],
)
def test_other_filters_are_refused_as_invalid_filters(text: str) -> None:
    with pytest.raises(SCIMException) as exc:
        scim.lookup_of(scim.search_request({"filter": text}).filter.ast)
    assert refused(exc) == (400, "invalidFilter")


def test_paging_is_bounded_by_the_maximum() -> None:
    assert scim.page_of(scim.search_request({}), 100) == (1, 100)
    assert scim.page_of(scim.search_request({"startIndex": "0", "count": "500"}), 100) == (1, 100)
    assert scim.page_of(scim.search_request({"startIndex": "21", "count": "10"}), 100) == (21, 10)
    assert scim.page_of(scim.search_request({"count": "-3"}), 100) == (1, 0)
    assert scim.page_of(scim.search_request({"startIndex": str(10**15)}), 100)[0] == scim.MAX_START_INDEX
    with pytest.raises(SCIMException) as exc:
        scim.search_request({"count": "ten"})
    assert refused(exc) == (400, "invalidValue")


def test_if_match_versions() -> None:
    assert scim.if_match_versions(None) is None
    assert scim.if_match_versions("*") is None
    assert scim.if_match_versions('W/"3"') == {3}
    assert scim.if_match_versions('"3", W/"4"') == {3, 4}
    assert scim.if_match_versions('W/"abc"') == set()  # matches no version of ours
    assert scim.etag(3) == 'W/"3"'


def test_discovery_documents() -> None:
    base = "https://bridge.example/scim/v2"
    config = scim.service_provider_config(
        max_results=50, location=f"{base}/ServiceProviderConfig", documentation_uri=None
    )
    assert config.patch.supported and config.etag.supported and config.filter.supported
    assert config.filter.max_results == 50
    assert not (config.bulk.supported or config.sort.supported or config.change_password.supported)
    schemas = {str(s.id): s for s in scim.schemas(base)}
    assert {scim.USER_SCHEMA, E, B} <= set(schemas)
    assert {s.name for s in schemas.values()} >= {"User", "ResourceType", "ServiceProviderConfig", "Schema"}
    user_attributes = {a.name for a in schemas[scim.USER_SCHEMA].attributes}
    # Only what the directory keeps (id, externalId and meta are common attributes, RFC 7643 section 3.1).
    assert user_attributes == {
        "userName",
        "name",
        "displayName",
        "title",
        "locale",
        "timezone",
        "active",
        "emails",
    }
    assert {a.name for a in schemas[B].attributes} == {
        "region",
        "seniorityLevel",
        "startDate",
        "terminationDate",
    }
    assert {a.name for a in schemas[E].attributes} == {"employeeNumber", "department", "manager"}
    [user_type] = scim.resource_types(base)
    assert user_type.endpoint == "/Users" and user_type.schema_ == scim.USER_SCHEMA
    assert [str(x.schema_) for x in user_type.schema_extensions or []] == [E, B]
    assert all(not x.required for x in user_type.schema_extensions or [])
