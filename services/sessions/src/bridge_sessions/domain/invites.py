"""A session row -> its calendar invite (pure)."""

from __future__ import annotations

from bridge_sessions.domain.ical import Attendee, InviteData, build_ics, build_invite
from bridge_sessions.domain.rows import RelationshipRow, SessionRow
from bridge_shared.contracts.sessions import CalendarInviteV2


def invite_data(rel: RelationshipRow, session: SessionRow, organizer_email: str) -> InviteData:
    mentor, mentee = rel.mentor_name, rel.mentee_name
    desc = (
        f"Reverse-mentoring session between {mentor} (reverse mentor) and {mentee}.\n"
        "Keep it two-way: both of you teach, both of you learn."
    )
    return InviteData(
        uid=session.ical_uid,
        sequence=session.ical_sequence,
        starts_at=session.starts_at,
        duration_minutes=session.duration_minutes,
        summary=f"Reverse mentoring: {mentor} & {mentee}",
        description=desc,
        location=session.location,
        organizer_email=organizer_email,
        attendees=(Attendee(mentor, rel.mentor_email), Attendee(mentee, rel.mentee_email)),
        stamp=session.updated_at,
        cancelled=session.status == "cancelled",
    )


def invite_for(rel: RelationshipRow, session: SessionRow, organizer_email: str) -> CalendarInviteV2:
    return build_invite(invite_data(rel, session, organizer_email))


def ics_for(rel: RelationshipRow, session: SessionRow, organizer_email: str) -> str:
    return build_ics(invite_data(rel, session, organizer_email))
