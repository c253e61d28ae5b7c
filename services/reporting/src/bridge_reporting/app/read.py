"""The transaction every report reads in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from bridge_shared.db.connection import as_connection


@asynccontextmanager
async def read(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection[Any]]:
    """A connection in a read-only transaction (a report's queries, or an export's cursor)."""
    async with pool.acquire() as raw, raw.transaction(readonly=True):
        yield as_connection(raw)
