"""SCIM 2.0 (RFC 7644) for the identity provider: people are provisioned into the company directory.

/scim/v2/Users (GET with filter and paging, POST, POST /.search), /Users/{id} (GET, PUT, PATCH,
DELETE), and the discovery documents /ServiceProviderConfig, /Schemas, /ResourceTypes. Bodies and
answers are application/scim+json (application/json accepted, and answered to a client that asks only
for it); every refusal is a SCIM Error (RFC 7644 section 3.12), not problem+json, because identity
providers read `scimType`.

Authorised by the identity provider's own credential (`scim_bearer_token`), never a person's token:
the router is mounted without the service's JWT authentication (ServiceDefinition.public_routers) and
checks the bearer token itself, in constant time. With no token configured SCIM is off and every
/scim/v2 path answers 404 saying so (chosen over 503: nothing is temporarily unavailable, the feature
is not set up).

Thin: parsing and mapping are domain/scim.py's, writes are app/directory.py's (source "scim"). A
deactivation (`active: false`) makes the person a leaver; DELETE removes them from the directory (a
person still active leaves with cause "deleted").
"""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidSyntaxException,
    ListResponse,
    NotFoundException,
    PayloadTooLargeException,
    PreconditionFailedException,
    ResourceType,
    Schema,
    SCIMException,
    UnauthorizedException,
    UniquenessException,
)
from starlette.routing import Match

from bridge_matching.api.deps import get_runtime
from bridge_matching.app import directory
from bridge_matching.app.directory import (
    DirectoryConflict,
    DirectoryEntry,
    DirectoryNotFound,
    PersonErased,
    VersionMismatch,
)
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.domain import scim
from bridge_matching.domain.directory import Source

SOURCE: Source = "scim"
PREFIX = "/scim/v2"
# A PATCH or PUT computed from a version another write overtook is computed again, this many times in
# all, when the client did not make it conditional (If-Match); then it answers 412.
WRITE_ATTEMPTS = 3


def _media_type(request: Request) -> str:
    """application/scim+json, unless the client accepts application/json and not SCIM's type."""
    accept = request.headers.get("accept", "").lower()
    if "application/json" in accept and scim.SCIM_MEDIA_TYPE not in accept:
        return "application/json"
    return scim.SCIM_MEDIA_TYPE


def _answer(
    request: Request, body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type=_media_type(request),
        headers=dict(headers or {}),
    )


def _error(request: Request, error: Error, headers: Mapping[str, str] | None = None) -> Response:
    status = error.status or 400
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="scim"'}
    return _answer(request, error.model_dump(scim_ctx=Context.DEFAULT), status, headers)


_CONFLICT_ATTRIBUTE = {
    "employee_id": f"{scim.ENTERPRISE_SCHEMA}:employeeNumber",
    "user_name": "userName",
    "external_id": "externalId",
}


