"""One truth about a person: matching's participant.updated (v1 history, v2 sealed) brings a changed
profile (name, e-mail, time zone, region) to every relationship the person is in, in the consumer's
transaction.

When an attendee (name or e-mail address) or a time zone changed, each of the relationship's sessions
still to come gets its invite re-issued: same UID, SEQUENCE + 1, same time, new attendees, published as
`session.invite_updated` so the calendars that hold it update (notifications sends it). A closed
relationship is updated for display but sends nothing. An update carrying an erased person's
placeholders (a replay after an erasure) is ignored.
"""

from __future__ import annotations

import logging
from typing import Literal

from bridge_sessions.db import Conn
from bridge_sessions.db import relationships as relationships_db
from bridge_sessions.db import sessions as sessions_db
from bridge_sessions.domain.invites import invite_for
from bridge_sessions.domain.refs import session_fields, subject
from bridge_sessions.domain.rows import RelationshipRow, Side
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.matching import ParticipantRef, ParticipantUpdatedV1
from bridge_shared.contracts.sessions import SessionInviteUpdatedV1
from bridge_shared.privacy.erased import is_erased_email
from bridge_shared.runtime import Runtime

log = logging.getLogger(__name__)
Change = Literal["attendee", "timezone"]


def changes(rel: RelationshipRow, side: Side, profile: ParticipantRef) -> list[Change]:
    """What of the invite's content changed for this side (region alone changes no invite)."""
    name = rel.mentor_name if side == "mentor" else rel.mentee_name
    email = rel.mentor_email if side == "mentor" else rel.mentee_email
    out: list[Change] = []
    if (name, email) != (profile.display_name, str(profile.email)):
        out.append("attendee")
    if rel.timezone_of(side) != profile.timezone:
        out.append("timezone")
    return out


async def apply_profile(rt: Runtime[SessionsSettings], conn: Conn, p: ParticipantUpdatedV1) -> None:
    profile = p.profile
    if is_erased_email(profile.email):
        log.info("participant.updated for erased participant %s: ignored", p.participant_id)
        return
    now = rt.clock.now()
    for rel in await relationships_db.for_participant(conn, p.participant_id):
        side: Side = "mentor" if rel.mentor_id == p.participant_id else "mentee"
        changed = changes(rel, side, profile)
        if not changed and rel.region_of(side) == profile.region:
            continue
        rel = await relationships_db.update_side(
            conn,
            rel.id,
            side,
            name=profile.display_name,
            email=str(profile.email),
            timezone=profile.timezone,
            region=profile.region,
        )
        if not changed or rel.status == "closed":
            continue
        for s in await sessions_db.reissue_upcoming(conn, rel.id, now):
            await rt.outbox.add(
                conn,
                SessionInviteUpdatedV1(
                    **session_fields(rel, s),
                    starts_at=s.starts_at,
                    duration_minutes=s.duration_minutes,
                    location=s.location,
                    invite=invite_for(rel, s, rt.settings.invite_organizer_email),
                    changed=changed,
                ),
                subject=subject(rel),
            )
