"""Delivery rows: creation with a dedup key, leasing due rows, recording outcomes, the delivery log
and the figures of HR's weekly digest.

Every time comparison uses `now` passed in from the injected Clock, never SQL now(), so tests move
time by hand and a restarted instance agrees with the schedule it left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg

from bridge_notifications.db import affected
from bridge_notifications.domain.digests import WeekFigures
from bridge_notifications.domain.planning import PlannedDelivery, dedup_key
from bridge_shared.db.connection import Conn
from bridge_shared.privacy.erased import ERASED_EMAIL

# An attachment as stored (jsonb; Any: its JSON values): filename, content_type, method, content_b64.
Attachment = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: uuid.UUID
    dedup_key: str
    source_event_id: str
    recipient_id: str
    cohort_id: str | None
    channel: str
    kind: str
    to_address: str
    subject: str
    body_text: str
    body_html: str | None
    attachments: list[Attachment]
    status: str
    due_at: datetime
    attempts: int
    lease_until: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    group_key: str | None
    held_reason: str | None
    locale: str | None
    employee_id: str | None
    chat_format: str | None
    digest_id: uuid.UUID | None
    updated_at: datetime | None


_COLUMNS = tuple(f.name for f in fields(DeliveryRow))
_SELECT = ", ".join(_COLUMNS)


def _row(r: asyncpg.Record) -> DeliveryRow:
    return DeliveryRow(**{c: r[c] for c in _COLUMNS})


@dataclass(frozen=True, slots=True)
class LogFilter:
    cohort_id: str | None = None
    status: str | None = None
    recipient_id: str | None = None
    channel: str | None = None
    kind: str | None = None
    source_event_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


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
    attachments: Sequence[Attachment] = (),
    due_at: datetime | None = None,
    status: str = "pending",
    group_key: str | None = None,
    held_reason: str | None = None,
    locale: str | None = None,
    employee_id: str | None = None,
    chat_format: str | None = None,
    key: str | None = None,
) -> uuid.UUID | None:
    """Returns the new row's id, or None when this (event, recipient, channel) already has one.
    A row due now wakes the dispatchers (NOTIFY notifications_dispatch, sent at commit)."""
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
        list(attachments),
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


async def add_planned(conn: Conn, planned: PlannedDelivery, *, now: datetime) -> uuid.UUID | None:
    return await create(
        conn,
        now=now,
        source_event_id=planned.source_event_id,
        recipient_id=planned.recipient_id,
        cohort_id=planned.cohort_id,
        channel=planned.channel,
        kind=planned.kind,
        to_address=planned.to_address,
        subject=planned.subject,
        body_text=planned.body_text,
        body_html=planned.body_html,
        attachments=planned.attachments,
        due_at=planned.due_at,
        status=planned.status,
        group_key=planned.group_key,
        held_reason=planned.held_reason,
        locale=planned.locale,
        employee_id=planned.employee_id,
        chat_format=planned.chat_format,
        key=planned.key,
    )


def like_pattern(group: str, *, prefix: bool) -> str:
    """A LIKE pattern matching `group` literally (and anything after it when `prefix`)."""
    return group.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ("%" if prefix else "")


async def cancel_group(conn: Conn, group: str, *, prefix: bool, now: datetime, reason: str) -> int:
    """Cancels the not-yet-sent deliveries of a group (a session's reminders, a pair's escalation)."""
    result: str = await conn.execute(
        """UPDATE deliveries SET status = 'cancelled', last_error = $3, updated_at = $2, lease_until = NULL
           WHERE group_key LIKE $1 AND status IN ('pending', 'digest')""",
        like_pattern(group, prefix=prefix),
        now,
        reason,
    )
    return affected(result)


async def cancel_to(conn: Conn, recipient_ids: list[str], *, now: datetime, reason: str) -> int:
    """Cancels every delivery to these recipients that is waiting (due later, or held for quiet hours
    or a digest): they left the company (app/directory.participants_left). A row being sent right
    now is stopped by the dispatcher's own look-up before it sends."""
    result: str = await conn.execute(
        """UPDATE deliveries SET status = 'cancelled', last_error = $3, updated_at = $2, lease_until = NULL,
                  held_reason = 'left_company'
           WHERE recipient_id = ANY($1::text[]) AND status IN ('pending', 'digest')""",
        recipient_ids,
        now,
        reason,
    )
    return affected(result)


