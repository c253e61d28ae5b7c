"""Pool connections typed as connections (asyncpg's pool hands out proxies, typed apart)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from bridge_shared.db.connection import as_connection


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection[Any]]:
    async with pool.acquire() as raw:
        yield as_connection(raw)


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection[Any]]:
    async with pool.acquire() as raw, raw.transaction():
        yield as_connection(raw)
