"""Preferences: each participant's own (channels, quiet hours, digest, language, zone, chat webhook),
and HR's defaults per cohort. A participant's choice beats the cohort default, which beats the
service default."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Literal
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge_notifications.channels.webhook_policy import webhook_refusal
from bridge_notifications.db import directory
from bridge_notifications.db.directory import SUPPORTED_LOCALES
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.auth.dependencies import HR_ROLES, authenticate, require
from bridge_shared.auth.principal import Principal, Role
from bridge_shared.http.problems import Problem
from bridge_shared.runtime import Runtime, get_runtime

router = APIRouter(tags=["preferences"])
Channel = Literal["email", "chat", "inbox"]
_ZONES = frozenset(available_timezones())


class _Quiet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] | None = Field(None, description="null = inherit; [] = no notifications")
    quiet_start: time | None = Field(None, description="local wall time quiet hours begin, e.g. 22:00")
    quiet_end: time | None = Field(
        None, description="local wall time they end, e.g. 07:00 (may wrap midnight)"
    )
    digest: Literal["immediate", "daily"] | None = None
    locale: str | None = Field(None, description=f"one of {', '.join(SUPPORTED_LOCALES)}")

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
    timezone: str | None = None
    chat_webhook_url: AnyHttpUrl | None = Field(None, description="Slack or Teams incoming webhook")
    chat_format: Literal["slack", "teams"] | None = None

    _zone = field_validator("timezone")(classmethod(lambda cls, v: _check_zone(v)))


class CohortDefaults(_Quiet):
    escalate_after_days: int | None = Field(None, ge=1, le=90)
    hr_locale: str | None = None
    hr_timezone: str | None = None
    hr_chat_webhook_url: AnyHttpUrl | None = None
    hr_chat_format: Literal["slack", "teams"] | None = None

    _zone = field_validator("hr_timezone")(classmethod(lambda cls, v: _check_zone(v)))

    @field_validator("hr_locale")
    @classmethod
    def _hr_locale(cls, v: str | None) -> str | None:
        return _check_locale(v)


class EffectivePreferences(BaseModel):
    channels: list[str]
    quiet_start: time | None
    quiet_end: time | None
    digest: str
    locale: str
    timezone: str
    chat_configured: bool


class PreferencesOut(BaseModel):
    own: ParticipantPreferences
    effective: EffectivePreferences | None
    updated_at: datetime | None = None


_OWN = (
    "channels",
    "quiet_start",
    "quiet_end",
    "digest",
    "locale",
    "timezone",
    "chat_webhook_url",
    "chat_format",
)
_COHORT = (
    "channels",
    "quiet_start",
    "quiet_end",
    "digest",
    "locale",
    "escalate_after_days",
    "hr_locale",
    "hr_timezone",
    "hr_chat_webhook_url",
    "hr_chat_format",
)


async def _preferences_of(conn: Any, employee_id: str, settings: NotificationsSettings) -> PreferencesOut:
    own = await conn.fetchrow("SELECT * FROM preferences WHERE employee_id = $1", employee_id)
    rec = await conn.fetchrow(
        "SELECT participant_id FROM recipients WHERE employee_id = $1 AND active "
        "ORDER BY updated_at DESC LIMIT 1",
        employee_id,
    )
    effective = None
    if rec is not None:
        who = await directory.person(conn, rec["participant_id"])
        assert who is not None
        p = await directory.effective_prefs(conn, who, settings)
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
        own=ParticipantPreferences.model_validate({k: own[k] for k in _OWN} if own else {}),
        effective=effective,
        updated_at=own["updated_at"] if own else None,
    )


@router.get("/me/preferences", response_model=PreferencesOut)
async def my_preferences(
    principal: Principal = Depends(require(Role.PARTICIPANT)), rt: Runtime = Depends(get_runtime)
) -> PreferencesOut:
    async with rt.pool.acquire() as conn:
        return await _preferences_of(conn, principal.subject, rt.settings)  # type: ignore[arg-type, unused-ignore]


@router.put("/me/preferences", response_model=PreferencesOut)
async def set_my_preferences(
    body: ParticipantPreferences,
    principal: Principal = Depends(require(Role.PARTICIPANT)),
    rt: Runtime = Depends(get_runtime),
) -> PreferencesOut:
    values = body.model_dump(mode="python")
    if values["chat_webhook_url"] is not None:
        values["chat_webhook_url"] = _allowed_webhook("chat_webhook_url", values["chat_webhook_url"], rt)
    async with rt.pool.acquire() as conn:
        await conn.execute(
            f"""INSERT INTO preferences (employee_id, {", ".join(_OWN)}, updated_at)
                VALUES ($1, {", ".join(f"${i + 2}" for i in range(len(_OWN)))}, now())
                ON CONFLICT (employee_id) DO UPDATE SET {", ".join(f"{k} = EXCLUDED.{k}" for k in _OWN)},
                    updated_at = now()""",
            principal.subject,
            *(values[k] for k in _OWN),
        )
        return await _preferences_of(conn, principal.subject, rt.settings)  # type: ignore[arg-type, unused-ignore]


@router.get("/preferences/{participant_id}", response_model=PreferencesOut)
async def participant_preferences(
    participant_id: str, principal: Principal = Depends(authenticate), rt: Runtime = Depends(get_runtime)
) -> PreferencesOut:
    """The page linked from every email: the participant themselves, or HR."""
    async with rt.pool.acquire() as conn:
        who = await directory.person(conn, participant_id)
        if who is None or who.employee_id is None:
            raise Problem(404, "Not found", f"no participant {participant_id}")
        if not (principal.has(*HR_ROLES) or principal.subject == who.employee_id):
            raise Problem(403, "Forbidden", "these are someone else's preferences")
        return await _preferences_of(conn, who.employee_id, rt.settings)  # type: ignore[arg-type, unused-ignore]


def _allowed_webhook(field: str, url: Any, rt: Runtime) -> str:
    """The URL as text, or a 422 naming the field when its host is not allowed (no SSRF)."""
    settings: NotificationsSettings = rt.settings  # type: ignore[assignment, unused-ignore]
    text = str(url)
    refusal = webhook_refusal(
        text,
        allowed_hosts=settings.chat_webhook_allowed_hosts,
        require_https=settings.chat_webhook_require_https,
    )
    if refusal is not None:
        raise Problem(422, "Invalid request", refusal, errors=[{"field": field, "message": refusal}])
    return text


async def _check_cohort_access(conn: Any, cohort_id: str, principal: Principal) -> None:
    if principal.is_global_hr:
        return
    regions = await conn.fetchval("SELECT regions FROM cohorts WHERE cohort_id = $1", cohort_id)
    if regions is None or not principal.can_see_any_region(list(regions)):
        raise Problem(403, "Forbidden", f"cohort {cohort_id} is outside your regions")


@router.get("/cohorts/{cohort_id}/notification-defaults", response_model=CohortDefaults)
async def cohort_defaults(
    cohort_id: str, principal: Principal = Depends(require(*HR_ROLES)), rt: Runtime = Depends(get_runtime)
) -> CohortDefaults:
    async with rt.pool.acquire() as conn:
        await _check_cohort_access(conn, cohort_id, principal)
        row = await directory.cohort_defaults(conn, cohort_id)
    return CohortDefaults.model_validate({k: row.get(k) for k in _COHORT})


@router.put("/cohorts/{cohort_id}/notification-defaults", response_model=CohortDefaults)
async def set_cohort_defaults(
    cohort_id: str,
    body: CohortDefaults,
    principal: Principal = Depends(require(*HR_ROLES)),
    rt: Runtime = Depends(get_runtime),
) -> CohortDefaults:
    values = body.model_dump(mode="python")
    if values["hr_chat_webhook_url"] is not None:
        values["hr_chat_webhook_url"] = _allowed_webhook(
            "hr_chat_webhook_url", values["hr_chat_webhook_url"], rt
        )
    async with rt.pool.acquire() as conn:
        await _check_cohort_access(conn, cohort_id, principal)
        await conn.execute(
            f"""INSERT INTO cohort_defaults (cohort_id, {", ".join(_COHORT)}, updated_at)
                VALUES ($1, {", ".join(f"${i + 2}" for i in range(len(_COHORT)))}, now())
                ON CONFLICT (cohort_id) DO UPDATE SET {", ".join(f"{k} = EXCLUDED.{k}" for k in _COHORT)},
                    updated_at = now()""",
            cohort_id,
            *(values[k] for k in _COHORT),
        )
    return body