class ScimRoute(APIRoute):
    """Answers every refusal of a SCIM route as a SCIM Error, whatever raised it: the request, the
    mapping, or the directory's use cases."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SCIMException as exc:
                return _error(request, exc.to_error())
            except ValidationError as exc:
                return _error(request, scim.scim_error(exc))
            except RequestValidationError:
                return _error(request, Error(status=400, scim_type="invalidValue", detail="Invalid request."))
            except DirectoryNotFound:
                return _error(request, NotFoundException(detail="No such user.").to_error())
            except DirectoryConflict as exc:
                attribute = _CONFLICT_ATTRIBUTE.get(exc.field, exc.field)
                detail = f"Another user already has this {attribute}."
                return _error(request, UniquenessException(detail=detail).to_error())
            except VersionMismatch:
                detail = "The user has changed since that version (If-Match)."
                return _error(request, PreconditionFailedException(detail=detail).to_error())
            except PersonErased as exc:
                # Nothing is stored: the person asked to be erased (docs/privacy.md). 409, as enrolling
                # them is; the identity provider's admin should stop assigning them to Bridge.
                detail = (
                    f"This person was erased on request on {exc.erased_on}: Bridge keeps no data about "
                    "them. Unassign them from the Bridge application in the identity provider."
                )
                return _error(request, Error(status=409, scim_type="uniqueness", detail=detail))

        return guarded


def _looks_like_jwt(token: str) -> bool:
    parts = token.split(".")
    return len(parts) == 3 and token.startswith("eyJ")


async def scim_caller(request: Request, rt: MatchingRuntime = Depends(get_runtime)) -> None:
    """The identity provider, by its bearer token (constant-time comparison)."""
    configured = rt.settings.scim_bearer_token
    if configured is None:
        raise NotFoundException(
            detail="SCIM provisioning is not enabled on this service "
            "(set BRIDGE_MATCHING_SCIM_BEARER_TOKEN to the identity provider's token)."
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    expected = configured.get_secret_value().encode()
    if scheme.lower() == "bearer" and token and hmac.compare_digest(token.encode(), expected):
        return
    if scheme.lower() == "bearer" and _looks_like_jwt(token):
        detail = "A person's sign-in token is not accepted here: send the SCIM provisioning token."
    else:
        detail = "Send Authorization: Bearer <the SCIM provisioning token>."
    raise UnauthorizedException(detail=detail)


router = APIRouter(
    prefix=PREFIX,
    tags=["scim"],
    include_in_schema=False,  # SCIM describes itself (/ServiceProviderConfig, /Schemas, /ResourceTypes)
    route_class=ScimRoute,
    dependencies=[Depends(scim_caller)],
)


# -- requests -------------------------------------------------------------------------------------


async def _json_body(request: Request, limit: int) -> Any:
    """The JSON body, read up to `limit` bytes (a larger one: 413)."""
    content_type = request.headers.get("content-type")
    if content_type:
        media = content_type.split(";")[0].strip().lower()
        if media not in (scim.SCIM_MEDIA_TYPE, "application/json"):
            raise SCIMException.from_error(
                Error(status=415, detail=f"Send {scim.SCIM_MEDIA_TYPE} (or application/json), not {media}.")
            )
    too_large = PayloadTooLargeException(detail=f"The request body is larger than {limit} bytes.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise too_large
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidSyntaxException(detail="The body is not valid JSON.") from None


def _person_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFoundException(detail="No such user.") from None


def _base_url(request: Request, rt: MatchingRuntime) -> str:
    base = rt.settings.public_base_url or str(request.base_url)
    return f"{base.rstrip('/')}{PREFIX}"


def _check_version(entry: DirectoryEntry, accepted: set[int] | None) -> None:
    if accepted is not None and entry.version not in accepted:
        raise PreconditionFailedException(
            detail=f"The user is at version {scim.etag(entry.version)}, not the one If-Match names."
        )


# -- directory <-> SCIM ---------------------------------------------------------------------------


class _Users:
    """Reads the directory for one request: renders entries, resolves managers (each looked up once)."""

    def __init__(self, request: Request, rt: MatchingRuntime) -> None:
        self.rt = rt
        self.base = _base_url(request, rt)
        self._managers: dict[str, scim.Manager | None] = {}

    def location(self, person_id: uuid.UUID) -> str:
        return f"{self.base}/Users/{person_id}"

    async def shown_manager(self, employee_id: str | None) -> scim.Manager | None:
        """The manager's directory entry as SCIM shows it; None when the directory has none."""
        if not employee_id:
            return None
        key = employee_id.lower()
        if key not in self._managers:
            _, found = await directory.find(self.rt, employee_id=employee_id, count=1)
            self._managers[key] = (
                scim.Manager(person_id=found[0].id, location=self.location(found[0].id)) if found else None
            )
        return self._managers[key]

    async def render(self, entry: DirectoryEntry) -> Any:
        return scim.to_scim(
            entry.record,
            person_id=entry.id,
            version=entry.version,
            created=entry.created_at,
            last_modified=entry.updated_at,
            location=self.location(entry.id),
            manager=await self.shown_manager(entry.record.manager_employee_id),
        )

    async def manager_employee_id(
        self, user: Any, *, existing: DirectoryEntry | None, shown: str | None
    ) -> str | None:
        """The employee id of the manager `user` names. The manager shown before (`shown`) keeps the
        stored id (also one an HRIS file set that SCIM cannot show); a manager not in the directory,
        or not an id of this service, leaves it unset rather than refusing the write."""
        ref = scim.manager_ref(user)
        if existing is not None and ref == shown:
            return existing.record.manager_employee_id
        person_id = scim.manager_person_id(ref)
        if person_id is None:
            return None
        try:
            manager = await directory.get(self.rt, person_id)
        except DirectoryNotFound:
            return None
        return manager.record.employee_id

    def answer(
        self, request: Request, entry: DirectoryEntry, user: Any, context: Context, status: int = 200
    ) -> Response:
        body = user.model_dump(
            scim_ctx=context, response_parameters=scim.response_parameters(request.query_params)
        )
        headers = {"ETag": scim.etag(entry.version), "Content-Location": self.location(entry.id)}
        if status == 201:
            headers["Location"] = self.location(entry.id)
        return _answer(request, body, status, headers)


