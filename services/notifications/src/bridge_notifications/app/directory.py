"""Keeps the recipient directory and the cohorts (HR contact, regions) from matching's events.
Runs in the consumer's transaction."""

from __future__ import annotations

import logging

from bridge_notifications.db import directory
from bridge_notifications.domain.privacy import is_erased_ref
from bridge_shared.contracts.matching import (
    CohortCreatedV1,
    ParticipantEnrolledV1,
    ParticipantUpdatedV1,
    ParticipantWithdrawnV1,
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


async def record_cohort(conn: Conn, p: CohortCreatedV1) -> None:
    await directory.upsert_cohort(
        conn, p.cohort_id, name=p.name, hr_contact_email=str(p.hr_contact_email), regions=list(p.regions)
    )
