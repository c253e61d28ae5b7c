"""The rebuild's tables: a shadow set (`rm_*__r<generation>`) shaped like the live one, swapped in
by renames. Table names come from domain/tables.py; the suffix is checked (db/upsert.check_suffix)."""

from __future__ import annotations

from typing import Any

import asyncpg

from bridge_reporting.db.upsert import check_suffix
from bridge_reporting.domain.tables import ALL_TABLES
from bridge_reporting.settings import ReportingSettings
from bridge_shared.db.locks import advisory_key
from bridge_shared.db.migrations import migrate
from bridge_shared.db.pool import create_pool

MIGRATIONS = "bridge_reporting.db.migrations"


async def connect(settings: ReportingSettings) -> asyncpg.Connection[Any]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(
        settings.database_url,
        server_settings={"search_path": settings.db_schema, "application_name": "bridge-reporting-rebuild"},
    )
    return conn


async def key_pool(settings: ReportingSettings) -> asyncpg.Pool:
    """A small pool for the rebuild's look-ups in the key vault (beside its own connection, which
    holds the shadow set's transactions)."""
    return await create_pool(settings.database_url, schema=settings.db_schema, min_size=1, max_size=2)


def _lock_key(schema: str) -> int:
    return advisory_key("reporting-rebuild", schema)  # one rebuild at a time per schema


async def try_lock(conn: asyncpg.Connection[Any], schema: str) -> bool:
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", _lock_key(schema)))


async def unlock(conn: asyncpg.Connection[Any], schema: str) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(schema))


async def migrate_live(conn: asyncpg.Connection[Any], schema: str) -> None:
    await migrate(conn, schema, MIGRATIONS)


async def create(conn: asyncpg.Connection[Any], suffix: str) -> None:
    check_suffix(suffix)
    for t in ALL_TABLES:
        await conn.execute(f"DROP TABLE IF EXISTS {t.name}{suffix}")
        await conn.execute(f"CREATE TABLE {t.name}{suffix} (LIKE {t.name} INCLUDING ALL)")


async def analyze(conn: asyncpg.Connection[Any], suffix: str) -> None:
    """Gathers the planner's statistics for the shadow set: tables filled in bulk have none until
    autovacuum gets to them, and without them the reports' joins are planned for empty tables (a
    cohort overview took 545 ms instead of 24). The statistics stay with the tables when renamed."""
    check_suffix(suffix)
    await conn.execute("ANALYZE " + ", ".join(f"{t.name}{suffix}" for t in ALL_TABLES))


async def drop(conn: asyncpg.Connection[Any], suffix: str) -> None:
    check_suffix(suffix)
    for t in ALL_TABLES:
        await conn.execute(f"DROP TABLE IF EXISTS {t.name}{suffix}")


async def lock_live(conn: asyncpg.Connection[Any], lock_timeout: str) -> None:
    """Locks every live table (the live consumer's next batch waits); in the caller's transaction,
    waiting at most `lock_timeout` (a PostgreSQL interval, e.g. '10s')."""
    await conn.execute("SELECT set_config('lock_timeout', $1, true)", lock_timeout)
    names = ", ".join(t.name for t in ALL_TABLES)
    await conn.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")


async def swap_in(conn: asyncpg.Connection[Any], suffix: str) -> None:
    """Renames the live tables away, the shadow ones in, and drops the old ones (in the caller's
    transaction, after `lock_live`)."""
    check_suffix(suffix)
    for t in ALL_TABLES:
        await conn.execute(f"ALTER TABLE {t.name} RENAME TO {t.name}{suffix}_old")
        await conn.execute(f"ALTER TABLE {t.name}{suffix} RENAME TO {t.name}")
        await conn.execute(f"DROP TABLE {t.name}{suffix}_old")


async def row_counts(conn: asyncpg.Connection[Any]) -> dict[str, int]:
    return {t.name: int(await conn.fetchval(f"SELECT count(*) FROM {t.name}")) for t in ALL_TABLES}
