"""SQL of retention: bounded deletes and anonymisations by age, on the live tables or a shadow set."""

from __future__ import annotations

from datetime import datetime

from bridge_reporting.db.upsert import check_suffix
from bridge_shared.db.connection import Conn
from bridge_shared.privacy.erased import ERASED_ID, ERASED_NAME


def _count(status: str) -> int:
    return int(status.split()[-1])


def _closed(sfx: str) -> str:
    """Cohorts whose programme ended (or that were closed) before $1."""
    return (
        f"SELECT cohort_id FROM rm_cohorts{sfx} "
        f"WHERE programme_end < $1::timestamptz::date OR (phase = 'closed' AND phase_at < $1)"
    )


async def delete_timeline(conn: Conn, before: datetime, limit: int, suffix: str = "") -> int:
    """Timeline entries that happened before `before` (at most `limit`)."""
    sfx = check_suffix(suffix)
    return _count(
        await conn.execute(
            f"""DELETE FROM rm_timeline{sfx} WHERE event_id IN (
                    SELECT event_id FROM rm_timeline{sfx} WHERE occurred_at < $1 LIMIT $2)""",
            before,
            limit,
        )
    )


async def clear_risk_details(conn: Conn, before: datetime, limit: int, suffix: str = "") -> int:
    """Risk signals' texts from before `before` (the signal stays: counts, open risks)."""
    sfx = check_suffix(suffix)
    return _count(
        await conn.execute(
            f"""UPDATE rm_risk_events{sfx} SET detail = NULL WHERE event_id IN (
                    SELECT event_id FROM rm_risk_events{sfx}
                    WHERE at < $1 AND detail IS NOT NULL LIMIT $2)""",
            before,
            limit,
        )
    )


async def delete_closed_timeline(conn: Conn, closed_before: datetime, limit: int, suffix: str = "") -> int:
    sfx = check_suffix(suffix)
    return _count(
        await conn.execute(
            f"""DELETE FROM rm_timeline{sfx} WHERE event_id IN (
                    SELECT event_id FROM rm_timeline{sfx} WHERE cohort_id IN ({_closed(sfx)}) LIMIT $2)""",
            closed_before,
            limit,
        )
    )


async def clear_closed_risk_details(conn: Conn, closed_before: datetime, limit: int, suffix: str = "") -> int:
    sfx = check_suffix(suffix)
    return _count(
        await conn.execute(
            f"""UPDATE rm_risk_events{sfx} SET detail = NULL WHERE event_id IN (
                    SELECT event_id FROM rm_risk_events{sfx}
                    WHERE cohort_id IN ({_closed(sfx)}) AND detail IS NOT NULL LIMIT $2)""",
            closed_before,
            limit,
        )
    )


async def anonymise_closed_participants(
    conn: Conn, closed_before: datetime, limit: int, suffix: str = ""
) -> int:
    sfx = check_suffix(suffix)
    return _count(
        await conn.execute(
            f"""UPDATE rm_participants{sfx} SET employee_id = $3 WHERE participant_id IN (
                    SELECT participant_id FROM rm_participants{sfx}
                    WHERE cohort_id IN ({_closed(sfx)}) AND employee_id IS DISTINCT FROM $3 LIMIT $2)""",
            closed_before,
            limit,
            ERASED_ID,
        )
    )


async def anonymise_closed_pairs(conn: Conn, closed_before: datetime, limit: int, suffix: str = "") -> int:
    sfx = check_suffix(suffix)
    return _count(
        await conn.execute(
            f"""UPDATE rm_pairs{sfx} SET mentor_name = $3, mentee_name = $3 WHERE pair_id IN (
                    SELECT pair_id FROM rm_pairs{sfx} WHERE cohort_id IN ({_closed(sfx)})
                    AND (mentor_name IS DISTINCT FROM $3 OR mentee_name IS DISTINCT FROM $3) LIMIT $2)""",
            closed_before,
            limit,
            ERASED_NAME,
        )
    )
