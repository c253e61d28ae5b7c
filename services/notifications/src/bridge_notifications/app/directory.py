"""Keeps the recipient directory and the cohorts (HR contact, regions) from matching's events.
Runs in the consumer's transaction.

Leavers (issue 19): matching.person.left names every enrolment of a person who left the company;
sessions' pair.closed v2 names the one of a pair who left (`left_participant_id`). Either marks them
as left here (whichever arrives first), and from then on nothing of any kind reaches them: their
waiting deliveries (reminders, held digest items, quiet-hours holds) are cancelled and their inbox
items not yet visible withdrawn, planning leaves them out, and the dispatcher and the daily digest
look again at send time. As with an erasure, what already went out is not recalled."""

from __future__ import annotations

import logging
from datetime import date, datetime

from bridge_notifications.db import deliveries, directory, inbox
from bridge_notifications.domain.privacy import is_erased_ref
from bridge_shared.contracts.matching import (
    CohortCreatedV1,
    ParticipantEnrolledV1,
    ParticipantUpdatedV1,
    ParticipantWithdrawnV1,
    PersonLeftV1,
)
from bridge_shared.db.connection import Conn

log = logging.getLogger(__name__)


async def record_participant(conn: Conn, p: ParticipantEnrolledV1 | ParticipantUpdatedV1) -> None:
    """A profile that opened as erased (their key is destroyed) is never stored: it would overwrite a
    live recipient with placeholders. An erased participant's row is never re-created (`db.directory`)."""
    if is_erased_ref(p.profile):
        log.info("participant %s is erased: profile event %s not recorded", p.participant_id, p.event_type)
        return
    await directory.enrol(conn, p.participant_id, p.cohort_id, p.profile)


async def withdraw_participant(conn: Conn, p: ParticipantWithdrawnV1) -> None:
    await directory.withdraw(conn, p.participant_id)


async def participants_left(
    conn: Conn, participant_ids: list[str], *, left_on: date | None, now: datetime, why: str
) -> int:
    """Marks the participants as having left the company and withdraws everything still waiting for
    them; returns how many deliveries were cancelled."""
    if not participant_ids:
        return 0
    await directory.record_left(conn, participant_ids, left_on=left_on, at=now)
    cancelled = await deliveries.cancel_to(conn, participant_ids, now=now, reason=f"left the company ({why})")
    withdrawn = await inbox.withdraw_for(conn, participant_ids, now=now)
    log.info(
        "participants %s left the company (%s): %d deliveries cancelled, %d inbox items withdrawn",
        ", ".join(participant_ids),
        why,
        cancelled,
        withdrawn,
    )
    return cancelled


async def person_left(conn: Conn, p: PersonLeftV1, now: datetime) -> None:
    """matching.person.left: every enrolment of theirs, in any cohort."""
    await participants_left(
        conn, list(p.participant_ids), left_on=p.left_on, now=now, why=f"matching.person.left, {p.cause}"
    )


async def record_cohort(conn: Conn, p: CohortCreatedV1) -> None:
    await directory.upsert_cohort(
        conn, p.cohort_id, name=p.name, hr_contact_email=str(p.hr_contact_email), regions=list(p.regions)
    )