# -- /Users ---------------------------------------------------------------------------------------


async def _search(request: Request, rt: MatchingRuntime, params: Mapping[str, Any]) -> Response:
    query = scim.search_request(params)
    lookup = scim.lookup_of(query.filter.ast if query.filter is not None else None)
    start, count = scim.page_of(query, rt.settings.scim_max_results)
    total, entries = await directory.find(rt, **asdict(lookup), start_index=start, count=count)
    users = _Users(request, rt)
    listed = scim.list_response([await users.render(e) for e in entries], total=total, start_index=start)
    return _answer(request, listed.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=query))


@router.get("/Users")
async def list_users(request: Request, rt: MatchingRuntime = Depends(get_runtime)) -> Response:
    """Users, filtered (userName, externalId or the enterprise employeeNumber, `eq`) and paged."""
    return await _search(request, rt, request.query_params)


@router.post("/Users/.search")
async def search_users(request: Request, rt: MatchingRuntime = Depends(get_runtime)) -> Response:
    """The same query as GET /Users, as a SearchRequest body (RFC 7644 section 3.4.3)."""
    body = await _json_body(request, rt.settings.scim_max_body_bytes)
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object (a SCIM SearchRequest).")
    return await _search(request, rt, body)


@router.post("/Users")
async def create_user(request: Request, rt: MatchingRuntime = Depends(get_runtime)) -> Response:
    """A new person in the directory (a joiner): 201 with the User, or 409 uniqueness."""
    payload = await _json_body(request, rt.settings.scim_max_body_bytes)
    user = scim.parse_user(payload, Context.RESOURCE_CREATION_REQUEST)
    users = _Users(request, rt)
    record = scim.to_record(
        user,
        existing=None,
        manager_employee_id=await users.manager_employee_id(user, existing=None, shown=None),
        preferred=scim.preferred_language(payload),
    )
    entry = await directory.create(rt, record, source=SOURCE)
    return users.answer(request, entry, await users.render(entry), Context.RESOURCE_CREATION_RESPONSE, 201)


@router.get("/Users/{person_id}")
async def get_user(person_id: str, request: Request, rt: MatchingRuntime = Depends(get_runtime)) -> Response:
    entry = await directory.get(rt, _person_id(person_id))
    unchanged = scim.if_match_versions(request.headers.get("if-none-match"))
    if request.headers.get("if-none-match") and (unchanged is None or entry.version in unchanged):
        return Response(status_code=304, headers={"ETag": scim.etag(entry.version)})
    users = _Users(request, rt)
    return users.answer(request, entry, await users.render(entry), Context.RESOURCE_QUERY_RESPONSE)


@router.put("/Users/{person_id}")
async def replace_user(
    person_id: str, request: Request, rt: MatchingRuntime = Depends(get_runtime)
) -> Response:
    """Replaces the user. An extension the body leaves out entirely keeps its stored fields, and a
    left-out employeeNumber keeps the stored one (see domain/scim.to_record); `active: false` makes
    the person a leaver."""
    pid = _person_id(person_id)
    accepted = scim.if_match_versions(request.headers.get("if-match"))
    payload = await _json_body(request, rt.settings.scim_max_body_bytes)
    user = scim.parse_user(payload, Context.RESOURCE_REPLACEMENT_REQUEST)
    users = _Users(request, rt)
    for attempt in range(WRITE_ATTEMPTS):
        entry = await directory.get(rt, pid)
        _check_version(entry, accepted)
        shown = await users.shown_manager(entry.record.manager_employee_id)
        record = scim.to_record(
            user,
            existing=entry.record,
            manager_employee_id=await users.manager_employee_id(
                user, existing=entry, shown=str(shown.person_id) if shown else None
            ),
            preferred=scim.preferred_language(payload),
            keep_absent_extensions=True,
        )
        try:
            entry = await directory.replace(rt, pid, record, source=SOURCE, if_version=entry.version)
        except VersionMismatch:
            if accepted is not None or attempt == WRITE_ATTEMPTS - 1:
                raise
            continue
        break
    return users.answer(request, entry, await users.render(entry), Context.RESOURCE_REPLACEMENT_RESPONSE)


