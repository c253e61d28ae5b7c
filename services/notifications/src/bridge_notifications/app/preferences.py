"""Preferences: each participant's own (channels, quiet hours, digest, language, zone, chat webhook),
and HR's defaults per cohort. A participant's choice beats the cohort default, which beats the
service default. Webhook URLs are checked against the allowlist when saved (no SSRF)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bridge_notifications.app.recipients import effective_prefs
from bridge_notifications.db import directory, preferences
from bridge_notifications.domain.recipients import NO_COHORT_PREFS, CohortPrefs, OwnPrefs, Prefs
from bridge_notifications.domain.webhook_policy import webhook_refusal
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.db.connection import Conn, connection
from bridge_shared.errors import Problem

HR = (Role.HR_ADMIN, Role.HR_REGIONAL, Role.SERVICE)


@dataclass(frozen=True, slots=True)
class PreferencesView:
    own: OwnPrefs | None
    effective: Prefs | None


async def _view(conn: Conn, employee_id: str, settings: NotificationsSettings) -> PreferencesView:
    own = await preferences.own(conn, employee_id)
    effective = None
    participant_id = await directory.active_participant_of(conn, employee_id)
    if participant_id is not None:
        who = await directory.person(conn, participant_id)
        if who is not None:
            effective = await effective_prefs(conn, who, settings)
    return PreferencesView(own, effective)


async def of_employee(
    pool: asyncpg.Pool, employee_id: str, settings: NotificationsSettings
) -> PreferencesView:
    async with connection(pool) as conn:
        return await _view(conn, employee_id, settings)


def _allowed_webhook(field: str, url: str | None, settings: NotificationsSettings) -> None:
    """A 422 naming the field when the URL's host is not allowed."""
    if url is None:
        return
    refusal = webhook_refusal(
        url,
        allowed_hosts=settings.chat_webhook_allowed_hosts,
        require_https=settings.chat_webhook_require_https,
    )
    if refusal is not None:
        raise Problem(422, "Invalid request", refusal, errors=[{"field": field, "message": refusal}])


async def save_own(
    pool: asyncpg.Pool, employee_id: str, prefs: OwnPrefs, settings: NotificationsSettings
) -> PreferencesView:
    _allowed_webhook("chat_webhook_url", prefs.chat_webhook_url, settings)
    async with connection(pool) as conn:
        await preferences.save_own(conn, employee_id, prefs)
        return await _view(conn, employee_id, settings)


async def of_participant(
    pool: asyncpg.Pool, principal: Principal, participant_id: str, settings: NotificationsSettings
) -> PreferencesView:
    """The participant themselves, or HR (the page linked from every email)."""
    async with connection(pool) as conn:
        who = await directory.person(conn, participant_id)
        if who is None or who.employee_id is None:
            raise Problem(404, "Not found", f"no participant {participant_id}")
        if not (principal.has(*HR) or principal.subject == who.employee_id):
            raise Problem(403, "Forbidden", "these are someone else's preferences")
        return await _view(conn, who.employee_id, settings)


async def _check_cohort_access(conn: Conn, cohort_id: str, principal: Principal) -> None:
    if principal.is_global_hr:
        return
    cohort = await directory.cohort(conn, cohort_id)
    if cohort is None or not principal.can_see_any_region(list(cohort.regions)):
        raise Problem(403, "Forbidden", f"cohort {cohort_id} is outside your regions")


async def cohort_defaults(pool: asyncpg.Pool, principal: Principal, cohort_id: str) -> CohortPrefs:
    async with connection(pool) as conn:
        await _check_cohort_access(conn, cohort_id, principal)
        return await preferences.cohort_defaults(conn, cohort_id) or NO_COHORT_PREFS


async def save_cohort_defaults(
    pool: asyncpg.Pool,
    principal: Principal,
    cohort_id: str,
    prefs: CohortPrefs,
    settings: NotificationsSettings,
) -> None:
    _allowed_webhook("hr_chat_webhook_url", prefs.hr_chat_webhook_url, settings)
    async with connection(pool) as conn:
        await _check_cohort_access(conn, cohort_id, principal)
        await preferences.save_cohort_defaults(conn, cohort_id, prefs)
