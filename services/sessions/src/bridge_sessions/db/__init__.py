"""Repositories: SQL in, typed rows (bridge_sessions.domain.rows) out. One module per table group."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg

# Any: asyncpg's record-class parameter; Bridge uses the default asyncpg.Record everywhere, and the
# shared outbox and consumers take `asyncpg.Connection[Any]`.
Conn: TypeAlias = "asyncpg.Connection[Any]"
