"""The audit log of HR interventions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from bridge_matching.db.records import Conn, as_rows
from bridge_matching.domain.rows import AuditRow


async def add(
    conn: Conn,
    cohort_id: uuid.UUID,
    actor: str,
    action: str,
    reason: str | None,
    details: dict[str, Any],  # Any: a JSON document describing the intervention
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (cohort_id, actor, action, reason, details, at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        cohort_id,
        actor,
        action,
        reason,
        details,
        now,
    )


async def entries(conn: Conn, cohort_id: uuid.UUID) -> list[AuditRow]:
    return as_rows(
        AuditRow, await conn.fetch("SELECT * FROM audit_log WHERE cohort_id = $1 ORDER BY id", cohort_id)
    )
