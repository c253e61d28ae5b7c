"""SQL of erasure and export: the erasure ledger, what the read models hold about a set of
participant ids, and anonymising it. Every function takes the shadow-set `suffix` ('' = live), so
the rebuild re-applies erasures to the tables it builds with the same statements."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bridge_reporting.db.upsert import check_suffix
from bridge_reporting.domain.privacy import Text
from bridge_shared.db.connection import Conn
from bridge_shared.privacy.erased import ERASED_ID, ERASED_NAME


@dataclass(frozen=True, slots=True)
class Identifiers:
    """What the read models know that identifies the people: their employee ids and names."""

    employee_ids: list[str]
    names: list[str]


# -- the ledger (live only: a rebuild keeps it) ----------------------------------------------------


async def record_erased(conn: Conn, ids: list[str], erasure_id: str, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO privacy_erased (participant_id, erasure_id, erased_at)
           SELECT unnest($1::text[]), $2, $3 ON CONFLICT (participant_id) DO NOTHING""",
        ids,
        erasure_id,
        at,
    )


async def erased_ids(conn: Conn) -> set[str]:
    return {r[0] for r in await conn.fetch("SELECT participant_id FROM privacy_erased")}


async def erased_among(
    conn: Conn, ids: Iterable[str], pair_ids: Iterable[str], suffix: str = ""
) -> list[str]:
    """The erased people among `ids`, or in one of the pairs `pair_ids` (one indexed look-up; an
    empty ledger answers at once)."""
    sfx = check_suffix(suffix)
    rows = await conn.fetch(
        f"""SELECT participant_id FROM privacy_erased WHERE participant_id = ANY($1::text[])
            UNION
            SELECT e.participant_id FROM rm_pairs{sfx} p
            JOIN privacy_erased e ON e.participant_id IN (p.mentor_id, p.mentee_id)
            WHERE p.pair_id = ANY($2::text[])""",
        sorted(set(ids)),
        sorted(set(pair_ids)),
    )
    return sorted(r[0] for r in rows)


# -- what identifies them ---------------------------------------------------------------------------


async def identifiers(conn: Conn, ids: list[str], suffix: str = "") -> Identifiers:
    """Employee ids and names of these participants as the read models hold them (placeholders and
    nulls left out): the needles their erasure removes from texts."""
    sfx = check_suffix(suffix)
    emp = await conn.fetch(
        f"""SELECT DISTINCT employee_id FROM rm_participants{sfx}
            WHERE participant_id = ANY($1::text[]) AND employee_id IS NOT NULL AND employee_id <> $2""",
        ids,
        ERASED_ID,
    )
    names = await conn.fetch(
        f"""SELECT mentor_name AS name FROM rm_pairs{sfx} WHERE mentor_id = ANY($1::text[])
            UNION SELECT mentee_name FROM rm_pairs{sfx} WHERE mentee_id = ANY($1::text[])""",
        ids,
    )
    return Identifiers(
        employee_ids=sorted(r[0] for r in emp),
        names=sorted(r[0] for r in names if r[0] and r[0] != ERASED_NAME),
    )


# -- anonymising ------------------------------------------------------------------------------------


async def reattribute_notifications(conn: Conn, ids: list[str], suffix: str = "") -> int:
    """Notifications whose recipient is named by employee id get the participant id instead (same
    attribution, no identifier); run before `anonymise_participants`."""
    sfx = check_suffix(suffix)
    status = await conn.execute(
        f"""UPDATE rm_notifications{sfx} nt SET recipient_id = p.participant_id
            FROM rm_participants{sfx} p
            WHERE p.participant_id = ANY($1::text[]) AND nt.recipient_id = p.employee_id
              AND nt.cohort_id IS NOT DISTINCT FROM p.cohort_id""",
        ids,
    )
    return int(status.split()[-1])


async def anonymise_participants(conn: Conn, ids: list[str], suffix: str = "") -> int:
    """Employee id -> the placeholder; region, department, band and times stay (counts)."""
    sfx = check_suffix(suffix)
    status = await conn.execute(
        f"""UPDATE rm_participants{sfx} SET employee_id = $2
            WHERE participant_id = ANY($1::text[]) AND employee_id IS DISTINCT FROM $2""",
        ids,
        ERASED_ID,
    )
    return int(status.split()[-1])


async def anonymise_pairs(conn: Conn, ids: list[str], suffix: str = "") -> int:
    """Their side's name -> the placeholder, also when not known yet (a pair row made by sessions'
    events first): `keep` merges then never let a late or replayed pair.formed write it."""
    sfx = check_suffix(suffix)
    status = await conn.execute(
        f"""UPDATE rm_pairs{sfx} SET
                mentor_name = CASE WHEN mentor_id = ANY($1::text[]) THEN $2 ELSE mentor_name END,
                mentee_name = CASE WHEN mentee_id = ANY($1::text[]) THEN $2 ELSE mentee_name END
            WHERE (mentor_id = ANY($1::text[]) AND mentor_name IS DISTINCT FROM $2)
               OR (mentee_id = ANY($1::text[]) AND mentee_name IS DISTINCT FROM $2)""",
        ids,
        ERASED_NAME,
    )
    return int(status.split()[-1])


async def pair_texts(conn: Conn, ids: list[str], suffix: str = "") -> tuple[list[Text], list[Text]]:
    """The texts about these people's pairs: timeline entries (summary, detail) and risk signals
    (detail)."""
    sfx = check_suffix(suffix)
    pairs = (
        f"SELECT pair_id FROM rm_pairs{sfx} WHERE mentor_id = ANY($1::text[]) OR mentee_id = ANY($1::text[])"
    )
    tl = await conn.fetch(
        f"SELECT event_id, summary, detail FROM rm_timeline{sfx} WHERE pair_id IN ({pairs})", ids
    )
    risks = await conn.fetch(
        f"SELECT event_id, detail FROM rm_risk_events{sfx} WHERE detail IS NOT NULL AND pair_id IN ({pairs})",
        ids,
    )
    return (
        [Text(r["event_id"], r["summary"], _json(r["detail"])) for r in tl],
        [Text(r["event_id"], r["detail"], None) for r in risks],
    )


def _json(value: Any) -> Any:  # Any: JSON of any shape
    """A jsonb value: decoded by the pool's codec, or text on a plain connection (the rebuild's)."""
    return json.loads(value) if isinstance(value, str) else value


async def rewrite_timeline(conn: Conn, rows: list[Text], suffix: str = "") -> int:
    if not rows:
        return 0
    sfx = check_suffix(suffix)
    await conn.execute(
        f"""UPDATE rm_timeline{sfx} t SET summary = u.summary, detail = u.detail::jsonb
            FROM unnest($1::text[], $2::text[], $3::text[]) AS u(event_id, summary, detail)
            WHERE t.event_id = u.event_id""",
        [r.key for r in rows],
        [r.text for r in rows],
        [json.dumps(r.detail, sort_keys=True) for r in rows],
    )
    return len(rows)


async def rewrite_risk_details(conn: Conn, rows: list[Text], suffix: str = "") -> int:
    if not rows:
        return 0
    sfx = check_suffix(suffix)
    await conn.execute(
        f"""UPDATE rm_risk_events{sfx} t SET detail = u.detail
            FROM unnest($1::text[], $2::text[]) AS u(event_id, detail) WHERE t.event_id = u.event_id""",
        [r.key for r in rows],
        [r.text for r in rows],
    )
    return len(rows)


# -- export -----------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:  # Any: a column value
    return value.isoformat() if isinstance(value, datetime | date) else value


async def _rows(conn: Conn, sql: str, *args: Any) -> list[dict[str, Any]]:  # Any: bind values, cells
    return [{k: _plain(v) for k, v in r.items()} for r in await conn.fetch(sql, *args)]


async def person_rows(conn: Conn, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Everything the read models hold about these participants, by kind: their enrolments, their
    pairs (with the partner's display name, which they may see), proposals, sessions, goals and risk
    signals of their pairs, the feedback they gave, the company directory's changes of them (left,
    moved), notifications to them, their mentoring circles (attendance) and the learning flows they
    taught or learned in, and their pairs' timelines (without feedback others gave).
    Datetimes as ISO 8601."""
    pairs_of = "SELECT pair_id FROM rm_pairs WHERE mentor_id = ANY($1::text[]) OR mentee_id = ANY($1::text[])"
    return {
        "enrolments": await _rows(
            conn,
            """SELECT participant_id, cohort_id, employee_id, role, region, department, seniority_level,
                      band, enrolled_at, withdrawn_at
               FROM rm_participants WHERE participant_id = ANY($1::text[])
               ORDER BY enrolled_at, participant_id""",
            ids,
        ),
        "pairs": await _rows(
            conn,
            """SELECT pr.pair_id, pr.cohort_id, pr.relationship_id,
                      CASE WHEN pr.mentor_id = ANY($1::text[]) THEN 'mentor' ELSE 'mentee' END AS role,
                      CASE WHEN pr.mentor_id = ANY($1::text[]) THEN pr.mentee_name ELSE pr.mentor_name END
                          AS partner_name,
                      pr.formed_at, pr.started_at, pr.agreement_confirmed_at, pr.closed_at, pr.dissolved_at,
                      pr.outcome,
                      (SELECT count(held_at) FROM rm_sessions s WHERE s.pair_id = pr.pair_id) AS sessions_held
               FROM rm_pairs pr WHERE pr.mentor_id = ANY($1::text[]) OR pr.mentee_id = ANY($1::text[])
               ORDER BY pr.formed_at, pr.pair_id""",
            ids,
        ),
        "proposals": await _rows(
            conn,
            """SELECT proposal_id, cohort_id,
                      CASE WHEN mentor_id = ANY($1::text[]) THEN 'mentor' ELSE 'mentee' END AS role,
                      proposed_at, accepted_at, declined_at, expired_at, cancelled_at
               FROM rm_proposals WHERE mentor_id = ANY($1::text[]) OR mentee_id = ANY($1::text[])
               ORDER BY proposed_at, proposal_id""",
            ids,
        ),
        "sessions": await _rows(
            conn,
            f"""SELECT session_id, pair_id, starts_at, scheduled_at, cancelled_at, held_at, duration_minutes,
                       topics_m2e AS topics_mentor_to_mentee, topics_e2m AS topics_mentee_to_mentor,
                       action_items
                FROM rm_sessions WHERE pair_id IN ({pairs_of})
                ORDER BY COALESCE(held_at, starts_at), session_id""",
            ids,
        ),
        "goals": await _rows(
            conn,
            f"""SELECT goal_id, pair_id, owner_side, set_at, achieved_at, abandoned_at, last_rating, rated_at
                FROM rm_goals WHERE pair_id IN ({pairs_of}) ORDER BY set_at, goal_id""",
            ids,
        ),
        "feedback_given": await _rows(
            conn,
            """SELECT feedback_id, pair_id, kind, by_side, rating, recommend_score, submitted_at
               FROM rm_feedback WHERE by_participant_id = ANY($1::text[])
               ORDER BY submitted_at, feedback_id""",
            ids,
        ),
        "risk_signals": await _rows(
            conn,
            f"""SELECT pair_id, reason, signal, detail, at FROM rm_risk_events
                WHERE pair_id IN ({pairs_of}) ORDER BY at, event_id""",
            ids,
        ),
        "company_directory": await _rows(
            conn,
            """SELECT participant_id, kind, at, left_on, detail FROM rm_directory_changes
               WHERE participant_id = ANY($1::text[]) ORDER BY at, event_id""",
            ids,
        ),
        "notifications": await _rows(
            conn,
            """SELECT notification_id, cohort_id, channel, kind, sent_at, failed_at, permanent
               FROM rm_notifications WHERE recipient_id = ANY($1::text[])
               ORDER BY COALESCE(sent_at, failed_at), notification_id""",
            ids,
        ),
        # Mentoring circles (issue 15): their memberships and attendance, and the learning flows
        # they taught or learned in (the direction only: not the other member).
        "circles": await _rows(
            conn,
            """SELECT cm.circle_id, cm.cohort_id, cm.generation, cm.band, cm.facilitator, cm.joined_at,
                      ci.started_at, COALESCE(ci.closed_at, ci.dissolved_at) AS closed_at, ci.outcome,
                      count(a.session_id) AS sessions_held, count(a.session_id) FILTER (WHERE a.attended)
                          AS sessions_attended
               FROM rm_circle_members cm LEFT JOIN rm_circles ci USING (circle_id)
               LEFT JOIN rm_circle_attendance a
                   ON a.circle_id = cm.circle_id AND a.participant_id = cm.participant_id
               WHERE cm.participant_id = ANY($1::text[])
               GROUP BY cm.circle_id, cm.participant_id, ci.circle_id
               ORDER BY cm.joined_at, cm.circle_id""",
            ids,
        ),
        "circle_learning": await _rows(
            conn,
            """SELECT session_id, circle_id,
                      CASE WHEN from_id = ANY($1::text[]) THEN 'taught' ELSE 'learned' END AS role,
                      direction, held_at
               FROM rm_circle_learning WHERE from_id = ANY($1::text[]) OR to_id = ANY($1::text[])
               ORDER BY held_at, session_id, seq""",
            ids,
        ),
        "timeline": await _rows(
            conn,
            f"""SELECT pair_id, occurred_at, event_type, summary FROM rm_timeline
                WHERE pair_id IN ({pairs_of})
                  AND NOT (event_type = 'sessions.feedback.submitted'
                           AND NOT (detail ->> 'by_participant_id') = ANY($1::text[]))
                ORDER BY occurred_at, event_id""",
            ids,
        ),
    }
