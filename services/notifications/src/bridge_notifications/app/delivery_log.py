"""The delivery log HR queries: every email/chat notification and its status. The one region rule
(docs/access.md): regional HR sees the rows addressed to people whose home region is one of theirs
(and to the HR contact of cohorts entirely in their regions), filtered in SQL; hr_admin and service
see every row. Webhook URLs are credentials, so the log shows only their host."""

from __future__ import annotations

import dataclasses
import uuid
from urllib.parse import urlsplit

import asyncpg

from bridge_notifications.db import deliveries
from bridge_notifications.db.deliveries import DeliveryRow, LogFilter
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import connection
from bridge_shared.errors import Problem
from bridge_shared.privacy.erased import ERASED_TEXT

__all__ = ["DeliveryRow", "LogFilter", "delivery", "search"]


def _redact(row: DeliveryRow) -> DeliveryRow:
    """A chat row's webhook URL is a credential: only its host is shown, in the address and in any
    error text that quoted it."""
    if row.channel != "chat" or row.to_address == ERASED_TEXT:  # an erased person's row: a placeholder
        return row
    parts = urlsplit(row.to_address)
    shown = f"{parts.scheme}://{parts.netloc}/…"
    error = row.last_error
    if error:
        for secret in (row.to_address, parts.path, parts.query):
            if secret and secret != "/":
                error = error.replace(secret, "…")
    return dataclasses.replace(row, to_address=shown, last_error=error)


def _regions(principal: Principal) -> list[str] | None:
    """None = every row (hr_admin, service)."""
    regions = scope.region_filter(principal)
    return None if regions is None else list(regions)


async def search(
    pool: asyncpg.Pool, principal: Principal, f: LogFilter, *, limit: int, offset: int
) -> list[DeliveryRow]:
    async with connection(pool) as conn:
        rows = await deliveries.search(conn, f, regions=_regions(principal), limit=limit, offset=offset)
    return [_redact(r) for r in rows]


async def delivery(pool: asyncpg.Pool, principal: Principal, delivery_id: uuid.UUID) -> DeliveryRow:
    async with connection(pool) as conn:
        row = await deliveries.get(conn, delivery_id, regions=_regions(principal))
    if row is None:
        raise Problem(404, "Not found", f"no delivery {delivery_id}")
    return _redact(row)
