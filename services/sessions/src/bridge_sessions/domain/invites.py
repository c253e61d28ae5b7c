"""A session row -> its calendar invite (pure): a pair's session invites both people, a circle's
group session invites every member with one calendar object (`ical.py` builds both)."""

from __future__ import annotations

from collections.abc import Collection

from bridge_sessions.domain import activities
from bridge_sessions.domain.circle_rows import CircleRow, CircleSessionRow
from bridge_sessions.domain.ical import Attendee, InviteData, build_ics, build_invite
from bridge_sessions.domain.rows import RelationshipRow, SessionRow
from bridge_shared.contracts.circles import CircleInvite
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


def circle_invite_data(
    circle: CircleRow,
    session: CircleSessionRow,
    organizer_email: str,
    *,
    hidden: Collection[str] = (),
) -> InviteData:
    """One invite naming every current member as ATTENDEE (the facilitator first). The activity, if
    one is picked, is described in the circle's language. `hidden`: members whose e-mail address is
    left out (outside a regional HR caller's scope; they stay named in the description)."""
    members = sorted(
        circle.active_members, key=lambda m: (m.participant_id != circle.facilitator_id, m.position)
    )
    facilitator = circle.member(circle.facilitator_id)
    lines = [
        "Mentoring circle session: every generation teaches, every generation learns.",
        "Members: " + ", ".join(m.display_name for m in members) + ".",
    ]
    if facilitator is not None:
        lines.append(f"Facilitator: {facilitator.display_name}.")
    summary = "Mentoring circle"
    activity = activities.get(session.activity_id)
    if activity is not None:
        _, text = activity.text(circle.language)
        summary = f"Mentoring circle: {text.title}"
        lines += ["", f"{text.title}: {text.summary}", *(f"- {p}" for p in text.prompts)]
    return InviteData(
        uid=session.ical_uid,
        sequence=session.ical_sequence,
        starts_at=session.starts_at,
        duration_minutes=session.duration_minutes,
        summary=summary,
        description="\n".join(lines),
        location=session.location,
        organizer_email=organizer_email,
        attendees=tuple(
            Attendee(m.display_name, None if m.participant_id in hidden else m.email) for m in members
        ),
        stamp=session.updated_at,
        cancelled=session.status == "cancelled",
    )


def circle_invite_for(circle: CircleRow, session: CircleSessionRow, organizer_email: str) -> CircleInvite:
    data = circle_invite_data(circle, session, organizer_email)
    return CircleInvite(
        uid=data.uid,
        sequence=data.sequence,
        method="CANCEL" if data.cancelled else "REQUEST",
        ics=build_ics(data),
    )


def circle_ics_for(
    circle: CircleRow, session: CircleSessionRow, organizer_email: str, *, hidden: Collection[str] = ()
) -> str:
    return build_ics(circle_invite_data(circle, session, organizer_email, hidden=hidden))
