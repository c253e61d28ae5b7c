"""`bridge-outbox`: see the outbox rows the relay parked, and release them once the cause is fixed.

    bridge-outbox list    --schema matching [--limit 50]
    bridge-outbox retry   --schema matching (--id ID ... | --all) [--dry-run]
    bridge-outbox discard --schema matching --id ID ... [--dry-run]

A parked row could not be published (too large for the broker, unserialisable, or rejected by the
broker again and again with a non-transient error); its reason is shown. Later rows of the same key
wait behind it, so an aggregate's events never go out with a gap or out of order; every other key
keeps flowing. `retry` returns rows to the relay (it wakes at once and publishes them, then the rows
that waited behind them, in order). `discard` gives up on a row for good (it is kept, marked
discarded, until pruned) and releases the rows behind it. The database comes from --dsn or
DATABASE_URL (the service's own role or an admin), else the admin DSN of the platform `make up` runs
(.run/platform.json); --schema is the service's schema.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from bridge_shared.outbox.monitor import OutboxStatus, outbox_status
from bridge_shared.outbox.writer import notify_channel
from bridge_shared.run_file import running_platform

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class ParkedRow:
    id: int
    event_id: str
    event_type: str
    topic: str
    key: str
    attempts: int
    parked_at: datetime
    reason: str
    waiting: int  # later rows of the same key held behind this one


def _check_schema(schema: str) -> str:
    if not _SCHEMA.match(schema):
        raise ValueError(f"not a schema name: {schema!r}")
    return schema


async def _in_schema(conn: asyncpg.Connection[Any], schema: str) -> None:
    await conn.execute(f'SET search_path = "{_check_schema(schema)}"')


async def list_parked(
    conn: asyncpg.Connection[Any], schema: str, *, limit: int | None = 50
) -> list[ParkedRow]:
    await _in_schema(conn, schema)
    rows = await conn.fetch(
        """SELECT p.id, p.event_id, p.event_type, p.topic, p.partition_key, p.attempts, p.parked_at,
                  coalesce(p.parked_reason, p.last_error, '') AS reason,
                  (SELECT count(*) FROM outbox w
                    WHERE w.published_at IS NULL AND w.parked_at IS NULL
                      AND w.topic = p.topic AND w.partition_key = p.partition_key AND w.id > p.id) AS waiting
             FROM outbox p
            WHERE p.parked_at IS NOT NULL AND p.discarded_at IS NULL
            ORDER BY p.id
            LIMIT $1""",
        limit,
    )
    return [
        ParkedRow(
            r["id"],
            r["event_id"],
            r["event_type"],
            r["topic"],
            r["partition_key"],
            r["attempts"],
            r["parked_at"],
            r["reason"],
            r["waiting"],
        )
        for r in rows
    ]


async def status(conn: asyncpg.Connection[Any], schema: str) -> OutboxStatus:
    await _in_schema(conn, schema)
    return await outbox_status(conn)


async def retry(conn: asyncpg.Connection[Any], schema: str, ids: Sequence[int] | None) -> list[int]:
    """Unparks the given rows (None: every parked row) and wakes the relay; returns the ids."""
    await _in_schema(conn, schema)
    async with conn.transaction():
        rows = await conn.fetch(
            """UPDATE outbox SET parked_at = NULL, parked_reason = NULL, rejections = 0
                WHERE parked_at IS NOT NULL AND discarded_at IS NULL
                  AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
                RETURNING id""",
            list(ids) if ids is not None else None,
        )
        await conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))
    return sorted(r["id"] for r in rows)


async def discard(conn: asyncpg.Connection[Any], schema: str, ids: Sequence[int]) -> list[int]:
    """Gives up on parked rows for good, releasing the rows of their keys; returns the ids."""
    await _in_schema(conn, schema)
    async with conn.transaction():
        rows = await conn.fetch(
            """UPDATE outbox SET discarded_at = now()
                WHERE parked_at IS NOT NULL AND discarded_at IS NULL AND id = ANY($1::bigint[])
                RETURNING id""",
            list(ids),
        )
        await conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))
    return sorted(r["id"] for r in rows)


def _describe(row: ParkedRow) -> str:
    waiting = f"  ({row.waiting} waiting behind it)" if row.waiting else ""
    return (
        f"{row.id:>8}  {row.event_type}  id={row.event_id}  {row.topic} key={row.key}  "
        f"attempts={row.attempts}  parked {row.parked_at:%Y-%m-%dT%H:%M:%SZ}{waiting}\n"
        f"          reason: {row.reason[:300]}"
    )


async def _main(args: argparse.Namespace) -> int:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(args.dsn)
    try:
        if args.command == "list":
            for row in await list_parked(conn, args.schema, limit=args.limit):
                print(_describe(row))
            s = await status(conn, args.schema)
            print(
                f"{s['parked']} parked row(s) in {args.schema}; {s['pending']} pending "
                f"({s['held']} waiting behind parked rows)"
            )
            return 0
        wanted = None if args.all else list(args.id or ())
        if args.dry_run:
            parked = await list_parked(conn, args.schema, limit=None)
            chosen = [r for r in parked if wanted is None or r.id in set(wanted)]
            for row in chosen:
                print(f"would {args.command} " + _describe(row))
            return 0 if chosen else 1
        if args.command == "retry":
            done = await retry(conn, args.schema, wanted)
        else:
            done = await discard(conn, args.schema, wanted or [])
        if not done:
            print("no such parked row", file=sys.stderr)
            return 1
        verb = "returned to the relay" if args.command == "retry" else "discarded"
        print(f"{len(done)} row(s) {verb}: {', '.join(map(str, done))}")
        return 0
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="bridge-outbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["list", "retry", "discard"])
    parser.add_argument("--schema", required=True, help="the service's schema (matching, sessions, ...)")
    parser.add_argument("--dsn", help="default: $DATABASE_URL, else the platform make up runs")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--id", type=int, action="append", help="an outbox row id (repeatable)")
    parser.add_argument("--all", action="store_true", help="retry every parked row")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    args.dsn = (
        args.dsn
        or os.environ.get("DATABASE_URL")
        or running_platform(tool="bridge-outbox").get("database_url")
    )
    if not args.dsn:
        parser.error("give --dsn or set DATABASE_URL (or start the platform with make up)")
    if args.command == "retry" and not (args.all or args.id):
        parser.error("retry needs --id or --all")
    if args.command == "discard" and not args.id:
        parser.error("discard needs --id (one row at a time, on purpose)")
    try:
        _check_schema(args.schema)
    except ValueError as exc:
        parser.error(str(exc))
    sys.exit(asyncio.run(_main(args)))


if __name__ == "__main__":
    main()