async def withhold(conn: Conn, delivery_id: uuid.UUID, attempt: int, reason: str, now: datetime) -> bool:
    """A leased row not sent after all, because its recipient left the company: cancelled (not
    failed: nothing went wrong, and no notification event is written). Fenced like the outcomes."""
    result: str = await conn.execute(
        "UPDATE deliveries SET status = 'cancelled', lease_until = NULL, last_error = $3, updated_at = $4, "
        "held_reason = 'left_company' WHERE id = $1 AND attempts = $2 AND status = 'sending'",
        delivery_id,
        attempt,
        reason,
        now,
    )
    return affected(result) == 1


async def lease_due(conn: Conn, *, now: datetime, limit: int, lease_seconds: float) -> list[DeliveryRow]:
    """Claims due rows for this instance; SKIP LOCKED keeps two instances off the same row, and the
    lease lets another instance take over a row whose sender died mid-send. `attempts` doubles as
    the fencing token: an outcome is only written by the holder of the current lease."""
    rows = await conn.fetch(
        f"""UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = $1,
                  lease_until = $1 + make_interval(secs => $3)
           WHERE id IN (
               SELECT id FROM deliveries
               WHERE (status = 'pending' AND due_at <= $1)
                  OR (status = 'sending' AND lease_until < $1)
               ORDER BY due_at
               LIMIT $2
               FOR UPDATE SKIP LOCKED)
           RETURNING {_SELECT}""",
        now,
        limit,
        lease_seconds,
    )
    return [_row(r) for r in rows]


async def mark_sent(conn: Conn, delivery_id: uuid.UUID, attempt: int, now: datetime) -> bool:
    result: str = await conn.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = $3, updated_at = $3, lease_until = NULL, "
        "last_error = NULL WHERE id = $1 AND attempts = $2 AND status = 'sending'",
        delivery_id,
        attempt,
        now,
    )
    return affected(result) == 1


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
    return affected(result) == 1


async def mark_failed(conn: Conn, delivery_id: uuid.UUID, attempt: int, error: str, now: datetime) -> bool:
    result: str = await conn.execute(
        "UPDATE deliveries SET status = 'failed', lease_until = NULL, last_error = $3, updated_at = $4 "
        "WHERE id = $1 AND attempts = $2 AND status = 'sending'",
        delivery_id,
        attempt,
        error[:2000],
        now,
    )
    return affected(result) == 1


# -- the daily digest ----------------------------------------------------------------------------


async def lock_due_digest_items(conn: Conn, now: datetime) -> list[DeliveryRow]:
    """The held digest items now due, locked for this transaction, by recipient and channel."""
    rows = await conn.fetch(
        f"""SELECT {_SELECT} FROM deliveries WHERE status = 'digest' AND due_at <= $1
           ORDER BY recipient_id, channel, created_at FOR UPDATE SKIP LOCKED""",
        now,
    )
    return [_row(r) for r in rows]


async def mark_digested(conn: Conn, ids: Sequence[uuid.UUID], digest_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = 'digested', digest_id = $2, updated_at = $3 "
        "WHERE id = ANY($1::uuid[])",
        list(ids),
        digest_id,
        now,
    )


# -- HR's weekly digest --------------------------------------------------------------------------


