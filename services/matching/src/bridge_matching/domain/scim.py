"""SCIM 2.0 (RFC 7643/7644) for the company directory: the User resource this service keeps, its
mapping to and from `DirectoryRecord`, filters, PATCH, ETags and the discovery documents.

The identity provider provisions people with it (api/scim.py); the resources are scim2-models
pydantic models. The User schema served on /Schemas lists only the attributes the directory keeps,
so a client (or the compliance checker) that reads it knows what comes back; other standard
attributes an identity provider sends (phoneNumbers, addresses, ...) are accepted and ignored
(`POLICY`).

| SCIM attribute | directory field |
|---|---|
| id | the directory person id (uuid) |
| userName | user_name (read back as the e-mail address when an HRIS file made the entry) |
| externalId | external_id |
| name.givenName / name.familyName | given_name / family_name |
| displayName | display_name (else "given family", else userName) |
| emails[primary, else type work, else first].value | email (required) |
| title, active, timezone | title, active (absent: true), timezone |
| locale (else preferredLanguage) | locale, as `ll` or `ll-RR` |
| enterprise employeeNumber | employee_id (absent at creation: `derive_employee_id`) |
| enterprise department | department |
| enterprise manager.value (the manager's SCIM id) | manager_employee_id (that person's employee id) |
| Bridge extension: region, seniorityLevel, startDate, terminationDate (dates) | the same fields |

Pure: no I/O. Resolving a manager's id to an employee id is the caller's (one directory read).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from pydantic import EmailStr, Field, ValidationError
from scim2_models import (
    AnyExtension,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    Context,
    Error,
    ETag,
    Extension,
    Filter,
    InvalidFilterException,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    Meta,
    Patch,
    PatchOp,
    Reference,
    Required,
    Resource,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    ScimPolicy,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)
from scim2_models.path import AttrPath, CompareOperator, Comparison, FilterNode, LogicalExpr, LogicalOperator
from scim2_models.urn import URN

from bridge_matching.domain.directory import DirectoryRecord

if TYPE_CHECKING:
    UserReference: TypeAlias = str
else:
    UserReference = Reference["User"]  # a reference to a User of this service (referenceTypes: User)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BRIDGE_SCHEMA = "urn:bridge:scim:schemas:extension:bridge:2.0:User"
SCIM_MEDIA_TYPE = "application/scim+json"

# The languages Bridge writes to people in (notifications' SUPPORTED_LOCALES), offered as the
# canonical values of `locale`; any `ll` or `ll-RR` tag is accepted.
LOCALES = ("en", "de", "fr", "es", "ja")


class Name(ComplexAttribute):
    """The parts of a person's name the directory keeps."""

    given_name: str | None = Field(None, description="Given (first) name; name.givenName.")
    family_name: str | None = Field(None, description="Family (last) name; name.familyName.")


class Email(ComplexAttribute):
    """The directory keeps one address, the work address: it is read back as the primary work e-mail."""

    value: Annotated[EmailStr | None, Required.true] = Field(None, description="The e-mail address.")
    type: str | None = Field(None, examples=["work"], description="Always work when read back.")
    primary: bool | None = Field(None, description="Always true when read back (one address is kept).")


class ManagerRef(ComplexAttribute):
    """The manager as a reference to another User of this service (its `id`)."""

    value: Annotated[str | None, CaseExact.true] = Field(None, description="The manager's SCIM id.")
    ref: UserReference | None = Field(
        None,
        serialization_alias="$ref",
        validation_alias="$ref",
        description="The manager's URI on this service.",
    )


class EnterpriseUser(Extension):
    """The attributes of the enterprise extension (RFC 7643 section 4.3) the directory keeps."""

    __schema__ = URN(ENTERPRISE_SCHEMA)

    employee_number: str | None = Field(
        None,
        description="The HRIS employee number, the key Bridge links a person's enrolments by. "
        "Left out at creation, one is derived from externalId or userName; left out later, it is kept.",
    )
    department: str | None = Field(None, description="The department.")
    manager: ManagerRef | None = Field(
        None,
        description="The manager: the SCIM id of another provisioned User. A manager not (yet) "
        "provisioned is left unset rather than refused.",
    )


