"""Migrations per schema, and each service role confined to its own schema."""

from __future__ import annotations

import secrets

import asyncpg
import pytest

from bridge_shared.db.migrations import MigrationError, migrate
from bridge_shared.db.provision import provision

pytestmark = pytest.mark.integration


async def test_migrations_apply_once_and_are_recorded(scratch_service: tuple[str, str]) -> None:
    name, dsn = scratch_service
    conn = await asyncpg.connect(dsn)
    try:
        first = await migrate(conn, name, None)
        second = await migrate(conn, name, None)
        assert first == ["shared:0001", "shared:0002", "shared:0003"]
        assert second == []
        rows = await conn.fetch(f'SELECT component, version FROM "{name}".schema_migrations ORDER BY version')
        assert [(r["component"], r["version"]) for r in rows] == [("shared", 1), ("shared", 2), ("shared", 3)]
        assert await conn.fetchval("SELECT epoch FROM outbox_relay_lease") == 0
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await conn.close()


async def test_edited_migration_is_refused(scratch_service: tuple[str, str]) -> None:
    name, dsn = scratch_service
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn, name, None)
        await conn.execute(
            f"UPDATE \"{name}\".schema_migrations SET checksum = 'x' WHERE component = 'shared'"
        )
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, name, None)
    finally:
        await conn.close()


async def test_service_roles_cannot_read_each_others_tables(admin_dsn: str) -> None:
    # Names of their own: the real services' roles may be in use by another test area's platform.
    pw, tag = secrets.token_hex(8), secrets.token_hex(4)
    m, s = f"matching_{tag}", f"sessions_{tag}"
    matching_dsn = await provision(admin_dsn, m, pw)
    sessions_dsn = await provision(admin_dsn, s, pw)
    sessions = await asyncpg.connect(sessions_dsn)
    matching = await asyncpg.connect(matching_dsn)
    try:
        await sessions.execute(f"CREATE TABLE IF NOT EXISTS {s}.secret_probe (x int)")
        await sessions.execute(f"INSERT INTO {s}.secret_probe VALUES (1)")
        assert await sessions.fetchval(f"SELECT count(*) FROM {s}.secret_probe") >= 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await matching.fetchval(f"SELECT count(*) FROM {s}.secret_probe")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await matching.execute(f"CREATE TABLE {s}.intruder (x int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await matching.execute("CREATE TABLE public.intruder (x int)")
    finally:
        await sessions.execute(f"DROP TABLE IF EXISTS {s}.secret_probe")
        await sessions.close()
        await matching.close()
