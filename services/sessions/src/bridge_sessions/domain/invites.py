"""Session rows -> calendar invites and session events."""

from __future__ import annotations

from typing import Any

from bridge_sessions.domain.ical import Attendee, InviteData, build_ics, build_invite
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.sessions import CalendarInvite


def invite_data(rel: Any, session: Any, settings: SessionsSettings) -> InviteData:
    mentor, mentee = rel["mentor_name"], rel["mentee_name"]
    desc = (
        f"Reverse-mentoring session between {mentor} (reverse mentor) and {mentee}.\n"
        "Keep it two-way: both of you teach, both of you learn."
    )
    return InviteData(
        uid=session["ical_uid"],
        sequence=session["ical_sequence"],
        starts_at=session["starts_at"],
        duration_minutes=session["duration_minutes"],
        summary=f"Reverse mentoring: {mentor} & {mentee}",
        description=desc,
        location=session["location"],
        organizer_email=settings.invite_organizer_email,
        attendees=(Attendee(mentor, rel["mentor_email"]), Attendee(mentee, rel["mentee_email"])),
        stamp=session["updated_at"],
        cancelled=session["status"] == "cancelled",
    )


def invite_for(rel: Any, session: Any, settings: SessionsSettings) -> CalendarInvite:
    return build_invite(invite_data(rel, session, settings))


def ics_for(rel: Any, session: Any, settings: SessionsSettings) -> str:
    return build_ics(invite_data(rel, session, settings))


def session_fields(rel: Any, session: Any) -> dict[str, Any]:
    return {
        "relationship_id": str(rel["id"]),
        "pair_id": rel["pair_id"],
        "cohort_id": rel["cohort_id"],
        "session_id": str(session["id"]),
        "mentor_id": rel["mentor_id"],
        "mentee_id": rel["mentee_id"],
        "mentor_timezone": rel["mentor_timezone"],
        "mentee_timezone": rel["mentee_timezone"],
    }