async def exists(conn: Conn, key: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM deliveries WHERE dedup_key = $1", key))


async def week_figures(conn: Conn, cohort_id: str, start: datetime, end: datetime) -> WeekFigures:
    stats = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE status IN ('sent', 'digested')) AS sent,
                  count(*) FILTER (WHERE status = 'failed') AS failed
           FROM deliveries WHERE cohort_id = $1 AND kind <> 'weekly_digest'
             AND created_at >= $2 AND created_at < $3""",
        cohort_id,
        start,
        end,
    )
    assert stats is not None  # an aggregate without GROUP BY always returns one row
    waiting = await conn.fetchval(
        "SELECT count(*) FROM deliveries WHERE cohort_id = $1 AND status IN ('pending', 'sending', 'digest')",
        cohort_id,
    )
    esc_open = await conn.fetchval(
        "SELECT count(DISTINCT group_key) FROM deliveries WHERE cohort_id = $1 "
        "AND kind = 'at_risk_escalation' AND status = 'pending'",
        cohort_id,
    )
    esc_sent = await conn.fetchval(
        "SELECT count(*) FROM deliveries WHERE cohort_id = $1 AND kind = 'at_risk_escalation' "
        "AND status = 'sent' AND sent_at >= $2 AND sent_at < $3",
        cohort_id,
        start,
        end,
    )
    failed_to = await conn.fetch(
        "SELECT DISTINCT to_address FROM deliveries WHERE cohort_id = $1 AND status = 'failed' "
        "AND channel = 'email' AND to_address <> $4 AND created_at >= $2 AND created_at < $3 "
        "ORDER BY 1 LIMIT 20",
        cohort_id,
        start,
        end,
        ERASED_EMAIL,  # an erased person's row keeps only a placeholder (docs/privacy.md)
    )
    return WeekFigures(
        sent=stats["sent"],
        failed=stats["failed"],
        waiting=waiting,
        escalations_open=esc_open,
        escalations_sent=esc_sent,
        failed_recipients=[r["to_address"] for r in failed_to],
    )


# -- the delivery log ----------------------------------------------------------------------------


# The one region rule (docs/access.md) on the log, for regions $N (NULL = every row): a row addressed to
# a participant is in scope when their home region is; a row addressed to a cohort's HR contact
# ('hr:<cohort>') when every region of that cohort is.
_IN_REGIONS = """({n}::text[] IS NULL
    OR EXISTS (SELECT 1 FROM recipients r
                WHERE r.participant_id = deliveries.recipient_id AND r.region = ANY({n}))
    OR (deliveries.recipient_id LIKE 'hr:%' AND EXISTS (SELECT 1 FROM cohorts c
                WHERE c.cohort_id = deliveries.cohort_id AND cardinality(c.regions) > 0
                  AND c.regions <@ {n})))"""


async def search(
    conn: Conn, f: LogFilter, *, regions: list[str] | None, limit: int, offset: int
) -> list[DeliveryRow]:
    """Newest first; `regions` None = every row, else only rows addressed to people in those regions."""
    rows = await conn.fetch(
        f"""SELECT {_SELECT} FROM deliveries
           WHERE ($1::text IS NULL OR cohort_id = $1) AND ($2::text IS NULL OR status = $2)
             AND ($3::text IS NULL OR recipient_id = $3) AND ($4::text IS NULL OR channel = $4)
             AND ($5::text IS NULL OR kind = $5) AND ($6::text IS NULL OR source_event_id = $6)
             AND ($7::timestamptz IS NULL OR created_at >= $7)
             AND ($8::timestamptz IS NULL OR created_at < $8)
             AND {_IN_REGIONS.format(n="$9::text[]")}
           ORDER BY created_at DESC, id LIMIT $10 OFFSET $11""",
        f.cohort_id,
        f.status,
        f.recipient_id,
        f.channel,
        f.kind,
        f.source_event_id,
        f.created_from,
        f.created_to,
        regions,
        limit,
        offset,
    )
    return [_row(r) for r in rows]


async def get(conn: Conn, delivery_id: uuid.UUID, *, regions: list[str] | None = None) -> DeliveryRow | None:
    """One row, if it is in `regions` (None = any)."""
    r = await conn.fetchrow(
        f"SELECT {_SELECT} FROM deliveries WHERE id = $1 AND {_IN_REGIONS.format(n='$2::text[]')}",
        delivery_id,
        regions,
    )
    return _row(r) if r is not None else None
