"""Looks up who a notification goes to and the preferences in effect for them (the merge itself is
the pure rule in `domain/recipients.py`)."""

from __future__ import annotations

from bridge_notifications.db import directory, preferences
from bridge_notifications.domain.recipients import (
    NO_COHORT_PREFS,
    CohortPrefs,
    Person,
    Prefs,
    hr_person,
    merge_prefs,
)
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.db.connection import Conn


async def effective_prefs(conn: Conn, who: Person, settings: NotificationsSettings) -> Prefs:
    """Participant's own choice > HR's cohort default > service default (locale/zone: > profile)."""
    own = await preferences.own(conn, who.employee_id) if who.employee_id else None
    cohort = await preferences.cohort_defaults(conn, who.cohort_id)
    return merge_prefs(own, cohort, who, settings)


async def hr_contact(
    conn: Conn, cohort_id: str, settings: NotificationsSettings
) -> tuple[Person | None, CohortPrefs]:
    """The cohort's HR contact (None if unknown) and the cohort's defaults."""
    cohort = await directory.cohort(conn, cohort_id)
    defaults = await preferences.cohort_defaults(conn, cohort_id) or NO_COHORT_PREFS
    return hr_person(cohort_id, cohort, defaults, settings), defaults
