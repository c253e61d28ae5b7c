"""The delivery log HR queries: every email/chat notification and its status. Regional HR sees the
cohorts of its regions only; webhook URLs are credentials, so the log shows only their host."""

from __future__ import annotations

import dataclasses
import uuid
from urllib.parse import urlsplit

import asyncpg

from bridge_notifications.db import deliveries, directory
from bridge_notifications.db.deliveries import DeliveryRow, LogFilter
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import Conn, connection
from bridge_shared.errors import Problem

__all__ = ["DeliveryRow", "LogFilter", "delivery", "search"]


def _redact(row: DeliveryRow) -> DeliveryRow:
    if row.channel != "chat":
        return row
    parts = urlsplit(row.to_address)
    return dataclasses.replace(row, to_address=f"{parts.scheme}://{parts.netloc}/…")


async def _visible_cohorts(conn: Conn, principal: Principal) -> list[str] | None:
    """None = every cohort (global HR)."""
    if principal.is_global_hr:
        return None
    return await directory.cohorts_in_regions(conn, sorted(principal.regions))


async def search(
    pool: asyncpg.Pool, principal: Principal, f: LogFilter, *, limit: int, offset: int
) -> list[DeliveryRow]:
    async with connection(pool) as conn:
        allowed = await _visible_cohorts(conn, principal)
        rows = await deliveries.search(conn, f, cohorts=allowed, limit=limit, offset=offset)
    return [_redact(r) for r in rows]


async def delivery(pool: asyncpg.Pool, principal: Principal, delivery_id: uuid.UUID) -> DeliveryRow:
    async with connection(pool) as conn:
        row = await deliveries.get(conn, delivery_id)
        allowed = await _visible_cohorts(conn, principal)
    if row is None or (allowed is not None and row.cohort_id not in allowed):
        raise Problem(404, "Not found", f"no delivery {delivery_id}")
    return _redact(row)
