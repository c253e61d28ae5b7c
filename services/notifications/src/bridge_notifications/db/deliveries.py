"""Delivery rows: creation with a dedup key, leasing due rows, recording outcomes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

Conn = asyncpg.Connection  # type: ignore[type-arg]


def dedup_key(source_event_id: str, recipient_id: str, channel: str) -> str:
    return f"{source_event_id}:{recipient_id}:{channel}"


async def create(conn: Conn, *, source_event_id: str, recipient_id: str, cohort_id: str | None, channel: str,
                 kind: str, to_address: str, subject: str, body_text: str, body_html: str | None,
                 attachments: list[dict[str, Any]] | None = None, due_at: datetime | None = None) -> bool:
    """Returns False when this (event, recipient, channel) already has a delivery."""
    row = await conn.fetchval(
        """INSERT INTO deliveries (id, dedup_key, source_event_id, recipient_id, cohort_id, channel, kind,
                                   to_address, subject, body_text, body_html, attachments, due_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12, coalesce($13, now()))
           ON CONFLICT (dedup_key) DO NOTHING RETURNING 1""",
        uuid.uuid4(), dedup_key(source_event_id, recipient_id, channel), source_event_id, recipient_id,
        cohort_id, channel, kind, to_address, subject, body_text, body_html, attachments or [], due_at,
    )
    if row is not None:
        await conn.execute("SELECT pg_notify('notifications_dispatch', '')")
    return row is not None


async def lease_due(conn: Conn, *, limit: int, lease_seconds: float) -> list[asyncpg.Record]:
    """Claims due rows for this instance; SKIP LOCKED keeps two instances off the same row, and the
    lease lets another instance take over a row whose sender died mid-send."""
    return await conn.fetch(
        """UPDATE deliveries SET status = 'sending', attempts = attempts + 1,
                  lease_until = now() + make_interval(secs => $2)
           WHERE id IN (
               SELECT id FROM deliveries
               WHERE (status = 'pending' AND due_at <= now())
                  OR (status = 'sending' AND lease_until < now())
               ORDER BY due_at
               LIMIT $1
               FOR UPDATE SKIP LOCKED)
           RETURNING *""",
        limit, lease_seconds,
    )


async def mark_sent(conn: Conn, delivery_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = now(), lease_until = NULL, last_error = NULL "
        "WHERE id = $1", delivery_id)


async def reschedule(conn: Conn, delivery_id: uuid.UUID, delay_seconds: float, error: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = 'pending', lease_until = NULL, last_error = $2, "
        "due_at = now() + make_interval(secs => $3) WHERE id = $1", delivery_id, error[:2000], delay_seconds)


async def mark_failed(conn: Conn, delivery_id: uuid.UUID, error: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = 'failed', lease_until = NULL, last_error = $2 WHERE id = $1",
        delivery_id, error[:2000])
