"""Least privilege for routers (rule 7 of docs/access.md): `service` tokens only read.

Every service's routers carry `dependencies=[Depends(refuse_reader_writes)]`, so a non-GET/HEAD call
with a read-only token is 403 in one place. A route that documents otherwise sets
`openapi_extra=service_writes("why")` (the reason shows in its OpenAPI operation).
"""

from __future__ import annotations

from fastapi import Depends, Request

from bridge_shared.auth.dependencies import authenticate
from bridge_shared.auth.principal import Principal
from bridge_shared.auth.scope import READ_METHODS, SERVICE_WRITES, is_reader_only, service_writes
from bridge_shared.errors import Problem

__all__ = ["READ_ONLY_DETAIL", "refuse_reader_writes", "service_writes"]

READ_ONLY_DETAIL = "This token is read-only (role service): it may only call GET endpoints."


async def refuse_reader_writes(request: Request, principal: Principal = Depends(authenticate)) -> Principal:
    """403 for a read-only token on any non-GET/HEAD route that does not document service writes."""
    if request.method in READ_METHODS or not is_reader_only(principal):
        return principal
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    if SERVICE_WRITES in extra:
        return principal
    raise Problem(403, "Forbidden", READ_ONLY_DETAIL)
