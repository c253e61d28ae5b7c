"""Data-protection requests from matching (docs/privacy.md), each in the consumer's transaction
(inbox row + effect + answer event).

Erasure: the person's name, e-mail addresses and employee ids are read from our own tables first
(they are the needles), then
- their recipient rows, own preferences (with their chat webhook) and inbox items are deleted, and
  their participant ids are kept as tombstones (`erased_participants`: ids only), so a late or
  replayed event never plans anything for them nor brings their recipient row back;
- deliveries to them that were not sent yet are cancelled; every delivery to them is KEPT for the
  log's counts (channel, kind, status, times) with address, subject, body and attachments replaced
  by placeholders (`ERASED_EMAIL`, `ERASED_TEXT`);
- other people's deliveries (digests included) and inbox items that name them (a partner's
  "session with <name>", an invite's attendees, HR's escalation or weekly digest) are redacted;
- a cohort whose HR contact address was theirs loses it.
Then `NotificationsErasureCompletedV1` with the counts. Idempotent: a second request finds nothing
left to change and confirms with zeros; an unknown person is confirmed with zeros.

Export: their recipient profile(s) as stored, own preferences (a webhook only as set/host), inbox
items, and the delivery log of messages to them (channel, kind, status, times, subject), with a
readable summary, as `NotificationsExportPartV1` parts.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bridge_notifications.db import privacy as db
from bridge_notifications.domain.privacy import export_summary, like_patterns, redact_stored
from bridge_shared.contracts.privacy import (
    ErasureRequestedV1,
    ExportRequestedV1,
    NotificationsErasureCompletedV1,
    NotificationsExportPartV1,
)
from bridge_shared.db.connection import Conn
from bridge_shared.outbox.writer import Outbox
from bridge_shared.privacy.answers import confirm_erasure, send_export
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_ID, ERASED_NAME
from bridge_shared.privacy.redaction import needles_for

log = logging.getLogger(__name__)

_PLACEHOLDERS = {ERASED_NAME, ERASED_EMAIL, ERASED_ID}


def _needles(who: db.Identity) -> list[str]:
    values = [v for v in (*who.names, *who.emails, *who.employee_ids) if v not in _PLACEHOLDERS]
    return needles_for(*values)


async def erase(conn: Conn, outbox: Outbox, request: ErasureRequestedV1, now: datetime) -> dict[str, int]:
    """Erases everything about the request's participants; returns the counts it confirmed."""
    who = await db.identity(conn, list(request.participant_ids))
    needles = _needles(who)
    counts: dict[str, int] = {
        "deliveries_cancelled": await db.cancel_deliveries_to(conn, who, now),
        "deliveries_anonymised": await db.anonymise_deliveries_to(conn, who),
        "inbox_items": await db.delete_inbox_items(conn, who),
        "preferences": await db.delete_preferences(conn, who),
        "recipients": await db.delete_recipients(conn, who),
        "pairings_and_declines": await db.delete_pairings_and_declines(conn, who),
        "hr_contacts": await db.clear_hr_contact(conn, who.emails),
    }
    await db.tombstone(conn, who.participant_ids, request.erasure_id, now)
    patterns = like_patterns(needles)
    redacted = 0
    for delivery_id, text in await db.deliveries_mentioning(conn, who, patterns):
        cleaned = redact_stored(text, needles)
        if cleaned != text:
            await db.rewrite_delivery(conn, delivery_id, cleaned)
            redacted += 1
    counts["others_deliveries_redacted"] = redacted
    redacted = 0
    for item_id, text in await db.inbox_items_mentioning(conn, who, patterns):
        cleaned = redact_stored(text, needles)
        if cleaned != text:
            await db.rewrite_inbox_item(conn, item_id, cleaned)
            redacted += 1
    counts["others_inbox_items_redacted"] = redacted
    await confirm_erasure(
        conn,
        outbox,
        NotificationsErasureCompletedV1,
        erasure_id=request.erasure_id,
        participant_ids=list(request.participant_ids),
        erased=counts,
        now=now,
    )
    log.info("erasure %s: %s", request.erasure_id, " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


async def export(conn: Conn, outbox: Outbox, request: ExportRequestedV1) -> int:
    """Answers with everything held about the participants; returns how many parts were written."""
    who = await db.identity(conn, list(request.participant_ids))
    recipients = await db.export_recipients(conn, who)
    preferences = await db.export_preferences(conn, who)
    inbox = await db.export_inbox(conn, who)
    deliveries = await db.export_deliveries(conn, who)
    section: dict[str, Any] = {
        "service": "notifications",
        "recipients": recipients,
        "preferences": preferences,
        "inbox_items": inbox,
        "deliveries": deliveries,
        "summary": export_summary(
            recipients=len(recipients), preferences=bool(preferences), deliveries=deliveries, inbox=inbox
        ),
    }
    return await send_export(
        conn,
        outbox,
        NotificationsExportPartV1,
        export_id=request.export_id,
        participant_ids=list(request.participant_ids),
        section=section,
    )
