"""Who is notified and how: recipients, their stored choices, and the precedence rules that merge
them (participant's choice > HR's cohort default > service default; locale/zone > profile)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts.circles import CircleMember
from bridge_shared.contracts.matching import ParticipantRef

SUPPORTED_LOCALES = ("en", "de", "fr", "es", "ja")


@dataclass(frozen=True, slots=True)
class Person:
    """A recipient: a participant (employee_id set) or a cohort's HR contact (recipient_id 'hr:<cohort>')."""

    recipient_id: str
    employee_id: str | None
    cohort_id: str | None
    display_name: str
    email: str
    locale: str
    timezone: str
    left: bool = False
    """The participant left the company: nothing is sent to them any more (db/directory.person)."""


@dataclass(frozen=True, slots=True)
class Prefs:
    """The preferences in effect for one recipient."""

    channels: tuple[str, ...]
    quiet_start: time | None
    quiet_end: time | None
    digest: str
    locale: str
    timezone: str
    chat_webhook_url: str | None
    chat_format: str


@dataclass(frozen=True, slots=True)
class OwnPrefs:
    """A participant's own choices (table `preferences`); None = inherit."""

    channels: tuple[str, ...] | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    digest: str | None = None
    locale: str | None = None
    timezone: str | None = None
    chat_webhook_url: str | None = None
    chat_format: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CohortPrefs:
    """HR's defaults for a cohort (table `cohort_defaults`); None = the service default."""

    channels: tuple[str, ...] | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    digest: str | None = None
    locale: str | None = None
    escalate_after_days: int | None = None
    hr_locale: str | None = None
    hr_timezone: str | None = None
    hr_chat_webhook_url: str | None = None
    hr_chat_format: str | None = None


NO_COHORT_PREFS = CohortPrefs()


@dataclass(frozen=True, slots=True)
class Cohort:
    """A cohort as learnt from matching (its HR contact receives escalations and the weekly digest)."""

    cohort_id: str
    name: str | None
    hr_contact_email: str | None
    regions: tuple[str, ...]


def normalise_locale(locale: str | None) -> str:
    if not locale:
        return "en"
    base = locale.replace("_", "-").split("-")[0].lower()
    return base if base in SUPPORTED_LOCALES else "en"


def person_from_ref(ref: ParticipantRef | CircleMember, cohort_id: str) -> Person:
    return Person(
        ref.participant_id,
        ref.employee_id,
        cohort_id,
        ref.display_name,
        str(ref.email),
        ref.locale,
        ref.timezone,
    )


def hr_person(
    cohort_id: str, cohort: Cohort | None, defaults: CohortPrefs, settings: NotificationsSettings
) -> Person | None:
    """The cohort's HR contact as a recipient, or None when no contact is known."""
    email = cohort.hr_contact_email if cohort else None
    if not email:
        return None
    name = (cohort.name if cohort and cohort.name else None) or cohort_id
    return Person(
        f"hr:{cohort_id}",
        None,
        cohort_id,
        name,
        email,
        normalise_locale(defaults.hr_locale or settings.hr_default_locale),
        defaults.hr_timezone or settings.hr_default_timezone,
    )


def hr_prefs(defaults: CohortPrefs, hr: Person) -> Prefs:
    channels = ("email", "chat") if defaults.hr_chat_webhook_url else ("email",)
    return Prefs(
        channels,
        None,
        None,
        "immediate",
        hr.locale,
        hr.timezone,
        defaults.hr_chat_webhook_url,
        defaults.hr_chat_format or "slack",
    )


def merge_prefs(
    own: OwnPrefs | None, cohort: CohortPrefs | None, who: Person, settings: NotificationsSettings
) -> Prefs:
    """Participant's own choice > HR's cohort default > service default (locale/zone: > profile)."""
    mine = own or OwnPrefs()
    theirs = cohort or NO_COHORT_PREFS
    quiet_from_own = mine.quiet_start is not None or mine.quiet_end is not None
    quiet = (mine.quiet_start, mine.quiet_end) if quiet_from_own else (theirs.quiet_start, theirs.quiet_end)
    channels = mine.channels if mine.channels is not None else theirs.channels
    digest = mine.digest if mine.digest is not None else theirs.digest
    return Prefs(
        channels=tuple(channels) if channels is not None else tuple(settings.default_channels),
        quiet_start=quiet[0],
        quiet_end=quiet[1],
        digest=digest if digest is not None else "immediate",
        locale=normalise_locale(mine.locale or who.locale or theirs.locale),
        timezone=mine.timezone or who.timezone or "UTC",
        chat_webhook_url=mine.chat_webhook_url,
        chat_format=mine.chat_format or "slack",
    )