class BridgeUser(Extension):
    """Profile fields Bridge's matching uses that no standard schema has."""

    __schema__ = URN(BRIDGE_SCHEMA)

    region: str | None = Field(None, description="The region code cohorts are scoped by (e.g. EMEA).")
    seniority_level: int | None = Field(
        None, description="Seniority level, 1 (most senior) to 15, used by the matching rules."
    )
    start_date: datetime | None = Field(None, description="First working day; only the date is kept.")
    termination_date: datetime | None = Field(
        None,
        description="Last working day; only the date is kept. Once it has come, the person leaves "
        "every live programme.",
    )


class DirectoryUser(Resource[AnyExtension]):
    """A person in the company directory."""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = Field(
        None, description="The identity provider's login name; unique, compared case-insensitively."
    )
    name: Name | None = Field(None, description="The person's name.")
    display_name: str | None = Field(
        None, description='The name shown in Bridge; left out, "givenName familyName" or userName.'
    )
    title: str | None = Field(None, description="Job title.")
    locale: str | None = Field(
        None,
        examples=list(LOCALES),
        description="Language (and region) for messages, e.g. de or de-DE; left out, preferredLanguage.",
    )
    timezone: str | None = Field(None, description="IANA time zone, e.g. Europe/Berlin.")
    active: bool | None = Field(
        None, description="false: the person has left; every live enrolment of theirs is withdrawn."
    )
    emails: Annotated[list[Email] | None, Required.true] = Field(
        None, description="The work e-mail address (the primary one, else type work, else the first)."
    )


ScimUser = DirectoryUser[EnterpriseUser | BridgeUser]
"""The User resource with both extensions: what /Users reads and writes."""

# What the identity provider may send beyond the specification, and still be understood:
# attributes this service does not keep are dropped (not refused); a PATCH path filter that matches
# nothing (Entra's `emails[type eq "work"].value` on a user without one) creates the entry; and a
# remove carrying a `value` removes that value (Entra, for multi-valued attributes).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
)

# DirectoryRecord fields by the SCIM attribute they come from (for error messages).
ATTRIBUTE_OF: dict[str, str] = {
    "employee_id": f"{ENTERPRISE_SCHEMA}:employeeNumber",
    "user_name": "userName",
    "external_id": "externalId",
    "display_name": "displayName",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "email": "emails.value",
    "title": "title",
    "department": f"{ENTERPRISE_SCHEMA}:department",
    "manager_employee_id": f"{ENTERPRISE_SCHEMA}:manager",
    "region": f"{BRIDGE_SCHEMA}:region",
    "seniority_level": f"{BRIDGE_SCHEMA}:seniorityLevel",
    "locale": "locale",
    "timezone": "timezone",
    "start_date": f"{BRIDGE_SCHEMA}:startDate",
    "termination_date": f"{BRIDGE_SCHEMA}:terminationDate",
    "active": "active",
}


def scim_error(exc: SCIMException | ValidationError) -> Error:
    """The SCIM Error message of a refusal: the first problem found, with its scimType."""
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        return Error.from_validation_error(errors[0]) if errors else Error(status=400)
    return exc.to_error()


def _refusal(exc: ValidationError) -> SCIMException:
    return SCIMException.from_error(scim_error(exc))


# -- reading requests ---------------------------------------------------------------------------


def parse_user(payload: Any, context: Context) -> Any:
    """A POST or PUT body as a `ScimUser` (`context`: RESOURCE_CREATION_REQUEST or
    RESOURCE_REPLACEMENT_REQUEST). Raises SCIMException (invalidSyntax, invalidValue, ...)."""
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object (a SCIM User).")
    try:
        return ScimUser.model_validate(payload, scim_ctx=context, scim_policy=POLICY)
    except ValidationError as exc:
        raise _refusal(exc) from None


def _is_manager_path(path: Any) -> bool:
    text = str(path or "").strip().lower()
    return text in (f"{ENTERPRISE_SCHEMA}:manager".lower(), "manager")


