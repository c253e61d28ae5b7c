"""Who and how to notify: recipients, cohorts (HR contact), preferences and HR's cohort defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts.matching import ParticipantRef

Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
SUPPORTED_LOCALES = ("en", "de", "fr", "es", "ja")


@dataclass(frozen=True)
class Person:
    """A recipient: a participant (employee_id set) or a cohort's HR contact (recipient_id 'hr:<cohort>')."""

    recipient_id: str
    employee_id: str | None
    cohort_id: str | None
    display_name: str
    email: str
    locale: str
    timezone: str


@dataclass(frozen=True)
class Prefs:
    channels: tuple[str, ...]
    quiet_start: time | None
    quiet_end: time | None
    digest: str
    locale: str
    timezone: str
    chat_webhook_url: str | None
    chat_format: str


async def upsert_recipient(conn: Conn, ref: ParticipantRef, cohort_id: str) -> None:
    await conn.execute(
        """INSERT INTO recipients (participant_id, employee_id, cohort_id, display_name, email, locale,
                                   timezone)
           VALUES ($1,$2,$3,$4,$5,$6,$7)
           ON CONFLICT (participant_id) DO UPDATE SET employee_id = EXCLUDED.employee_id,
               display_name = EXCLUDED.display_name, email = EXCLUDED.email, locale = EXCLUDED.locale,
               timezone = EXCLUDED.timezone, updated_at = now()""",
        ref.participant_id,
        ref.employee_id,
        cohort_id,
        ref.display_name,
        str(ref.email),
        ref.locale,
        ref.timezone,
    )


def person_from_ref(ref: ParticipantRef, cohort_id: str) -> Person:
    return Person(
        ref.participant_id,
        ref.employee_id,
        cohort_id,
        ref.display_name,
        str(ref.email),
        ref.locale,
        ref.timezone,
    )


async def person(conn: Conn, participant_id: str) -> Person | None:
    r = await conn.fetchrow("SELECT * FROM recipients WHERE participant_id = $1", participant_id)
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
    )


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


async def cohort_defaults(conn: Conn, cohort_id: str | None) -> dict[str, Any]:
    if cohort_id is None:
        return {}
    row = await conn.fetchrow("SELECT * FROM cohort_defaults WHERE cohort_id = $1", cohort_id)
    return dict(row) if row else {}


async def hr_person(
    conn: Conn, cohort_id: str, settings: NotificationsSettings, fallback_email: str | None = None
) -> tuple[Person | None, dict[str, Any]]:
    row = await conn.fetchrow("SELECT * FROM cohorts WHERE cohort_id = $1", cohort_id)
    email = (row["hr_contact_email"] if row else None) or fallback_email
    defaults = await cohort_defaults(conn, cohort_id)
    if not email:
        return None, defaults
    name = (row["name"] if row and row["name"] else None) or cohort_id
    return Person(
        f"hr:{cohort_id}",
        None,
        cohort_id,
        name,
        email,
        normalise_locale(defaults.get("hr_locale") or settings.hr_default_locale),
        defaults.get("hr_timezone") or settings.hr_default_timezone,
    ), defaults


def normalise_locale(locale: str | None) -> str:
    if not locale:
        return "en"
    base = locale.replace("_", "-").split("-")[0].lower()
    return base if base in SUPPORTED_LOCALES else "en"


async def effective_prefs(conn: Conn, who: Person, settings: NotificationsSettings) -> Prefs:
    """Participant's own choice > HR's cohort default > service default (locale/zone: > profile)."""
    own = (
        await conn.fetchrow("SELECT * FROM preferences WHERE employee_id = $1", who.employee_id)
        if who.employee_id
        else None
    )
    cohort = await cohort_defaults(conn, who.cohort_id)
    return merge_prefs(dict(own) if own else {}, cohort, who, settings)


def merge_prefs(
    own: dict[str, Any], cohort: dict[str, Any], who: Person, settings: NotificationsSettings
) -> Prefs:
    def pick(field: str, default: Any) -> Any:
        for source in (own, cohort):
            if source.get(field) is not None:
                return source[field]
        return default

    quiet_from_own = own.get("quiet_start") is not None or own.get("quiet_end") is not None
    quiet_source = own if quiet_from_own else cohort
    return Prefs(
        channels=tuple(pick("channels", list(settings.default_channels))),
        quiet_start=quiet_source.get("quiet_start"),
        quiet_end=quiet_source.get("quiet_end"),
        digest=pick("digest", "immediate"),
        locale=normalise_locale(own.get("locale") or who.locale or cohort.get("locale")),
        timezone=own.get("timezone") or who.timezone or "UTC",
        chat_webhook_url=own.get("chat_webhook_url"),
        chat_format=own.get("chat_format") or "slack",
    )
