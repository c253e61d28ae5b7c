"""Preferences: each participant's own (channels, quiet hours, digest, language, zone, chat webhook),
and HR's defaults per cohort. A participant's choice beats the cohort default, which beats the
service default. Webhook URLs are checked against the allowlist when saved (no SSRF) and never
returned (the API shows whether one is set and its host).

Who (docs/access.md): a participant's preferences are theirs and HR's whose regions include the
participant's home region (404 for anyone else); cohort defaults are visible to HR who see one of the
cohort's regions and changed only by HR who manage all of them (403 naming the missing ones)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import asyncpg

from bridge_notifications.app.recipients import effective_prefs
from bridge_notifications.db import directory, preferences
from bridge_notifications.domain.recipients import NO_COHORT_PREFS, CohortPrefs, OwnPrefs, Prefs
from bridge_notifications.domain.webhook_policy import webhook_refusal
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import Conn, connection
from bridge_shared.errors import Problem


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
    pool: asyncpg.Pool,
    employee_id: str,
    prefs: OwnPrefs,
    settings: NotificationsSettings,
    *,
    keep_webhook: bool = False,
) -> PreferencesView:
    """Saves the participant's choices; with `keep_webhook` the stored webhook URL stays (clients never
    read it back, so a PUT without `chat_webhook_url` must not erase it)."""
    _allowed_webhook("chat_webhook_url", prefs.chat_webhook_url, settings)
    async with connection(pool) as conn:
        if keep_webhook:
            current = await preferences.own(conn, employee_id)
            prefs = dataclasses.replace(prefs, chat_webhook_url=current.chat_webhook_url if current else None)
        await preferences.save_own(conn, employee_id, prefs)
        return await _view(conn, employee_id, settings)


async def of_participant(
    pool: asyncpg.Pool, principal: Principal, participant_id: str, settings: NotificationsSettings
) -> PreferencesView:
    """The participant themselves, or HR for their home region (the page linked from every email);
    404 for anyone else, so existence is not revealed."""
    async with connection(pool) as conn:
        who = await directory.person(conn, participant_id)
        if who is None or who.employee_id is None:
            raise Problem(404, "Not found", f"no participant {participant_id}")
        region = await directory.region_of(conn, participant_id)
        if not (
            scope.is_self(principal, who.employee_id)
            or (scope.is_hr(principal) and scope.sees_region(principal, region))
        ):
            raise Problem(404, "Not found", f"no participant {participant_id}")
        return await _view(conn, who.employee_id, settings)


async def _check_cohort_access(conn: Conn, cohort_id: str, principal: Principal, *, change: bool) -> None:
    """Rule 4: visible when one of the cohort's regions is in scope (else 404); a change needs all."""
    if change:
        scope.ensure_writer(principal)
    if scope.is_admin(principal) or (not change and scope.reads_globally(principal)):
        return
    cohort = await directory.cohort(conn, cohort_id)
    if cohort is None or not scope.sees_shared(principal, cohort.regions):
        raise Problem(404, "Not found", f"no cohort {cohort_id}")
    if change:
        scope.ensure_manages_all(principal, cohort.regions, "Notification defaults")


async def cohort_defaults(pool: asyncpg.Pool, principal: Principal, cohort_id: str) -> CohortPrefs:
    async with connection(pool) as conn:
        await _check_cohort_access(conn, cohort_id, principal, change=False)
        return await preferences.cohort_defaults(conn, cohort_id) or NO_COHORT_PREFS


async def save_cohort_defaults(
    pool: asyncpg.Pool,
    principal: Principal,
    cohort_id: str,
    prefs: CohortPrefs,
    settings: NotificationsSettings,
    *,
    keep_webhook: bool = False,
) -> CohortPrefs:
    """Saves HR's defaults (with `keep_webhook`, the stored HR webhook URL stays) and returns them."""
    _allowed_webhook("hr_chat_webhook_url", prefs.hr_chat_webhook_url, settings)
    async with connection(pool) as conn:
        await _check_cohort_access(conn, cohort_id, principal, change=True)
        if keep_webhook:
            current = await preferences.cohort_defaults(conn, cohort_id)
            prefs = dataclasses.replace(
                prefs, hr_chat_webhook_url=current.hr_chat_webhook_url if current else None
            )
        await preferences.save_cohort_defaults(conn, cohort_id, prefs)
        return await preferences.cohort_defaults(conn, cohort_id) or NO_COHORT_PREFS
