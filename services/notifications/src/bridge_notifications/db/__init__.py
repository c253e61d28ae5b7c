"""Repositories: SQL in, typed rows out. Every "now" is passed in from the injected clock."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A connection, or the proxy asyncpg's pool hands out (the same methods, typed apart).
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


def affected(status: str) -> int:
    """The row count of an INSERT/UPDATE/DELETE command status ("UPDATE 3")."""
    return int(status.split()[-1])
