"""One-click unsubscribe (RFC 8058): the link in every participant e-mail turns e-mail off for them.

No login: the signed token in the link says who (``domain/unsubscribe.py``). Unsubscribing removes
"email" from the person's own channels (what was in effect, cohort default included, minus e-mail),
so notifications keep arriving in the in-app inbox, which is kept or added. Doing it twice changes
nothing more. The person can turn e-mail back on in their preferences.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import asyncpg

from bridge_notifications.app.recipients import effective_prefs
from bridge_notifications.db import directory, preferences
from bridge_notifications.domain.recipients import OwnPrefs, Person
from bridge_notifications.domain.unsubscribe import read_token
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.db.connection import Conn, connection, transaction
from bridge_shared.errors import Problem


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    locale: str
    channels: tuple[str, ...]  # in effect afterwards
    changed: bool  # False: e-mail was already off


async def _person(conn: Conn, settings: NotificationsSettings, token: str) -> Person:
    key = settings.unsubscribe_key()
    participant_id = read_token(key, token) if key is not None else None
    who = await directory.person(conn, participant_id) if participant_id is not None else None
    if who is None or who.employee_id is None:  # forged, or the person was erased since
        raise Problem(404, "Unknown unsubscribe link", "This link is not valid (any more).")
    return who


async def locale_of(pool: asyncpg.Pool, settings: NotificationsSettings, token: str) -> str:
    """The link's owner's language (for the confirmation page); 404 for a link that is not valid."""
    async with connection(pool) as conn:
        who = await _person(conn, settings, token)
        return (await effective_prefs(conn, who, settings)).locale


async def unsubscribe(pool: asyncpg.Pool, settings: NotificationsSettings, token: str) -> Unsubscribed:
    async with transaction(pool) as conn:
        who = await _person(conn, settings, token)
        assert who.employee_id is not None
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('unsubscribe:' || $1))", who.employee_id)
        now = await effective_prefs(conn, who, settings)
        if "email" not in now.channels:
            return Unsubscribed(now.locale, now.channels, changed=False)
        channels = tuple(sorted({c for c in now.channels if c != "email"} | {"inbox"}))
        own = await preferences.own(conn, who.employee_id) or OwnPrefs()
        await preferences.save_own(conn, who.employee_id, dataclasses.replace(own, channels=channels))
        return Unsubscribed(now.locale, channels, changed=True)
