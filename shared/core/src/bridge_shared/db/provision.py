"""Creates each service's database role and schema, with privileges on its own schema only.

Run once per environment with an administrative DSN (`python -m bridge_shared.db.provision`).
Services then connect as their own role and cannot read any other service's tables.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from bridge_shared.privacy.vault import GRANTS_LOCK, ensure_vault

SERVICES = ("matching", "sessions", "notifications", "reporting")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def role_name(service: str) -> str:
    return f"bridge_{service}"


def service_dsn(admin_dsn: str, service: str, password: str) -> str:
    """The admin DSN with the service's role and password swapped in."""
    parts = urlsplit(admin_dsn)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{role_name(service)}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


PRIVACY_COORDINATOR = "matching"


async def provision(
    admin_dsn: str,
    service: str,
    password: str,
    *,
    schema: str | None = None,
    can_erase: bool | None = None,
) -> str:
    """`can_erase`: may destroy keys in the key vault (default: the privacy coordinator, matching)."""
    schema = schema or service
    role = role_name(service)
    if not (_IDENT.match(schema) and _IDENT.match(role)):
        raise ValueError(f"unsafe identifier: {schema!r} / {role!r}")
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        # Passwords cannot be bound as parameters in DDL; quote_literal does the escaping server-side.
        pw = await conn.fetchval("SELECT quote_literal($1)", password)
        verb = "ALTER" if exists else "CREATE"
        await conn.execute(f'{verb} ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {pw}')
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}" AUTHORIZATION "{role}"')
        await conn.execute(f'ALTER SCHEMA "{schema}" OWNER TO "{role}"')
        await conn.execute(f'REVOKE ALL ON SCHEMA "{schema}" FROM PUBLIC')
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await conn.execute(f'ALTER ROLE "{role}" SET search_path = "{schema}"')
        erase = service == PRIVACY_COORDINATOR if can_erase is None else can_erase
        await ensure_vault(conn, role, can_erase=erase)
    finally:
        await conn.close()
    return service_dsn(admin_dsn, service, password)


async def deprovision(admin_dsn: str, service: str, *, schema: str | None = None) -> None:
    """Drops a service's schema, its privileges on the key vault, and its role (test teardown)."""
    schema = schema or service
    role = role_name(service)
    if not (_IDENT.match(schema) and _IDENT.match(role)):
        raise ValueError(f"unsafe identifier: {schema!r} / {role!r}")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        async with conn.transaction():
            # Revoking its grants on the vault changes the vault table's privileges: one at a time.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", GRANTS_LOCK)
            if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                await conn.execute(f'DROP OWNED BY "{role}"')
                await conn.execute(f'DROP ROLE "{role}"')
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-dsn", default=os.environ.get("DATABASE_URL"), required=False)
    parser.add_argument("services", nargs="*", default=list(SERVICES))
    args = parser.parse_args()
    if not args.admin_dsn:
        parser.error("--admin-dsn or DATABASE_URL is required")
    for svc in args.services:
        password = os.environ.get(f"BRIDGE_{svc.upper()}_DB_PASSWORD")
        if not password:
            parser.error(f"BRIDGE_{svc.upper()}_DB_PASSWORD is required")
        asyncio.run(provision(args.admin_dsn, svc, password))
        print(f"provisioned role {role_name(svc)} and schema {svc}")


if __name__ == "__main__":
    main()
