"""Pool connections typed as connections: asyncpg's pool hands out proxies, which are typed apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias, cast

import asyncpg

# The connection type use cases, repositories and handlers pass around (asyncpg's is generic in its
# record class; Bridge uses plain Records).
Conn: TypeAlias = "asyncpg.Connection[Any]"


def as_connection(conn: Any) -> asyncpg.Connection[Any]:
    return cast("asyncpg.Connection[Any]", conn)


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection[Any]]:
    async with pool.acquire() as raw:
        yield as_connection(raw)


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection[Any]]:
    async with pool.acquire() as raw, raw.transaction():
        yield as_connection(raw)
