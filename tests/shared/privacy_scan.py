"""The data protection officer's search: where in the database a person's name, e-mail or employee id
still occurs (the privacy tests of every service and the end-to-end erasure test share it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

TEXT_LIKE = ("text", "character varying", "character", "json", "jsonb", "ARRAY", "bytea", "USER-DEFINED")
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


async def text_columns(
    conn: asyncpg.Connection[Any], schemas: Sequence[str] | None = None
) -> list[asyncpg.Record]:
    """(table_schema, table_name, column_name, data_type) of every text-like column (text, varchar,
    json, jsonb, arrays, bytea, domains) of every table in `schemas` (None: every non-system schema)."""
    return await conn.fetch(
        """SELECT c.table_schema, c.table_name, c.column_name, c.data_type
           FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
           WHERE t.table_type = 'BASE TABLE' AND c.data_type = ANY($1::text[])
             AND ($2::text[] IS NULL OR c.table_schema = ANY($2::text[]))
             AND c.table_schema <> ALL($3::text[])
           ORDER BY 1, 2, 3""",
        list(TEXT_LIKE),
        list(schemas) if schemas is not None else None,
        list(SYSTEM_SCHEMAS),
    )


async def hits(
    conn: asyncpg.Connection[Any], needles: Sequence[str], schemas: Sequence[str] | None = None
) -> list[str]:
    """`schema.table.column: n x 'needle'` for every column holding a needle (case-insensitively, as
    a plain substring). A table dropped meanwhile (another test's scratch schema) is skipped."""
    found: list[str] = []
    for col in await text_columns(conn, schemas):
        ident = f'"{col["table_schema"]}"."{col["table_name"]}"'
        ref = f'"{col["column_name"]}"'
        value = f"encode({ref}, 'escape')" if col["data_type"] == "bytea" else f"{ref}::text"
        for needle in needles:
            try:
                n = await conn.fetchval(
                    f"SELECT count(*) FROM {ident} WHERE strpos(lower({value}), lower($1)) > 0", needle
                )
            except asyncpg.UndefinedTableError:
                break
            if n:
                found.append(
                    f"{col['table_schema']}.{col['table_name']}.{col['column_name']}: {n} x {needle!r}"
                )
    return found
