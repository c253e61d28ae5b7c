"""Preferences: each participant's own (channels, quiet hours, digest, language, zone, chat webhook),
and HR's defaults per cohort. A participant's choice beats the cohort default, which beats the
service default."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    UrlConstraints,
    field_validator,
    model_validator,
)

from bridge_notifications.api.deps import NotificationsRuntime, get_runtime
from bridge_notifications.app import preferences
from bridge_notifications.app.preferences import PreferencesView
from bridge_notifications.domain.recipients import SUPPORTED_LOCALES, CohortPrefs, OwnPrefs
from bridge_shared.auth.dependencies import HR_ROLES, authenticate, require
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.auth.scope import secret_view
from bridge_shared.http.openapi import problems
from bridge_shared.http.params import PathIdentifier

router = APIRouter(tags=["preferences"])
Channel = Literal["email", "chat", "inbox"]
_ZONES = frozenset(available_timezones())
WebhookUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2048)]


class _Quiet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] | None = Field(
        None, max_length=3, description="null = inherit; [] = no notifications"
    )
    quiet_start: time | None = Field(None, description="local wall time quiet hours begin, e.g. 22:00")
    quiet_end: time | None = Field(
        None, description="local wall time they end, e.g. 07:00 (may wrap midnight)"
    )
    digest: Literal["immediate", "daily"] | None = None
    locale: str | None = Field(None, max_length=16, description=f"one of {', '.join(SUPPORTED_LOCALES)}")

    @field_validator("channels")
    @classmethod
    def _unique(cls, v: list[str] | None) -> list[str] | None:
        return sorted(set(v)) if v is not None else None

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str | None) -> str | None:
        return _check_locale(v)

    @model_validator(mode="after")
    def _both_or_neither(self) -> _Quiet:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet_start and quiet_end are set together")
        return self


def _check_locale(v: str | None) -> str | None:
    if v is not None and v not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale; use one of {', '.join(SUPPORTED_LOCALES)}")
    return v


def _check_zone(v: str | None) -> str | None:
    if v is not None and v not in _ZONES:
        raise ValueError("unknown IANA time zone")
    return v


class ParticipantPreferences(_Quiet):
    timezone: str | None = Field(None, max_length=64)
    chat_webhook_url: WebhookUrl | None = Field(None, description="Slack or Teams incoming webhook")
    chat_format: Literal["slack", "teams"] | None = None

    _zone = field_validator("timezone")(classmethod(lambda cls, v: _check_zone(v)))


class CohortDefaults(_Quiet):
    escalate_after_days: int | None = Field(None, ge=1, le=90)
    hr_locale: str | None = Field(None, max_length=16)
    hr_timezone: str | None = Field(None, max_length=64)
    hr_chat_webhook_url: WebhookUrl | None = None
    hr_chat_format: Literal["slack", "teams"] | None = None

    _zone = field_validator("hr_timezone")(classmethod(lambda cls, v: _check_zone(v)))

    @field_validator("hr_locale")
    @classmethod
    def _hr_locale(cls, v: str | None) -> str | None:
        return _check_locale(v)


class WebhookOut(BaseModel):
    """A webhook URL is a credential: responses say only whether one is set and its host."""

    set: bool
    host: str | None = None


class ParticipantPreferencesOut(_Quiet):
    timezone: str | None = None
    chat_webhook: WebhookOut = Field(
        default_factory=lambda: WebhookOut(set=False),
        description="whether a chat webhook is set and its host; the URL itself is never returned",
    )
    chat_format: Literal["slack", "teams"] | None = None


class CohortDefaultsOut(_Quiet):
    escalate_after_days: int | None = None
    hr_locale: str | None = None
    hr_timezone: str | None = None
    hr_chat_webhook: WebhookOut = Field(
        default_factory=lambda: WebhookOut(set=False),
        description="whether HR's chat webhook is set and its host; the URL itself is never returned",
    )
    hr_chat_format: Literal["slack", "teams"] | None = None


class EffectivePreferences(BaseModel):
    channels: list[str]
    quiet_start: time | None
    quiet_end: time | None
    digest: str
    locale: str
    timezone: str
    chat_configured: bool


class PreferencesOut(BaseModel):
    own: ParticipantPreferencesOut
    effective: EffectivePreferences | None
    updated_at: datetime | None = None


def _own_prefs(body: ParticipantPreferences) -> OwnPrefs:
    return OwnPrefs(
        channels=tuple(body.channels) if body.channels is not None else None,
        quiet_start=body.quiet_start,
        quiet_end=body.quiet_end,
        digest=body.digest,
        locale=body.locale,
        timezone=body.timezone,
        chat_webhook_url=str(body.chat_webhook_url) if body.chat_webhook_url is not None else None,
        chat_format=body.chat_format,
    )


def _cohort_prefs(body: CohortDefaults) -> CohortPrefs:
    return CohortPrefs(
        channels=tuple(body.channels) if body.channels is not None else None,
        quiet_start=body.quiet_start,
        quiet_end=body.quiet_end,
        digest=body.digest,
        locale=body.locale,
        escalate_after_days=body.escalate_after_days,
        hr_locale=body.hr_locale,
        hr_timezone=body.hr_timezone,
        hr_chat_webhook_url=str(body.hr_chat_webhook_url) if body.hr_chat_webhook_url is not None else None,
        hr_chat_format=body.hr_chat_format,
    )


def _out(view: PreferencesView) -> PreferencesOut:
    own, p = view.own, view.effective
    effective = None
    if p is not None:
        effective = EffectivePreferences(
            channels=list(p.channels),
            quiet_start=p.quiet_start,
            quiet_end=p.quiet_end,
            digest=p.digest,
            locale=p.locale,
            timezone=p.timezone,
            chat_configured=bool(p.chat_webhook_url),
        )
    return PreferencesOut(
        own=_own_out(own) if own else ParticipantPreferencesOut(),
        effective=effective,
        updated_at=own.updated_at if own else None,
    )


def _own_out(own: OwnPrefs) -> ParticipantPreferencesOut:
    return ParticipantPreferencesOut(
        channels=list(own.channels) if own.channels is not None else None,
        quiet_start=own.quiet_start,
        quiet_end=own.quiet_end,
        digest=own.digest,
        locale=own.locale,
        timezone=own.timezone,
        chat_webhook=WebhookOut(**secret_view(own.chat_webhook_url)),
        chat_format=own.chat_format,
    )


def _defaults_out(row: CohortPrefs) -> CohortDefaultsOut:
    return CohortDefaultsOut(
        channels=list(row.channels) if row.channels is not None else None,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        digest=row.digest,
        locale=row.locale,
        escalate_after_days=row.escalate_after_days,
        hr_locale=row.hr_locale,
        hr_timezone=row.hr_timezone,
        hr_chat_webhook=WebhookOut(**secret_view(row.hr_chat_webhook_url)),
        hr_chat_format=row.hr_chat_format,
    )


@router.get("/me/preferences", response_model=PreferencesOut)
async def my_preferences(
    principal: Principal = Depends(require(Role.PARTICIPANT)), rt: NotificationsRuntime = Depends(get_runtime)
) -> PreferencesOut:
    return _out(await preferences.of_employee(rt.pool, principal.subject, rt.settings))


@router.put("/me/preferences", response_model=PreferencesOut)
async def set_my_preferences(
    body: ParticipantPreferences,
    principal: Principal = Depends(require(Role.PARTICIPANT)),
    rt: NotificationsRuntime = Depends(get_runtime),
) -> PreferencesOut:
    """Replaces your choices. `chat_webhook_url` is write-only: omit it to keep the one set, send null to
    remove it; responses show only `chat_webhook: {set, host}`."""
    keep = "chat_webhook_url" not in body.model_fields_set
    return _out(
        await preferences.save_own(
            rt.pool, principal.subject, _own_prefs(body), rt.settings, keep_webhook=keep
        )
    )


@router.get("/preferences/{participant_id}", response_model=PreferencesOut, responses=problems(404))
async def participant_preferences(
    participant_id: PathIdentifier,
    principal: Principal = Depends(authenticate),
    rt: NotificationsRuntime = Depends(get_runtime),
) -> PreferencesOut:
    """The page linked from every email: the participant themselves, or HR for the participant's home
    region (404 for anyone else). The chat webhook shows only as `{set, host}`."""
    return _out(await preferences.of_participant(rt.pool, principal, participant_id, rt.settings))


@router.get(
    "/cohorts/{cohort_id}/notification-defaults", response_model=CohortDefaultsOut, responses=problems(404)
)
async def cohort_defaults(
    cohort_id: PathIdentifier,
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: NotificationsRuntime = Depends(get_runtime),
) -> CohortDefaultsOut:
    """HR who see one of the cohort's regions (404 otherwise); the webhook shows only as `{set, host}`."""
    return _defaults_out(await preferences.cohort_defaults(rt.pool, principal, cohort_id))


@router.put(
    "/cohorts/{cohort_id}/notification-defaults", response_model=CohortDefaultsOut, responses=problems(404)
)
async def set_cohort_defaults(
    cohort_id: PathIdentifier,
    body: CohortDefaults,
    principal: Principal = Depends(require(Role.HR_ADMIN, Role.HR_REGIONAL)),
    rt: NotificationsRuntime = Depends(get_runtime),
) -> CohortDefaultsOut:
    """A cohort-wide change: HR who manage every region of the cohort (403 names the missing ones);
    service tokens are read-only. `hr_chat_webhook_url` is write-only: omit it to keep the one set."""
    keep = "hr_chat_webhook_url" not in body.model_fields_set
    saved = await preferences.save_cohort_defaults(
        rt.pool, principal, cohort_id, _cohort_prefs(body), rt.settings, keep_webhook=keep
    )
    return _defaults_out(saved)
