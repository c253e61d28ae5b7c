"""State changes that emit events: proposals, responses, pairs, withdrawal, expiry.

Every function runs inside the caller's transaction and writes its events to the outbox there.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bridge_matching.db import repository as repo
from bridge_matching.domain.events import explanation, participant_ref
from bridge_shared.contracts.matching import (
    MatchAcceptedV1,
    MatchDeclinedV1,
    MatchExpiredV1,
    MatchProposedV1,
    PairDissolvedV1,
    PairFormedV1,
)
from bridge_shared.events.registry import EventPayload
from bridge_shared.outbox.writer import Outbox
from bridge_shared.scheduling.clock import Clock

EXPIRY_JOB = "matching.expire-proposals"


def proposal_subject(p: Any) -> str:
    return f"cohort/{p['cohort_id']}/proposal/{p['id']}"


def pair_subject(p: Any) -> str:
    return f"cohort/{p['cohort_id']}/pair/{p['id']}"


async def create_proposals(
    conn: repo.Conn,
    outbox: Outbox,
    cohort: Any,
    rows: Sequence[dict[str, Any]],
    *,
    run_id: uuid.UUID | None,
    source: str,
    requested_by: uuid.UUID | None,
    ttl_hours: int,
    now: datetime,
) -> list[Any]:
    expires_at = now + timedelta(hours=ttl_hours)
    stored = await repo.insert_proposals(
        conn, cohort["id"], run_id, source, requested_by, rows, expires_at, now
    )
    people = await repo.participants_by_ids(
        conn, [x for p in stored for x in (p["mentor_id"], p["mentee_id"])]
    )
    events: list[tuple[EventPayload, str | None]] = []
    for p in stored:
        events.append(
            (
                MatchProposedV1(
                    proposal_id=str(p["id"]),
                    cohort_id=str(p["cohort_id"]),
                    mentor=participant_ref(people[p["mentor_id"]]),
                    mentee=participant_ref(people[p["mentee_id"]]),
                    explanation=explanation(p["score"], p["breakdown"], p["explanation"]),
                    expires_at=p["expires_at"],
                    source=source,
                    run_id=str(run_id) if run_id else None,
                    requested_by=str(requested_by) if requested_by else None,
                ),
                proposal_subject(p),
            )
        )
    await outbox.add_many(conn, events, time=now)
    return stored


async def form_pair(
    conn: repo.Conn,
    outbox: Outbox,
    cohort: Any,
    *,
    mentor: Any,
    mentee: Any,
    score: float,
    breakdown: dict[str, float],
    summary: str,
    proposal_id: uuid.UUID | None,
    run_id: uuid.UUID | None,
    origin: str,
    now: datetime,
) -> Any:
    pair = await repo.insert_pair(
        conn,
        cohort_id=cohort["id"],
        run_id=run_id,
        mentor_id=mentor["id"],
        mentee_id=mentee["id"],
        score=score,
        breakdown=breakdown,
        explanation=summary,
        proposal_id=proposal_id,
        origin=origin,
        now=now,
    )
    await outbox.add(
        conn,
        PairFormedV1(
            pair_id=str(pair["id"]),
            cohort_id=str(cohort["id"]),
            mentor=participant_ref(mentor),
            mentee=participant_ref(mentee),
            explanation=explanation(score, breakdown, summary),
            formed_at=now,
            programme_end=cohort["programme_end"],
            hr_contact_email=cohort["hr_contact_email"],
            proposal_id=str(proposal_id) if proposal_id else None,
            origin=origin,
        ),
        subject=pair_subject(pair),
        time=now,
    )
    return pair


async def respond(
    conn: repo.Conn,
    outbox: Outbox,
    cohort: Any,
    proposal: Any,
    side: str,
    accept: bool,
    reason: str | None,
    now: datetime,
) -> Any:
    """One side answers a (locked, pending) proposal; both accepting forms the pair."""
    participant_id = proposal[f"{side}_id"]
    if accept:
        row = await repo.fetch_one(
            conn,
            f"UPDATE proposals SET {side}_response = 'accepted', {side}_responded_at = $2 "
            "WHERE id = $1 RETURNING *",
            proposal["id"],
            now,
        )
        await outbox.add(
            conn,
            MatchAcceptedV1(
                proposal_id=str(row["id"]),
                cohort_id=str(row["cohort_id"]),
                participant_id=str(participant_id),
            ),
            subject=proposal_subject(row),
            time=now,
        )
        if row["mentor_response"] == "accepted" and row["mentee_response"] == "accepted":
            people = await repo.participants_by_ids(conn, [row["mentor_id"], row["mentee_id"]])
            pair = await form_pair(
                conn,
                outbox,
                cohort,
                mentor=people[row["mentor_id"]],
                mentee=people[row["mentee_id"]],
                score=row["score"],
                breakdown=row["breakdown"],
                summary=row["explanation"],
                proposal_id=row["id"],
                run_id=row["run_id"],
                origin="proposal",
                now=now,
            )
            row = await repo.fetch_one(
                conn,
                "UPDATE proposals SET status = 'accepted', resolved_at = $2, pair_id = $3 "
                "WHERE id = $1 RETURNING *",
                row["id"],
                now,
                pair["id"],
            )
        return row
    row = await repo.fetch_one(
        conn,
        f"""UPDATE proposals SET {side}_response = 'declined', {side}_responded_at = $2, status = 'declined',
                   resolved_at = $2, decline_reason = $3, declined_by = $4 WHERE id = $1 RETURNING *""",
        proposal["id"],
        now,
        reason,
        participant_id,
    )
    await outbox.add(
        conn,
        MatchDeclinedV1(
            proposal_id=str(row["id"]),
            cohort_id=str(row["cohort_id"]),
            participant_id=str(participant_id),
            reason=reason,
        ),
        subject=proposal_subject(row),
        time=now,
    )
    return row


async def cancel_proposal(
    conn: repo.Conn, outbox: Outbox, proposal: Any, by_participant: uuid.UUID, reason: str, now: datetime
) -> None:
    """Closes an open proposal because someone left; consumers see it as declined by that person."""
    await conn.execute(
        "UPDATE proposals SET status = 'cancelled', resolved_at = $2, decline_reason = $3, declined_by = $4 "
        "WHERE id = $1",
        proposal["id"],
        now,
        reason,
        by_participant,
    )
    await outbox.add(
        conn,
        MatchDeclinedV1(
            proposal_id=str(proposal["id"]),
            cohort_id=str(proposal["cohort_id"]),
            participant_id=str(by_participant),
            reason=reason,
        ),
        subject=proposal_subject(proposal),
        time=now,
    )


async def dissolve(conn: repo.Conn, outbox: Outbox, pair: Any, reason: str, by: str, now: datetime) -> Any:
    row = await repo.dissolve_pair(conn, pair["id"], reason, by, now)
    await outbox.add(
        conn,
        PairDissolvedV1(
            pair_id=str(row["id"]),
            cohort_id=str(row["cohort_id"]),
            reason=reason,
            dissolved_by=by,
            mentor_id=str(row["mentor_id"]),
            mentee_id=str(row["mentee_id"]),
        ),
        subject=pair_subject(row),
        time=now,
    )
    return row


async def release_participant(
    conn: repo.Conn, outbox: Outbox, participant: Any, reason: str, by: str, now: datetime
) -> None:
    """On withdrawal: open proposals are cancelled and formed pairs dissolved, freeing the partners."""
    for p in await conn.fetch(
        "SELECT * FROM proposals WHERE status = 'pending' AND (mentor_id = $1 OR mentee_id = $1) FOR UPDATE",
        participant["id"],
    ):
        await cancel_proposal(conn, outbox, p, participant["id"], reason, now)
    for pair in await conn.fetch(
        "SELECT * FROM pairs WHERE status = 'formed' AND (mentor_id = $1 OR mentee_id = $1) FOR UPDATE",
        participant["id"],
    ):
        await dissolve(conn, outbox, pair, reason, by, now)


async def expire_due(conn: repo.Conn, outbox: Outbox, clock: Clock) -> int:
    """The periodic job's tick: pending proposals past expires_at become expired (once: the status guards)."""
    now = clock.now()
    rows = await conn.fetch(
        """UPDATE proposals SET status = 'expired', resolved_at = $1
            WHERE id IN (SELECT id FROM proposals WHERE status = 'pending' AND expires_at <= $1
                         ORDER BY expires_at, id LIMIT 5000 FOR UPDATE SKIP LOCKED)
           RETURNING *""",
        now,
    )
    events: list[tuple[EventPayload, str | None]] = [
        (
            MatchExpiredV1(
                proposal_id=str(r["id"]),
                cohort_id=str(r["cohort_id"]),
                mentor_id=str(r["mentor_id"]),
                mentee_id=str(r["mentee_id"]),
                expired_at=now,
            ),
            proposal_subject(r),
        )
        for r in rows
    ]
    await outbox.add_many(conn, events, time=now)
    return len(rows)