@router.patch("/Users/{person_id}")
async def patch_user(
    person_id: str, request: Request, rt: MatchingRuntime = Depends(get_runtime)
) -> Response:
    """Applies add / replace / remove operations (case-insensitive ops, Entra ID's string booleans and
    bare manager ids understood) to the user as stored, then writes the result."""
    pid = _person_id(person_id)
    accepted = scim.if_match_versions(request.headers.get("if-match"))
    payload = await _json_body(request, rt.settings.scim_max_body_bytes)
    patch = scim.parse_patch(payload)
    users = _Users(request, rt)
    for attempt in range(WRITE_ATTEMPTS):
        entry = await directory.get(rt, pid)
        _check_version(entry, accepted)
        current = await users.render(entry)
        patched = scim.apply_patch(current, patch)
        record = scim.to_record(
            patched,
            existing=entry.record,
            manager_employee_id=await users.manager_employee_id(
                patched, existing=entry, shown=scim.manager_ref(current)
            ),
            preferred=scim.preferred_language(payload),
        )
        try:
            entry = await directory.replace(rt, pid, record, source=SOURCE, if_version=entry.version)
        except VersionMismatch:
            if accepted is not None or attempt == WRITE_ATTEMPTS - 1:
                raise
            continue
        break
    return users.answer(request, entry, await users.render(entry), Context.RESOURCE_PATCH_RESPONSE)


@router.delete("/Users/{person_id}")
async def delete_user(
    person_id: str, request: Request, rt: MatchingRuntime = Depends(get_runtime)
) -> Response:
    """Removes the user from the directory (GET answers 404 afterwards); a person still active leaves
    every live programme (cause "deleted"). With If-Match, only at that version."""
    pid = _person_id(person_id)
    accepted = scim.if_match_versions(request.headers.get("if-match"))
    if accepted is not None:
        _check_version(await directory.get(rt, pid), accepted)
    await directory.delete(rt, pid, source=SOURCE)
    return Response(status_code=204)


# -- discovery ------------------------------------------------------------------------------------


@router.get("/ServiceProviderConfig")
async def service_provider_config(request: Request, rt: MatchingRuntime = Depends(get_runtime)) -> Response:
    base = _base_url(request, rt)
    config = scim.service_provider_config(
        max_results=rt.settings.scim_max_results,
        location=f"{base}/ServiceProviderConfig",
        documentation_uri=None,
    )
    return _answer(request, config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _listed(request: Request, items: list[Any], model: type[Any]) -> Response:
    listed = ListResponse[model](  # type: ignore[valid-type]
        total_results=len(items), start_index=1, items_per_page=len(items), resources=items
    )
    return _answer(request, listed.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get("/Schemas")
async def list_schemas(request: Request, rt: MatchingRuntime = Depends(get_runtime)) -> Response:
    return _listed(request, scim.schemas(_base_url(request, rt)), Schema)


@router.get("/Schemas/{schema_id}")
async def get_schema(
    schema_id: str, request: Request, rt: MatchingRuntime = Depends(get_runtime)
) -> Response:
    for schema in scim.schemas(_base_url(request, rt)):
        if str(schema.id).lower() == schema_id.lower():
            return _answer(request, schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"No schema {schema_id!r}.")


@router.get("/ResourceTypes")
async def list_resource_types(request: Request, rt: MatchingRuntime = Depends(get_runtime)) -> Response:
    return _listed(request, scim.resource_types(_base_url(request, rt)), ResourceType)


@router.get("/ResourceTypes/{type_id}")
async def get_resource_type(
    type_id: str, request: Request, rt: MatchingRuntime = Depends(get_runtime)
) -> Response:
    for resource_type in scim.resource_types(_base_url(request, rt)):
        if str(resource_type.id).lower() == type_id.lower():
            return _answer(request, resource_type.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"No resource type {type_id!r}.")


@router.post("/.search")
async def search_all() -> Response:
    """Searching every resource type at once (RFC 7644 section 3.4.3) is not offered: 501."""
    raise SCIMException.from_error(
        Error(status=501, detail="Search /Users/.search instead: only users are served.")
    )


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@router.api_route("/{rest:path}", methods=list(_METHODS))
async def unknown(rest: str, request: Request) -> Response:
    """Anything else under /scim/v2: a SCIM 404, or 405 when the path exists for other methods."""
    allowed = [
        method
        for method in _METHODS
        for route in router.routes  # this router's own: their paths carry the prefix
        if isinstance(route, APIRoute)
        and route.endpoint is not unknown
        and route.matches({**request.scope, "method": method})[0] is Match.FULL
    ]
    if allowed:
        error = Error(
            status=405, detail=f"{request.method} is not allowed here; it accepts {', '.join(allowed)}."
        )
        return _error(request, error, {"Allow": ", ".join(allowed)})
    raise NotFoundException(detail=f"This service has no SCIM endpoint {request.url.path!r}.")
