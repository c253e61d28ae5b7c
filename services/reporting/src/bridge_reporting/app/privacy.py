"""Data-protection requests (docs/privacy.md): erase a person from the read models, export what they
hold about a person; and the re-application of erasures that keeps them erased through late events,
replays and rebuilds.

An erasure keeps every row (programme counts by cohort, region, department and band do not change)
and replaces what identifies the person: their employee id (`ERASED_ID`), their name in their pairs
(`ERASED_NAME`), and their name or employee id in the texts of their pairs' timelines and risk
signals (redacted). Reporting never stores e-mail addresses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from bridge_reporting.db import privacy as db
from bridge_reporting.domain.privacy import export_summary, redact_rows
from bridge_reporting.settings import ReportingSettings
from bridge_shared.contracts.privacy import (
    ErasureRequestedV1,
    ExportRequestedV1,
    ReportingErasureCompletedV1,
    ReportingExportPartV1,
)
from bridge_shared.db.connection import Conn
from bridge_shared.privacy.answers import confirm_erasure, send_export
from bridge_shared.privacy.redaction import needles_for
from bridge_shared.runtime import Runtime

log = logging.getLogger("bridge_reporting.privacy")


async def anonymise(conn: Conn, ids: list[str], suffix: str = "") -> dict[str, int]:
    """Anonymises every row about these participant ids (in the live tables, or the shadow set named
    by `suffix`), in the caller's transaction; returns the rows changed by kind."""
    if not ids:
        return {}
    who = await db.identifiers(conn, ids, suffix)
    needles = needles_for(*who.employee_ids, *who.names)
    timeline, risks = await db.pair_texts(conn, ids, suffix)
    counts = {
        "notifications": await db.reattribute_notifications(conn, ids, suffix),
        "participants": await db.anonymise_participants(conn, ids, suffix),
        "pairs": await db.anonymise_pairs(conn, ids, suffix),
        "timeline_entries": await db.rewrite_timeline(conn, redact_rows(timeline, needles), suffix),
        "risk_signals": await db.rewrite_risk_details(conn, redact_rows(risks, needles), suffix),
    }
    return counts


async def erase(rt: Runtime[ReportingSettings], conn: Conn, request: ErasureRequestedV1) -> None:
    """The `ErasureRequestedV1` handler, in the consumer's transaction (inbox row, effect, answer)."""
    ids = sorted(set(request.participant_ids))
    now = rt.clock.now()
    counts = await anonymise(conn, ids)
    await db.record_erased(conn, ids, request.erasure_id, now)
    await confirm_erasure(
        conn,
        rt.outbox,
        ReportingErasureCompletedV1,
        erasure_id=request.erasure_id,
        participant_ids=ids,
        erased=counts,
        now=now,
    )
    log.info("erasure %s: %d participant ids; rows anonymised %s", request.erasure_id, len(ids), counts)


async def guard(
    conn: Conn, participant_ids: set[str], pair_ids: set[str], suffix: str = ""
) -> dict[str, int]:
    """After a batch was projected: if it wrote rows about erased people (a late event, a replay of
    v1 history that carried names in clear), anonymise them again. One look-up when nobody is."""
    erased = await db.erased_among(conn, participant_ids, pair_ids, suffix)
    if not erased:
        return {}
    counts = await anonymise(conn, erased, suffix)
    if any(counts.values()):
        log.info("re-anonymised rows about %d erased participants: %s", len(erased), counts)
    return counts


async def reapply_all(conn: Conn, suffix: str, also: Iterable[str] = ()) -> dict[str, int]:
    """Every erasure in the ledger (and `also`: erasure requests the rebuild read on the topic) applied
    to the shadow set `suffix` (the rebuild, before it swaps the set in)."""
    ids = sorted(await db.erased_ids(conn) | set(also))
    return await anonymise(conn, ids, suffix)


async def export(rt: Runtime[ReportingSettings], conn: Conn, request: ExportRequestedV1) -> None:
    """The `ExportRequestedV1` handler: reporting's section of the person's export document."""
    ids = sorted(set(request.participant_ids))
    rows = await db.person_rows(conn, ids)
    section: dict[str, Any] = {"service": "reporting", **rows, "summary": export_summary(rows)}
    parts = await send_export(
        conn,
        rt.outbox,
        ReportingExportPartV1,
        export_id=request.export_id,
        participant_ids=ids,
        section=section,
    )
    log.info("export %s: %d participant ids, %d part(s)", request.export_id, len(ids), parts)
