"""The connection type handlers see: asyncpg's pool proxies a Connection, but is typed apart."""

from __future__ import annotations

from typing import Any, cast

import asyncpg


def as_connection(conn: Any) -> asyncpg.Connection[Any]:
    return cast("asyncpg.Connection[Any]", conn)
