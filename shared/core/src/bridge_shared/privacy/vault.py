"""The key vault: one random 256-bit key per person (participant id), kept outside Kafka.

Stored in PostgreSQL schema `bridge_vault` (table `subject_keys`), which `bridge-provision` creates:
every service role may read keys and create them; only the privacy coordinator's role (matching)
may destroy them. Destroying keeps a tombstone row (the participant id, `key` NULL, `erased_at`), so
no event written later can seal under a new key for an erased person. A company KMS can stand in
for this table behind the same three calls (docs/privacy.md).

Readers cache keys for `CACHE_SECONDS`; every service drops a person's cached key when it handles
their erasure, so the cache never outlives an erasure that the service has seen.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import asyncpg

from bridge_shared.privacy.sealing import new_key

VAULT_SCHEMA = "bridge_vault"
TABLE = f"{VAULT_SCHEMA}.subject_keys"
CACHE_SECONDS = 60.0
GRANTS_LOCK = 72420014
"""Advisory lock held while the vault's table or its grants change (PostgreSQL refuses two concurrent
changes of one table's privileges: "tuple concurrently updated")."""
_CACHE_MAX = 100_000

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {VAULT_SCHEMA};
CREATE TABLE IF NOT EXISTS {TABLE} (
    subject    text PRIMARY KEY CHECK (length(subject) BETWEEN 1 AND 128),
    key        bytea CHECK (key IS NULL OR length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz,
    CHECK ((key IS NULL) = (erased_at IS NOT NULL))
);
REVOKE ALL ON SCHEMA {VAULT_SCHEMA} FROM PUBLIC;
REVOKE ALL ON {TABLE} FROM PUBLIC;
"""


async def create_vault(conn: asyncpg.Connection[Any]) -> None:
    """Creates the vault's schema and table (idempotent; run with an admin DSN)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", GRANTS_LOCK)  # provisioning runs may overlap
        await conn.execute(DDL)


async def ensure_vault(conn: asyncpg.Connection[Any], role: str, *, can_erase: bool) -> None:
    """Creates the vault (idempotent) and grants `role` its use of it (run with an admin DSN)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", GRANTS_LOCK)  # provisioning runs may overlap
        await conn.execute(DDL)
        await conn.execute(f'GRANT USAGE ON SCHEMA {VAULT_SCHEMA} TO "{role}"')
        await conn.execute(f'GRANT SELECT, INSERT ON {TABLE} TO "{role}"')
        if can_erase:
            await conn.execute(f'GRANT UPDATE ON {TABLE} TO "{role}"')
        else:
            await conn.execute(f'REVOKE UPDATE, DELETE ON {TABLE} FROM "{role}"')


class KeyVault:
    """The vault as one process uses it, with a small cache of keys for reading."""

    def __init__(self, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[bytes | None, float]] = {}

    async def keys_for_sealing(
        self, conn: asyncpg.Connection[Any], subjects: Iterable[str]
    ) -> dict[str, bytes | None]:
        """Each person's key, created on first use; None for an erased person. Run it in the
        transaction that writes the event: a key created for an event that rolls back is harmless."""
        wanted = sorted(set(subjects))
        if not wanted:
            return {}
        # Sorted, so two writers creating keys for the same people lock them in the same order.
        await conn.execute(
            f"""INSERT INTO {TABLE} (subject, key)
                SELECT s, k FROM unnest($1::text[], $2::bytea[]) AS t(s, k)
                ON CONFLICT (subject) DO NOTHING""",
            wanted,
            [new_key() for _ in wanted],
        )
        rows = await conn.fetch(f"SELECT subject, key FROM {TABLE} WHERE subject = ANY($1::text[])", wanted)
        keys = {r["subject"]: (bytes(r["key"]) if r["key"] is not None else None) for r in rows}
        self._remember(keys)
        return keys

    def _from_cache(self, subjects: Iterable[str]) -> tuple[dict[str, bytes | None], list[str]]:
        now = time.monotonic()
        out: dict[str, bytes | None] = {}
        missing: list[str] = []
        for s in set(subjects):
            hit = self._cache.get(s)
            if hit is not None and (hit[0] is None or now - hit[1] < self.cache_seconds):
                out[s] = hit[0]
            else:
                missing.append(s)
        return out, missing

    def cached_keys(self, subjects: Iterable[str]) -> dict[str, bytes | None] | None:
        """The people's keys when every one is in the cache (no database needed), else None."""
        out, missing = self._from_cache(subjects)
        return None if missing else out

    async def keys_for_opening(
        self, conn: asyncpg.Connection[Any], subjects: Iterable[str]
    ) -> dict[str, bytes | None]:
        """Each person's key; None for an erased (or never known) person."""
        out, missing = self._from_cache(subjects)
        if missing:
            rows = await conn.fetch(
                f"SELECT subject, key FROM {TABLE} WHERE subject = ANY($1::text[])", sorted(missing)
            )
            found = {r["subject"]: (bytes(r["key"]) if r["key"] is not None else None) for r in rows}
            self._remember({s: found[s] for s in found})
            out.update({s: found.get(s) for s in missing})
        return out

    async def destroy(self, conn: asyncpg.Connection[Any], subjects: Iterable[str]) -> int:
        """Destroys the people's keys (a tombstone stays, so none is created again); returns how
        many keys were destroyed. Idempotent."""
        wanted = sorted(set(subjects))
        if not wanted:
            return 0
        await conn.execute(
            f"""INSERT INTO {TABLE} (subject, key, erased_at)
                SELECT s, NULL, now() FROM unnest($1::text[]) AS s
                ON CONFLICT (subject) DO NOTHING""",
            wanted,
        )
        status = await conn.execute(
            f"""UPDATE {TABLE} SET key = NULL, erased_at = now()
                WHERE subject = ANY($1::text[]) AND key IS NOT NULL""",
            wanted,
        )
        self.forget(wanted)
        for s in wanted:
            self._cache[s] = (None, time.monotonic())
        return int(status.split()[-1])

    async def erased(self, conn: asyncpg.Connection[Any], subjects: Iterable[str]) -> set[str]:
        """The people among `subjects` whose keys are destroyed (always read from the vault)."""
        wanted = sorted(set(subjects))
        if not wanted:
            return set()
        rows = await conn.fetch(
            f"SELECT subject FROM {TABLE} WHERE subject = ANY($1::text[]) AND key IS NULL", wanted
        )
        return {r["subject"] for r in rows}

    def forget(self, subjects: Iterable[str]) -> None:
        """Drops cached keys (a service calls this when it handles a person's erasure)."""
        for s in subjects:
            self._cache.pop(s, None)

    def _remember(self, keys: dict[str, bytes | None]) -> None:
        if len(self._cache) > _CACHE_MAX:
            self._cache.clear()
        now = time.monotonic()
        for s, k in keys.items():
            self._cache[s] = (k, now)


VAULT = KeyVault()
"""The process's vault (its cache is per process)."""
