"""One advisory-lock key scheme for every lock Bridge takes in PostgreSQL.

Advisory locks are database-wide, not per schema: two services (or two test areas) sharing a
database must never collide on a key. A key is therefore derived from a *purpose* (what the lock
guards: "outbox-relay", "migrations", "job", ...) and a *scope* (the schema it guards), then the
name within that scope. SHA-256 truncated to a signed 64-bit integer, which is what
`pg_advisory_lock(bigint)` takes.
"""

from __future__ import annotations

import hashlib


def advisory_key(purpose: str, scope: str, name: str = "") -> int:
    """The bigint key of the lock guarding `name` for `purpose` within `scope` (a schema)."""
    for label, part in (("purpose", purpose), ("scope", scope)):
        if not part or "\x00" in part:
            raise ValueError(f"advisory_key: {label} must be a non-empty string")
    raw = "\x00".join((purpose, scope, name)).encode()
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big", signed=True)


def key_parts(key: int) -> tuple[int, int]:
    """pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32 bits)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF
