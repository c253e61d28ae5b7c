"""The recipient directory (participants, as learnt from matching) and cohorts (HR contact, regions)."""

from __future__ import annotations

from datetime import date, datetime

from bridge_notifications.db import affected
from bridge_notifications.domain.recipients import Cohort, Person
from bridge_shared.contracts.circles import CircleMember
from bridge_shared.contracts.matching import ParticipantRef
from bridge_shared.db.connection import Conn

# An erased participant (docs/privacy.md) is never written again, whatever a late or replayed event says.
_NOT_ERASED = "WHERE NOT EXISTS (SELECT 1 FROM erased_participants WHERE participant_id = $1)"


async def enrol(conn: Conn, participant_id: str, cohort_id: str, profile: ParticipantRef) -> None:
    """A participant enrolled or updated: (re)activated with their current profile."""
    await conn.execute(
        f"""INSERT INTO recipients (participant_id, employee_id, cohort_id, display_name, email, locale,
                                    timezone, region)
            SELECT $1,$2,$3,$4,$5,$6,$7,$8 {_NOT_ERASED}
            ON CONFLICT (participant_id) DO UPDATE SET employee_id = EXCLUDED.employee_id,
                display_name = EXCLUDED.display_name, email = EXCLUDED.email, locale = EXCLUDED.locale,
                timezone = EXCLUDED.timezone, region = EXCLUDED.region, active = true, updated_at = now()""",
        participant_id,
        profile.employee_id,
        cohort_id,
        profile.display_name,
        str(profile.email),
        profile.locale,
        profile.timezone,
        profile.region,
    )


async def withdraw(conn: Conn, participant_id: str) -> None:
    await conn.execute(
        "UPDATE recipients SET active = false, updated_at = now() WHERE participant_id = $1",
        participant_id,
    )


async def upsert_recipient(conn: Conn, ref: ParticipantRef | CircleMember, cohort_id: str) -> None:
    """A participant named in a match, pair or circle event (leaves `active` as it is)."""
    await conn.execute(
        f"""INSERT INTO recipients (participant_id, employee_id, cohort_id, display_name, email, locale,
                                    timezone, region)
            SELECT $1,$2,$3,$4,$5,$6,$7,$8 {_NOT_ERASED}
            ON CONFLICT (participant_id) DO UPDATE SET employee_id = EXCLUDED.employee_id,
                display_name = EXCLUDED.display_name, email = EXCLUDED.email, locale = EXCLUDED.locale,
                timezone = EXCLUDED.timezone, region = EXCLUDED.region, updated_at = now()""",
        ref.participant_id,
        ref.employee_id,
        cohort_id,
        ref.display_name,
        str(ref.email),
        ref.locale,
        ref.timezone,
        ref.region,
    )


async def person(conn: Conn, participant_id: str) -> Person | None:
    """The participant as a recipient, with whether they left the company."""
    r = await conn.fetchrow(
        """SELECT r.participant_id, r.employee_id, r.cohort_id, r.display_name, r.email, r.locale,
                  r.timezone, l.participant_id IS NOT NULL AS has_left
           FROM recipients r LEFT JOIN left_participants l USING (participant_id)
           WHERE r.participant_id = $1""",
        participant_id,
    )
    if r is None:
        return None
    return Person(
        r["participant_id"],
        r["employee_id"],
        r["cohort_id"],
        r["display_name"],
        r["email"],
        r["locale"],
        r["timezone"],
        left=r["has_left"],
    )


# -- leavers (issue 19) ----------------------------------------------------------------------------


async def record_left(conn: Conn, participant_ids: list[str], *, left_on: date | None, at: datetime) -> int:
    """Marks the participants as having left the company (ids and the date only; the first date
    known stays) and deactivates their recipient rows, as a withdrawal does. Returns how many rows
    were written (marked now, or given their date now)."""
    result: str = await conn.execute(
        """INSERT INTO left_participants (participant_id, left_on, recorded_at)
           SELECT p, $2, $3 FROM unnest($1::text[]) AS p
           ON CONFLICT (participant_id) DO UPDATE
               SET left_on = coalesce(left_participants.left_on, EXCLUDED.left_on)
             WHERE left_participants.left_on IS NULL AND EXCLUDED.left_on IS NOT NULL""",
        participant_ids,
        left_on,
        at,
    )
    await conn.execute(
        "UPDATE recipients SET active = false, updated_at = now() "
        "WHERE participant_id = ANY($1::text[]) AND active",
        participant_ids,
    )
    return affected(result)


