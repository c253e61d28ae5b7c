"""Keeps the recipient directory and the cohorts (HR contact, regions) from matching's events.
Runs in the consumer's transaction."""

from __future__ import annotations

from bridge_notifications.db import directory
from bridge_shared.contracts.matching import (
    CohortCreatedV1,
    ParticipantEnrolledV1,
    ParticipantUpdatedV1,
    ParticipantWithdrawnV1,
)
from bridge_shared.db.connection import Conn


async def record_participant(conn: Conn, p: ParticipantEnrolledV1 | ParticipantUpdatedV1) -> None:
    await directory.enrol(conn, p.participant_id, p.cohort_id, p.profile)


async def withdraw_participant(conn: Conn, p: ParticipantWithdrawnV1) -> None:
    await directory.withdraw(conn, p.participant_id)


async def record_cohort(conn: Conn, p: CohortCreatedV1) -> None:
    await directory.upsert_cohort(
        conn, p.cohort_id, name=p.name, hr_contact_email=str(p.hr_contact_email), regions=list(p.regions)
    )
