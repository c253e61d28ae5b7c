"""The signed-in participant's language and time zone, as the services know them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from bridge_web.app.backend import Backend, BackendProblem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProfilePreferences:
    locale: str | None
    timezone: str | None


async def profile_preferences(backend: Backend) -> ProfilePreferences | None:
    """The participant's effective locale and time zone (notifications' GET /me/preferences: their
    own choice, else their profile's, else their cohort's). None when the services know nothing of
    them yet or cannot say; a 401 (the services refuse the token) raises SignInRequired."""
    try:
        body = await backend.get("notifications", "/me/preferences")
    except (BackendProblem, httpx.HTTPError) as exc:
        log.info("no profile preferences for the signed-in participant: %s", exc)
        return None
    if not isinstance(body, dict):
        return None
    # What applies to them (known once they are in a cohort), else what they chose themselves.
    for part in (body.get("effective"), body.get("own")):
        if isinstance(part, dict):
            locale, timezone = part.get("locale"), part.get("timezone")
            if isinstance(locale, str) or isinstance(timezone, str):
                return ProfilePreferences(
                    locale if isinstance(locale, str) else None,
                    timezone if isinstance(timezone, str) else None,
                )
    return None