def parse_patch(payload: Any) -> Any:
    """A PATCH body as a `PatchOp[ScimUser]`. Operations are case-insensitive (Entra ID sends
    "Replace") and booleans may come as strings ("False"), as the library reads them; a manager sent
    as a bare id (Entra ID: `"value": "<id>"`) is read as `{"value": "<id>"}`."""
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object (a SCIM PatchOp).")
    operations = payload.get("Operations")
    if isinstance(operations, list):
        fixed = []
        for op in operations:
            if isinstance(op, dict) and _is_manager_path(op.get("path")) and isinstance(op.get("value"), str):
                op = {**op, "value": {"value": op["value"]}}
            fixed.append(op)
        payload = {**payload, "Operations": fixed}
    try:
        return PatchOp[ScimUser].model_validate(
            payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
    except ValidationError as exc:
        raise _refusal(exc) from None


def apply_patch(user: Any, patch: Any) -> Any:
    """A copy of `user` with the operations applied. Raises SCIMException (noTarget, mutability,
    invalidValue, ...)."""
    patched = user.model_copy(deep=True)
    try:
        with POLICY:
            patch.patch(patched)
    except ValidationError as exc:
        raise _refusal(exc) from None
    return patched


def preferred_language(payload: Any) -> str | None:
    """`preferredLanguage` as the identity provider sent it (in a User body, or in a PATCH's
    operations): the directory has no field of its own for it, it stands in for a missing locale."""
    if not isinstance(payload, dict):
        return None
    found: Any = None
    for key, value in payload.items():
        if isinstance(key, str) and key.lower() == "preferredlanguage":
            found = value
    for op in payload.get("Operations") or []:
        if not isinstance(op, dict) or str(op.get("op", "")).lower() == "remove":
            continue
        path, value = str(op.get("path") or "").lower(), op.get("value")
        if path in ("preferredlanguage", f"{USER_SCHEMA}:preferredLanguage".lower()):
            found = value
        elif not path and isinstance(value, dict):
            found = preferred_language(value) or found
    return found if isinstance(found, str) else None


# -- SCIM -> directory ----------------------------------------------------------------------------

_LOCALE = re.compile(r"^([A-Za-z]{2})(?:[-_]([A-Za-z]{2}))?$")


def normalize_locale(raw: str | None) -> str | None:
    """`en`, `en-US`, `en_us` -> `en` / `en-US`; the first tag of a list (`de-DE,de;q=0.9`).
    None when it is not a language (and optional region) tag the directory can keep."""
    if not raw:
        return None
    tag = raw.split(",")[0].split(";")[0].strip()
    match = _LOCALE.match(tag)
    if match is None:
        return None
    language, region = match.group(1).lower(), match.group(2)
    return f"{language}-{region.upper()}" if region else language


def derive_employee_id(external_id: str | None, user_name: str | None) -> str:
    """An employee id for a person the identity provider sent without an employeeNumber: stable (the
    same input gives the same id), unique (a hash of the whole input) and within DirectoryRecord's
    pattern: `scim:<externalId or userName, other characters as ->:<12 hex of its SHA-256>`.
    From externalId when there is one (it outlives a renamed login), else from userName (compared
    case-insensitively, so case-folded first). Only used at creation: later writes keep the id."""
    if external_id:
        source, kind = external_id, "externalId"
    elif user_name:
        source, kind = user_name.casefold(), "userName"
    else:
        raise InvalidValueException(detail="userName is required.")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", source).strip("-.")[:80]
    digest = hashlib.sha256(f"{kind}:{source}".encode()).hexdigest()[:12]
    return f"scim:{readable}:{digest}" if readable else f"scim:{digest}"


def work_email(user: Any) -> str | None:
    """The address the directory keeps: the primary one, else the work one, else the first."""
    emails = [e for e in user.emails or [] if e.value]
    chosen = (
        next((e for e in emails if e.primary is True), None)
        or next((e for e in emails if str(e.type or "").lower() == "work"), None)
        or next(iter(emails), None)
    )
    return str(chosen.value) if chosen is not None else None


def manager_ref(user: Any) -> str | None:
    """The manager's SCIM id as sent (the caller resolves it to an employee id), or None."""
    enterprise = user[EnterpriseUser]
    manager = enterprise.manager if enterprise is not None else None
    value = manager.value if manager is not None else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def manager_person_id(ref: str | None) -> uuid.UUID | None:
    """A manager reference as a directory person id; None when it cannot be one (unknown)."""
    try:
        return uuid.UUID(ref) if ref else None
    except ValueError:
        return None


def _date(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def to_record(
    user: Any,
    *,
    existing: DirectoryRecord | None,
    manager_employee_id: str | None,
    preferred: str | None = None,
    keep_absent_extensions: bool = False,
) -> DirectoryRecord:
    """The directory record a SCIM User says. `existing`: the stored record (PUT, PATCH), whose
    employee id is kept when employeeNumber is left out. `keep_absent_extensions` (PUT): an extension
    the body does not carry at all keeps its fields as stored (an identity provider that knows nothing
    of the Bridge extension does not clear what an HRIS file set); PATCH works on the whole resource
    and passes False. Raises InvalidValueException naming the SCIM attribute."""
    enterprise = user[EnterpriseUser]
    bridge = user[BridgeUser]
    keep_enterprise = keep_absent_extensions and enterprise is None and existing is not None
    keep_bridge = keep_absent_extensions and bridge is None and existing is not None

    email = work_email(user)
    if email is None:
        raise InvalidValueException(detail="emails: a work e-mail address (emails[].value) is required.")
    if not user.user_name or not user.user_name.strip():
        raise InvalidValueException(detail="userName is required.")

    employee_id = enterprise.employee_number if enterprise is not None else None
    if not employee_id:
        employee_id = (
            existing.employee_id
            if existing is not None
            else derive_employee_id(user.external_id, user.user_name)
        )

    given = user.name.given_name if user.name is not None else None
    family = user.name.family_name if user.name is not None else None
    display = (user.display_name or "").strip() or " ".join(p for p in (given, family) if p) or user.user_name

    locale = normalize_locale(user.locale)
    if user.locale and locale is None:
        raise InvalidValueException(
            detail=f"locale: {user.locale!r} is not a language tag such as en or de-DE."
        )
    if locale is None:
        locale = normalize_locale(preferred)

    fields: dict[str, Any] = {
        "employee_id": employee_id,
        "user_name": user.user_name,
        "external_id": user.external_id,
        "display_name": display,
        "given_name": given,
        "family_name": family,
        "email": email,
        "title": user.title,
        "locale": locale,
        "timezone": user.timezone,
        "active": True if user.active is None else user.active,
    }
    if keep_enterprise and existing is not None:
        fields.update(department=existing.department, manager_employee_id=existing.manager_employee_id)
    else:
        fields.update(
            department=enterprise.department if enterprise is not None else None,
            manager_employee_id=manager_employee_id,
        )
    if keep_bridge and existing is not None:
        fields.update(
            region=existing.region,
            seniority_level=existing.seniority_level,
            start_date=existing.start_date,
            termination_date=existing.termination_date,
        )
    else:
        fields.update(
            region=bridge.region if bridge is not None else None,
            seniority_level=bridge.seniority_level if bridge is not None else None,
            start_date=_date(bridge.start_date) if bridge is not None else None,
            termination_date=_date(bridge.termination_date) if bridge is not None else None,
        )
    try:
        return DirectoryRecord.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        for name, attribute in ATTRIBUTE_OF.items():  # a rule across fields names them in its message
            message = re.sub(rf"\b{name}\b", attribute, message)
        field = str(first["loc"][0]) if first.get("loc") else ""
        detail = f"{ATTRIBUTE_OF.get(field, field)}: {message}" if field else message
        raise InvalidValueException(detail=detail) from None


# -- directory -> SCIM ----------------------------------------------------------------------------


def etag(version: int) -> str:
    """The weak entity tag of a stored version (meta.version and the ETag header)."""
    return f'W/"{version}"'


@dataclass(frozen=True)
class Manager:
    """The manager as read back: their SCIM id and location."""

    person_id: uuid.UUID
    location: str


def to_scim(
    record: DirectoryRecord,
    *,
    person_id: uuid.UUID,
    version: int,
    created: datetime,
    last_modified: datetime,
    location: str,
    manager: Manager | None,
) -> Any:
    """The SCIM User of a stored directory entry. `manager`: the manager's directory entry, when the
    record names one that exists (an HRIS-only manager id is not shown, and is kept on PATCH)."""
    user = ScimUser(
        id=str(person_id),
        external_id=record.external_id,
        user_name=record.user_name or str(record.email),
        name=Name(given_name=record.given_name, family_name=record.family_name)
        if record.given_name or record.family_name
        else None,
        display_name=record.display_name,
        title=record.title,
        locale=record.locale,
        timezone=record.timezone,
        active=record.active,
        emails=[Email(value=record.email, type="work", primary=True)],
        meta=Meta(
            resource_type="User",
            created=created,
            last_modified=last_modified,
            location=location,
            version=etag(version),
        ),
    )
    user[EnterpriseUser] = EnterpriseUser(
        employee_number=record.employee_id,
        department=record.department,
        manager=ManagerRef(value=str(manager.person_id), ref=manager.location) if manager else None,
    )
    bridge = BridgeUser(
        region=record.region,
        seniority_level=record.seniority_level,
        start_date=_midnight(record.start_date),
        termination_date=_midnight(record.termination_date),
    )
    if any(
        v is not None
        for v in (bridge.region, bridge.seniority_level, bridge.start_date, bridge.termination_date)
    ):
        user[BridgeUser] = bridge
    return user


def _midnight(value: date | None) -> datetime | None:
    return datetime(value.year, value.month, value.day, tzinfo=UTC) if value is not None else None


# -- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """What a supported filter asks for: every given field must match (find's arguments)."""

    user_name: str | None = None
    external_id: str | None = None
    employee_id: str | None = None


# Filterable attributes (lower-cased attribute path) -> Lookup field.
_FILTERABLE = {
    "username": "user_name",
    "externalid": "external_id",
    f"{ENTERPRISE_SCHEMA}:employeeNumber".lower(): "employee_id",
}
MAX_FILTER_LENGTH = 1000
SUPPORTED_FILTERS = f'userName eq "...", externalId eq "...", {ENTERPRISE_SCHEMA}:employeeNumber eq "..."'


def _filter_key(path: AttrPath) -> str:
    prefix = f"{path.uri}:" if path.uri else ""
    if path.uri and path.uri.lower() == USER_SCHEMA.lower():
        prefix = ""  # urn:...:core:2.0:User:userName is userName
    return f"{prefix}{path.attr}{'.' + path.sub_attr if path.sub_attr else ''}".lower()


def lookup_of(node: FilterNode | None) -> Lookup:
    """The directory lookup a parsed filter asks for: an `eq` on userName, externalId or the
    enterprise employeeNumber, or several joined by `and`. Anything else is refused (invalidFilter):
    the directory is not searched any other way."""
    if node is None:
        return Lookup()
    terms: Sequence[FilterNode] = (
        node.terms if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_ else (node,)
    )
    found: dict[str, str] = {}
    for term in terms:
        if not (isinstance(term, Comparison) and term.op == CompareOperator.eq):
            raise InvalidFilterException(detail=f"Unsupported filter; supported: {SUPPORTED_FILTERS}.")
        field = _FILTERABLE.get(_filter_key(term.attr_path))
        if field is None or not isinstance(term.value, str):
            raise InvalidFilterException(
                detail=f"Cannot filter on {term.attr_path}; supported: {SUPPORTED_FILTERS}."
            )
        if field in found and found[field] != term.value:
            raise InvalidFilterException(detail=f"{term.attr_path} is compared twice.")
        found[field] = term.value
    return Lookup(**found)


def search_request(params: Mapping[str, Any]) -> Any:
    """The query of GET /Users (or the body of POST /Users/.search) as a `SearchRequest[ScimUser]`:
    filter (parsed and checked against the schema), startIndex, count, attributes,
    excludedAttributes. sortBy is ignored (sorting is not supported, as /ServiceProviderConfig says).
    Raises SCIMException (invalidFilter, invalidValue, invalidPath)."""
    wanted = ("filter", "startIndex", "count", "attributes", "excludedAttributes")
    folded = {str(k).lower(): v for k, v in params.items()}
    data = {name: folded[name.lower()] for name in wanted if name.lower() in folded}
    for name in ("startIndex", "count"):
        value = data.get(name)
        if isinstance(value, str):
            try:
                data[name] = int(value)
            except ValueError:
                raise InvalidValueException(detail=f"{name} must be an integer.") from None
    raw_filter = data.get("filter")
    if isinstance(raw_filter, str) and not raw_filter.strip():
        data.pop("filter")
    elif isinstance(raw_filter, str) and len(raw_filter) > MAX_FILTER_LENGTH:
        raise InvalidFilterException(detail=f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    try:
        return SearchRequest[ScimUser].model_validate(data, scim_policy=POLICY)
    except ValidationError as exc:
        raise _refusal(exc) from None


def response_parameters(params: Mapping[str, Any]) -> Any:
    """`attributes` / `excludedAttributes` of a request for one resource (RFC 7644 section 3.9)."""
    folded = {str(k).lower(): v for k, v in params.items()}
    data = {
        name: folded[name.lower()] for name in ("attributes", "excludedAttributes") if name.lower() in folded
    }
    try:
        return ResponseParameters[ScimUser].model_validate(data, scim_policy=POLICY)
    except ValidationError as exc:
        raise _refusal(exc) from None


# Beyond this a start index asks for a page past any directory (and past PostgreSQL's integers).
MAX_START_INDEX = 1_000_000_000


def page_of(request: Any, max_results: int) -> tuple[int, int]:
    """(startIndex, count) to read: startIndex at least 1; count at most `max_results` (RFC 7644
    section 3.4.2.4: more is not an error, the page is shorter), `max_results` when not given."""
    start = min(max(request.start_index or 1, 1), MAX_START_INDEX)
    count = max_results if request.count is None else min(max(request.count, 0), max_results)
    return start, count


def list_response(users: Sequence[Any], *, total: int, start_index: int) -> Any:
    return ListResponse[ScimUser](
        total_results=total, start_index=start_index, items_per_page=len(users), resources=list(users)
    )


def if_match_versions(header: str | None) -> set[int] | None:
    """The versions an If-Match header accepts; None when it accepts any (absent, or `*`). A tag that
    is not one of this service's never matches (an empty set)."""
    if header is None or not header.strip():
        return None
    versions: set[int] = set()
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return None
        tag = tag.removeprefix("W/").strip('"')
        if tag.isdigit():
            versions.add(int(tag))
    return versions


# -- discovery ----------------------------------------------------------------------------------


def service_provider_config(*, max_results: int, location: str, documentation_uri: str | None) -> Any:
    """What this service supports: PATCH, filter (see `lookup_of`) with at most `max_results` a
    page, ETags; not bulk, sorting or password changes. Authentication: a bearer token."""
    return ServiceProviderConfig(
        documentation_uri=documentation_uri,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="Authorization: Bearer <the SCIM provisioning token configured for "
                "this service>. A person's sign-in token is not accepted.",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=location),
    )


def schemas(base_url: str) -> list[Schema]:
    """The schemas /Schemas serves: the User schema and its two extensions as this service keeps
    them, and the three discovery schemas RFC 7643 section 7 defines."""
    out: list[Schema] = []
    for model, name in (
        (DirectoryUser, "User"),
        (EnterpriseUser, "EnterpriseUser"),
        (BridgeUser, "BridgeUser"),
        (ResourceType, "ResourceType"),
        (ServiceProviderConfig, "ServiceProviderConfig"),
        (Schema, "Schema"),
    ):
        schema = model.to_schema()
        schema.name = name
        schema.meta = Meta(resource_type="Schema", location=f"{base_url}/Schemas/{schema.id}")
        out.append(schema)
    return out


def resource_types(base_url: str) -> list[ResourceType]:
    """The one resource type served: User, with the enterprise and Bridge extensions (optional)."""
    user = ResourceType.from_resource(ScimUser)
    user.description = "A person in the company directory"
    user.meta = Meta(resource_type="ResourceType", location=f"{base_url}/ResourceTypes/User")
    return [user]
