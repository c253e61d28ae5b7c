"""What the engine needs besides the enrolled people: who is taken, who is never paired again, history.

These read pairs and proposals together (one table group), by participant id.
"""

from __future__ import annotations

import uuid

from bridge_matching.db.records import Conn, as_rows
from bridge_matching.domain.rows import PairRef


async def occupied(conn: Conn, cohort_id: uuid.UUID) -> list[PairRef]:
    """Accepted pairs and open proposals: the engine keeps them (fixed) and rematches everyone else."""
    return as_rows(
        PairRef,
        await conn.fetch(
            """SELECT mentor_id, mentee_id, 'pair' AS kind, id FROM pairs
            WHERE cohort_id = $1 AND status = 'formed'
           UNION ALL
           SELECT mentor_id, mentee_id, 'proposal', id FROM proposals
            WHERE cohort_id = $1 AND status = 'pending'
           ORDER BY 1, 2""",
            cohort_id,
        ),
    )


async def excluded(conn: Conn, cohort_id: uuid.UUID) -> list[PairRef]:
    """Declined, expired or cancelled proposals and dissolved or ended pairs are never proposed again."""
    return as_rows(
        PairRef,
        await conn.fetch(
            """SELECT DISTINCT mentor_id, mentee_id FROM (
               SELECT mentor_id, mentee_id FROM proposals
                WHERE cohort_id = $1 AND status IN ('declined', 'expired', 'cancelled')
               UNION ALL
               SELECT mentor_id, mentee_id FROM pairs
                WHERE cohort_id = $1 AND status IN ('dissolved', 'ended')) x""",
            cohort_id,
        ),
    )


async def history(conn: Conn, cohort_id: uuid.UUID) -> list[tuple[str, str]]:
    """Earlier partners (in other cohorts) of this cohort's employees, by employee id."""
    rows = await conn.fetch(
        """SELECT DISTINCT m.employee_id AS mentor, e.employee_id AS mentee
             FROM pairs p
             JOIN participants m ON m.id = p.mentor_id
             JOIN participants e ON e.id = p.mentee_id
            WHERE p.cohort_id <> $1
              AND m.employee_id IN (SELECT employee_id FROM participants WHERE cohort_id = $1)
              AND e.employee_id IN (SELECT employee_id FROM participants WHERE cohort_id = $1)""",
        cohort_id,
    )
    return [(r["mentor"], r["mentee"]) for r in rows]
