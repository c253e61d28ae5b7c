"""Versioned SQL migrations, kept per service and recorded per schema.

Files are named `NNNN_description.sql` inside the service's migrations package. Each runs in its own
transaction under an advisory lock, so two instances starting together apply each file once.
A checksum guards against editing a migration that has already been applied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg

from bridge_shared.db.locks import advisory_key

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def load_migrations(package: str) -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files(package).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {package}: {versions}")
    return found


SHARED_PACKAGE = "bridge_shared.db.sql"


async def migrate(conn: asyncpg.Connection[Any], schema: str, package: str | None) -> list[str]:
    """Apply the shared migrations (outbox, inbox), then `package`'s, to `schema`.

    Returns the migrations applied now as `component:version`.
    """
    components = [("shared", load_migrations(SHARED_PACKAGE))]
    if package:
        components.append((schema, load_migrations(package)))
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", advisory_key("migrations", schema))
    try:
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations (
                    component text NOT NULL,
                    version integer NOT NULL,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (component, version))"""
        )
        rows = await conn.fetch(f'SELECT component, version, checksum FROM "{schema}".schema_migrations')
        done = {(r["component"], r["version"]): r["checksum"] for r in rows}
        for component, migrations in components:
            for m in migrations:
                key = (component, m.version)
                if key in done:
                    if done[key] != m.checksum:
                        raise MigrationError(
                            f"{schema}: migration {component}/{m.version:04d}_{m.name} "
                            "changed after it was applied"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(f'SET LOCAL search_path = "{schema}"')
                    await conn.execute(m.sql)
                    await conn.execute(
                        f'INSERT INTO "{schema}".schema_migrations '
                        "(component, version, name, checksum) VALUES ($1, $2, $3, $4)",
                        component,
                        m.version,
                        m.name,
                        m.checksum,
                    )
                applied_now.append(f"{component}:{m.version:04d}")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", advisory_key("migrations", schema))
    return applied_now
