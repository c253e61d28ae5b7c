"""Session notes: shared notes both participants see (HR does not), and each participant's private
note that nobody else (not the other participant, not HR) can read."""

from __future__ import annotations

from uuid import UUID

from bridge_sessions.app.access import participant_access
from bridge_sessions.app.sessions import SessionView, find, view_of
from bridge_sessions.db import notes as notes_db
from bridge_sessions.db import sessions as sessions_db
from bridge_sessions.settings import SessionsSettings
from bridge_shared.auth.principal import Principal
from bridge_shared.db.connection import transaction
from bridge_shared.runtime import Runtime


async def put_private(
    rt: Runtime[SessionsSettings], relationship_id: UUID, session_id: UUID, principal: Principal, body: str
) -> SessionView:
    async with transaction(rt.pool) as conn:
        acc, _ = await participant_access(conn, relationship_id, principal, open_only=False)
        s = await find(conn, acc, session_id)
        await notes_db.put(conn, session_id, principal.subject, body, rt.clock.now())
    return SessionView(acc.rel, s, True, body, acc.hidden)


async def put_shared(
    rt: Runtime[SessionsSettings], relationship_id: UUID, session_id: UUID, principal: Principal, body: str
) -> SessionView:
    async with transaction(rt.pool) as conn:
        acc, _ = await participant_access(conn, relationship_id, principal, open_only=False)
        await find(conn, acc, session_id, lock=True)
        s = await sessions_db.set_shared_notes(conn, session_id, body, principal.subject)
        return await view_of(conn, acc, s)
