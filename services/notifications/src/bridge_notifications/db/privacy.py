"""SQL of erasure and export (docs/privacy.md): who a person is in this schema, erasing or
anonymising their rows, finding other people's messages that name them, and reading their data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge_notifications.db import affected
from bridge_notifications.domain.privacy import StoredText
from bridge_shared.db.connection import Conn
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_TEXT
from bridge_shared.privacy.vault import VAULT


@dataclass(frozen=True, slots=True)
class Identity:
    """Everything that identifies a person here: their participant ids (the request's, and any other
    enrolment of the same employee), employee ids, names and e-mail addresses."""

    participant_ids: list[str]
    employee_ids: list[str]
    names: list[str]
    emails: list[str]


async def identity(conn: Conn, participant_ids: list[str]) -> Identity:
    rows = await conn.fetch(
        """SELECT participant_id, employee_id, display_name, email FROM recipients
           WHERE participant_id = ANY($1::text[])
              OR employee_id IN (SELECT employee_id FROM recipients
                                  WHERE participant_id = ANY($1::text[]))""",
        participant_ids,
    )
    pids = sorted({*participant_ids, *(r["participant_id"] for r in rows)})
    employees = {r["employee_id"] for r in rows}
    names = {r["display_name"] for r in rows}
    emails = {r["email"] for r in rows}
    # Rows written before a profile change may carry an older address or employee id.
    for r in await conn.fetch(
        """SELECT DISTINCT employee_id, CASE WHEN channel = 'email' THEN to_address END AS email
           FROM deliveries WHERE recipient_id = ANY($1::text[])""",
        pids,
    ):
        if r["employee_id"]:
            employees.add(r["employee_id"])
        if r["email"] and r["email"] != ERASED_EMAIL:
            emails.add(r["email"])
    for r in await conn.fetch(
        "SELECT DISTINCT employee_id FROM inbox_items WHERE recipient_id = ANY($1::text[])", pids
    ):
        employees.add(r["employee_id"])
    return Identity(pids, sorted(employees), sorted(names), sorted(emails))


# -- tombstones ------------------------------------------------------------------------------------


async def tombstone(conn: Conn, participant_ids: list[str], erasure_id: str, now: datetime) -> int:
    result: str = await conn.execute(
        """INSERT INTO erased_participants (participant_id, erasure_id, erased_at)
           SELECT p, $2, $3 FROM unnest($1::text[]) AS p ON CONFLICT (participant_id) DO NOTHING""",
        participant_ids,
        erasure_id,
        now,
    )
    return affected(result)


async def erased_among(conn: Conn, participant_ids: list[str]) -> set[str]:
    """The participants erased: by our own erasure, or already in the key vault (matching destroys
    the keys before it asks the services, so an event handled before the request is still caught)."""
    if not participant_ids:
        return set()
    rows = await conn.fetch(
        "SELECT participant_id FROM erased_participants WHERE participant_id = ANY($1::text[])",
        participant_ids,
    )
    return {r[0] for r in rows} | await VAULT.erased(conn, participant_ids)


# -- the person's own rows -------------------------------------------------------------------------


async def delete_recipients(conn: Conn, who: Identity) -> int:
    result: str = await conn.execute(
        "DELETE FROM recipients WHERE participant_id = ANY($1::text[]) OR employee_id = ANY($2::text[])",
        who.participant_ids,
        who.employee_ids,
    )
    return affected(result)


async def delete_preferences(conn: Conn, who: Identity) -> int:
    result: str = await conn.execute(
        "DELETE FROM preferences WHERE employee_id = ANY($1::text[])", who.employee_ids
    )
    return affected(result)


async def delete_inbox_items(conn: Conn, who: Identity) -> int:
    result: str = await conn.execute(
        "DELETE FROM inbox_items WHERE recipient_id = ANY($1::text[]) OR employee_id = ANY($2::text[])",
        who.participant_ids,
        who.employee_ids,
    )
    return affected(result)


# coalesce: HR's rows have no employee id, and NOT (false OR NULL) would leave them out of "others".
_THEIRS = "(recipient_id = ANY($1::text[]) OR coalesce(employee_id = ANY($2::text[]), false))"


async def cancel_deliveries_to(conn: Conn, who: Identity, now: datetime) -> int:
    """Not yet sent (waiting, held for a digest, or being sent: the sender's outcome is then refused)."""
    result: str = await conn.execute(
        f"""UPDATE deliveries SET status = 'cancelled', lease_until = NULL, updated_at = $3,
                  held_reason = 'erased'
            WHERE {_THEIRS} AND status IN ('pending', 'sending', 'digest')""",
        who.participant_ids,
        who.employee_ids,
        now,
    )
    return affected(result)


async def anonymise_deliveries_to(conn: Conn, who: Identity) -> int:
    """Kept for the log's counts (channel, kind, status, times), with every rendered or addressing
    field replaced by a placeholder; rows already anonymised are left alone (and not counted), and
    `updated_at` stays, so the retention clock is not restarted."""
    result: str = await conn.execute(
        f"""UPDATE deliveries SET
                to_address = CASE WHEN channel = 'email' THEN $3 ELSE $4 END,
                subject = $4, body_text = $4, body_html = NULL, attachments = '[]'::jsonb,
                last_error = CASE WHEN last_error IS NULL THEN NULL ELSE $4 END,
                employee_id = NULL
            WHERE {_THEIRS}
              AND NOT (subject = $4 AND body_text = $4 AND body_html IS NULL AND attachments = '[]'::jsonb
                       AND employee_id IS NULL AND to_address IN ($3, $4)
                       AND (last_error IS NULL OR last_error = $4))""",
        who.participant_ids,
        who.employee_ids,
        ERASED_EMAIL,
        ERASED_TEXT,
    )
    return affected(result)


async def clear_hr_contact(conn: Conn, emails: list[str]) -> int:
    result: str = await conn.execute(
        "UPDATE cohorts SET hr_contact_email = NULL, updated_at = now() "
        "WHERE lower(hr_contact_email) = ANY(SELECT lower(e) FROM unnest($1::text[]) AS e)",
        emails,
    )
    return affected(result)


# -- other people's messages that name them ---------------------------------------------------------

# The base64 content of an attachment (a calendar object), decoded and unfolded, is searched too.
_ATTACHMENT_TEXT = """EXISTS (SELECT 1 FROM jsonb_array_elements(attachments) a
    WHERE a ? 'content_b64' AND replace(replace(convert_from(decode(a->>'content_b64', 'base64'), 'UTF8'),
          E'\\r\\n ', ''), E'\\r\\n\\t', '') ILIKE ANY($3::text[]))"""


async def deliveries_mentioning(
    conn: Conn, who: Identity, patterns: list[str]
) -> list[tuple[uuid.UUID, StoredText]]:
    """Other recipients' deliveries (digests included) with any pattern in any text, locked."""
    if not patterns:
        return []
    rows = await conn.fetch(
        f"""SELECT id, subject, body_text, body_html, to_address, last_error, attachments FROM deliveries
            WHERE NOT {_THEIRS}
              AND (subject ILIKE ANY($3::text[]) OR body_text ILIKE ANY($3::text[])
                   OR body_html ILIKE ANY($3::text[]) OR to_address ILIKE ANY($3::text[])
                   OR last_error ILIKE ANY($3::text[]) OR attachments::text ILIKE ANY($3::text[])
                   OR {_ATTACHMENT_TEXT})
            ORDER BY id FOR UPDATE""",
        who.participant_ids,
        who.employee_ids,
        patterns,
    )
    return [
        (
            r["id"],
            StoredText(
                subject=r["subject"],
                body=r["body_text"],
                body_html=r["body_html"],
                address=r["to_address"],
                last_error=r["last_error"],
                attachments=tuple(r["attachments"]),
            ),
        )
        for r in rows
    ]


async def rewrite_delivery(conn: Conn, delivery_id: uuid.UUID, text: StoredText) -> None:
    await conn.execute(
        """UPDATE deliveries SET subject = $2, body_text = $3, body_html = $4, to_address = $5,
                  last_error = $6, attachments = $7 WHERE id = $1""",
        delivery_id,
        text.subject,
        text.body,
        text.body_html,
        text.address or ERASED_TEXT,
        text.last_error,
        list(text.attachments),
    )


async def inbox_items_mentioning(
    conn: Conn, who: Identity, patterns: list[str]
) -> list[tuple[uuid.UUID, StoredText]]:
    if not patterns:
        return []
    rows = await conn.fetch(
        f"""SELECT id, subject, body FROM inbox_items
            WHERE NOT {_THEIRS} AND (subject ILIKE ANY($3::text[]) OR body ILIKE ANY($3::text[]))
            ORDER BY id FOR UPDATE""",
        who.participant_ids,
        who.employee_ids,
        patterns,
    )
    return [(r["id"], StoredText(subject=r["subject"], body=r["body"])) for r in rows]


async def rewrite_inbox_item(conn: Conn, item_id: uuid.UUID, text: StoredText) -> None:
    await conn.execute(
        "UPDATE inbox_items SET subject = $2, body = $3 WHERE id = $1", item_id, text.subject, text.body
    )


# -- export ----------------------------------------------------------------------------------------


def _plain(r: Any) -> dict[str, Any]:
    """A record as JSON-able values (datetimes ISO, ids as text)."""
    out: dict[str, Any] = {}
    for k, v in dict(r).items():
        if isinstance(v, datetime):
            out[k] = v.isoformat()
        elif isinstance(v, uuid.UUID):
            out[k] = str(v)
        elif hasattr(v, "isoformat"):
            out[k] = v.isoformat()
        else:
            out[k] = v
    return out


async def export_recipients(conn: Conn, who: Identity) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT participant_id, cohort_id, employee_id, display_name, email, locale, timezone, region,
                  active, updated_at
           FROM recipients WHERE participant_id = ANY($1::text[]) OR employee_id = ANY($2::text[])
           ORDER BY participant_id""",
        who.participant_ids,
        who.employee_ids,
    )
    return [_plain(r) for r in rows]


async def export_preferences(conn: Conn, who: Identity) -> list[dict[str, Any]]:
    """The person's own choices; a chat webhook URL is a credential: only whether one is set, and its host."""
    rows = await conn.fetch(
        """SELECT employee_id, channels, quiet_start, quiet_end, digest, locale, timezone, chat_format,
                  chat_webhook_url IS NOT NULL AS chat_webhook_set,
                  substring(chat_webhook_url from '^[a-z]+://([^/?#]+)') AS chat_webhook_host, updated_at
           FROM preferences WHERE employee_id = ANY($1::text[]) ORDER BY employee_id""",
        who.employee_ids,
    )
    return [_plain(r) for r in rows]


async def export_inbox(conn: Conn, who: Identity) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT id, cohort_id, kind, subject, body, link, visible_at, created_at, read_at, withdrawn_at
           FROM inbox_items WHERE recipient_id = ANY($1::text[]) OR employee_id = ANY($2::text[])
           ORDER BY visible_at, id""",
        who.participant_ids,
        who.employee_ids,
    )
    return [_plain(r) for r in rows]


async def export_deliveries(conn: Conn, who: Identity) -> list[dict[str, Any]]:
    """The delivery log of messages to the person: channel, kind, status, times, subject."""
    rows = await conn.fetch(
        f"""SELECT id, cohort_id, channel, kind, status, subject, created_at, due_at, sent_at, updated_at,
                  attempts
           FROM deliveries WHERE {_THEIRS} ORDER BY created_at, id""",
        who.participant_ids,
        who.employee_ids,
    )
    return [_plain(r) for r in rows]


async def delete_pairings_and_declines(conn: Conn, who: Identity) -> int:
    """The ids-only rows naming the person: their proposals and pairs, and their declines."""
    pairings: str = await conn.execute(
        "DELETE FROM pairings WHERE mentor_id = ANY($1::text[]) OR mentee_id = ANY($1::text[])",
        who.participant_ids,
    )
    declines: str = await conn.execute(
        "DELETE FROM declines WHERE participant_id = ANY($1::text[])", who.participant_ids
    )
    return affected(pairings) + affected(declines)
