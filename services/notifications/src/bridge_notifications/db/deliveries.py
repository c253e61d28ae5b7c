"""Delivery rows: creation with a dedup key, leasing due rows, recording outcomes.

Every time comparison uses `now` passed in from the injected Clock, never SQL now(), so tests move
time by hand and a restarted instance agrees with the schedule it left behind.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"


def dedup_key(source_event_id: str, recipient_id: str, channel: str) -> str:
    return f"{source_event_id}:{recipient_id}:{channel}"


async def create(
    conn: Conn,
    *,
    now: datetime,
    source_event_id: str,
    recipient_id: str,
    cohort_id: str | None,
    channel: str,
    kind: str,
    to_address: str,
    subject: str,
    body_text: str,
    body_html: str | None,
    attachments: list[dict[str, Any]] | None = None,
    due_at: datetime | None = None,
    status: str = "pending",
    group_key: str | None = None,
    held_reason: str | None = None,
    locale: str | None = None,
    employee_id: str | None = None,
    chat_format: str | None = None,
    key: str | None = None,
) -> uuid.UUID | None:
    """Returns the new row's id, or None when this (event, recipient, channel) already has one."""
    row: uuid.UUID | None = await conn.fetchval(
        """INSERT INTO deliveries (id, dedup_key, source_event_id, recipient_id, cohort_id, channel, kind,
                                   to_address, subject, body_text, body_html, attachments, due_at, status,
                                   group_key, held_reason, locale, employee_id, chat_format, created_at,
                                   updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$20)
           ON CONFLICT (dedup_key) DO NOTHING RETURNING id""",
        uuid.uuid4(),
        key or dedup_key(source_event_id, recipient_id, channel),
        source_event_id,
        recipient_id,
        cohort_id,
        channel,
        kind,
        to_address,
        subject,
        body_text,
        body_html,
        attachments or [],
        due_at or now,
        status,
        group_key,
        held_reason,
        locale,
        employee_id,
        chat_format,
        now,
    )
    if row is not None and status == "pending" and (due_at is None or due_at <= now):
        await conn.execute("SELECT pg_notify('notifications_dispatch', '')")
    return row


async def cancel_group(conn: Conn, group: str, *, prefix: bool, now: datetime, reason: str) -> int:
    """Cancels the not-yet-sent deliveries of a group (a session's reminders, a pair's escalation)."""
    pattern = group.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ("%" if prefix else "")
    result: str = await conn.execute(
        """UPDATE deliveries SET status = 'cancelled', last_error = $3, updated_at = $2, lease_until = NULL
           WHERE group_key LIKE $1 AND status IN ('pending', 'digest')""",
        pattern,
        now,
        reason,
    )
    return int(result.split()[-1])


async def lease_due(conn: Conn, *, now: datetime, limit: int, lease_seconds: float) -> list[asyncpg.Record]:
    """Claims due rows for this instance; SKIP LOCKED keeps two instances off the same row, and the
    lease lets another instance take over a row whose sender died mid-send. `attempts` doubles as
    the fencing token: an outcome is only written by the holder of the current lease."""
    return await conn.fetch(
        """UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = $1,
                  lease_until = $1 + make_interval(secs => $3)
           WHERE id IN (
               SELECT id FROM deliveries
               WHERE (status = 'pending' AND due_at <= $1)
                  OR (status = 'sending' AND lease_until < $1)
               ORDER BY due_at
               LIMIT $2
               FOR UPDATE SKIP LOCKED)
           RETURNING *""",
        now,
        limit,
        lease_seconds,
    )


async def mark_sent(conn: Conn, delivery_id: uuid.UUID, attempt: int, now: datetime) -> bool:
    result: str = await conn.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = $3, updated_at = $3, lease_until = NULL, "
        "last_error = NULL WHERE id = $1 AND attempts = $2 AND status = 'sending'",
        delivery_id,
        attempt,
        now,
    )
    return result.endswith(" 1")


async def reschedule(
    conn: Conn,
    delivery_id: uuid.UUID,
    attempt: int,
    *,
    due_at: datetime,
    now: datetime,
    error: str | None,
    held_reason: str | None = None,
    refund_attempt: bool = False,
) -> bool:
    result: str = await conn.execute(
        "UPDATE deliveries SET status = 'pending', lease_until = NULL, "
        "last_error = coalesce($3, last_error), "
        "due_at = $4, updated_at = $5, held_reason = coalesce($6, held_reason), "
        "attempts = attempts - CASE WHEN $7 THEN 1 ELSE 0 END "
        "WHERE id = $1 AND attempts = $2 AND status = 'sending'",
        delivery_id,
        attempt,
        error[:2000] if error else None,
        due_at,
        now,
        held_reason,
        refund_attempt,
    )
    return result.endswith(" 1")


async def mark_failed(conn: Conn, delivery_id: uuid.UUID, attempt: int, error: str, now: datetime) -> bool:
    result: str = await conn.execute(
        "UPDATE deliveries SET status = 'failed', lease_until = NULL, last_error = $3, updated_at = $4 "
        "WHERE id = $1 AND attempts = $2 AND status = 'sending'",
        delivery_id,
        attempt,
        error[:2000],
        now,
    )
    return result.endswith(" 1")


def later(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