async def left_among(conn: Conn, participant_ids: list[str]) -> set[str]:
    """Those of the participants who left the company."""
    if not participant_ids:
        return set()
    rows = await conn.fetch(
        "SELECT participant_id FROM left_participants WHERE participant_id = ANY($1::text[])",
        participant_ids,
    )
    return {r[0] for r in rows}


async def region_of(conn: Conn, participant_id: str) -> str | None:
    """The participant's home region, as matching last told us (None if not known yet)."""
    region: str | None = await conn.fetchval(
        "SELECT region FROM recipients WHERE participant_id = $1", participant_id
    )
    return region


async def active_participant_of(conn: Conn, employee_id: str) -> str | None:
    """The employee's most recently updated active participation, if any."""
    pid: str | None = await conn.fetchval(
        "SELECT participant_id FROM recipients WHERE employee_id = $1 AND active "
        "ORDER BY updated_at DESC LIMIT 1",
        employee_id,
    )
    return pid


async def upsert_cohort(
    conn: Conn,
    cohort_id: str,
    *,
    name: str | None = None,
    hr_contact_email: str | None = None,
    regions: list[str] | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO cohorts (cohort_id, name, hr_contact_email, regions)
           VALUES ($1,$2,$3,coalesce($4::text[],'{}'::text[]))
           ON CONFLICT (cohort_id) DO UPDATE SET name = coalesce(EXCLUDED.name, cohorts.name),
               hr_contact_email = coalesce(EXCLUDED.hr_contact_email, cohorts.hr_contact_email),
               regions = CASE WHEN $4::text[] IS NULL THEN cohorts.regions ELSE EXCLUDED.regions END,
               updated_at = now()""",
        cohort_id,
        name,
        hr_contact_email,
        regions,
    )


_COHORT = "SELECT cohort_id, name, hr_contact_email, regions FROM cohorts"


async def cohort(conn: Conn, cohort_id: str) -> Cohort | None:
    r = await conn.fetchrow(f"{_COHORT} WHERE cohort_id = $1", cohort_id)
    if r is None:
        return None
    return Cohort(r["cohort_id"], r["name"], r["hr_contact_email"], tuple(r["regions"]))


async def cohorts_with_hr_contact(conn: Conn) -> list[Cohort]:
    rows = await conn.fetch(f"{_COHORT} WHERE hr_contact_email IS NOT NULL")
    return [Cohort(r["cohort_id"], r["name"], r["hr_contact_email"], tuple(r["regions"])) for r in rows]


async def record_pairing(conn: Conn, ref_id: str, cohort_id: str, mentor_id: str, mentee_id: str) -> None:
    """Who is in a proposal or pair (ids only), for events that name only the proposal or pair."""
    await conn.execute(
        """INSERT INTO pairings (ref_id, cohort_id, mentor_id, mentee_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT (ref_id) DO NOTHING""",
        ref_id,
        cohort_id,
        mentor_id,
        mentee_id,
    )


async def pairing(conn: Conn, ref_id: str) -> tuple[str, str] | None:
    """(mentor id, mentee id) of a proposal or pair, if known."""
    r = await conn.fetchrow("SELECT mentor_id, mentee_id FROM pairings WHERE ref_id = $1", ref_id)
    return None if r is None else (r["mentor_id"], r["mentee_id"])


async def record_decline(
    conn: Conn, proposal_id: str, cohort_id: str, participant_id: str, at: datetime
) -> int:
    """Records one declined proposal (once) and returns how many the participant has declined in the
    cohort so far."""
    await conn.execute(
        """INSERT INTO declines (proposal_id, cohort_id, participant_id, declined_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (proposal_id) DO NOTHING""",
        proposal_id,
        cohort_id,
        participant_id,
        at,
    )
    n: int = await conn.fetchval(
        "SELECT count(*) FROM declines WHERE participant_id = $1 AND cohort_id = $2",
        participant_id,
        cohort_id,
    )
    return n
