"""RFC 5545 / RFC 5546 (iTIP) calendar objects for sessions, built with `icalendar`.

One UID per session for its whole life; every change (reschedule, cancel) raises SEQUENCE so
calendar clients replace the earlier copy. Cancelling sends METHOD:CANCEL with STATUS:CANCELLED.
DTSTAMP is the time of the last change, so the same state always renders the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

from bridge_shared.contracts.sessions import CalendarInviteV2

PRODID = "-//Bridge//Reverse mentoring sessions//EN"


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str | None


@dataclass(frozen=True)
class InviteData:
    uid: str
    sequence: int
    starts_at: datetime  # UTC
    duration_minutes: int
    summary: str
    description: str
    location: str | None
    organizer_email: str
    attendees: tuple[Attendee, ...]
    stamp: datetime
    cancelled: bool = False


def session_uid(session_id: str, domain: str) -> str:
    return f"session-{session_id}@{domain}"


def circle_session_uid(session_id: str, domain: str) -> str:
    """A circle's group session: one invite to every member, one UID for its life."""
    return f"circle-session-{session_id}@{domain}"


def build_ics(data: InviteData) -> str:
    method: Literal["REQUEST", "CANCEL"] = "CANCEL" if data.cancelled else "REQUEST"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    ev = Event()
    ev.add("uid", data.uid)
    ev.add("sequence", data.sequence)
    ev.add("dtstamp", data.stamp)
    ev.add("dtstart", data.starts_at)
    ev.add("dtend", data.starts_at + timedelta(minutes=data.duration_minutes))
    ev.add("summary", data.summary)
    ev.add("description", data.description)
    if data.location:
        ev.add("location", data.location)
    ev.add("status", "CANCELLED" if data.cancelled else "CONFIRMED")
    ev.add("transp", "OPAQUE")
    organizer = vCalAddress(f"mailto:{data.organizer_email}")
    organizer.params["cn"] = vText("Bridge")
    ev.add("organizer", organizer)
    for person in data.attendees:
        if not person.email:
            continue
        who = vCalAddress(f"mailto:{person.email}")
        who.params["cn"] = vText(person.name)
        who.params["role"] = vText("REQ-PARTICIPANT")
        who.params["partstat"] = vText("NEEDS-ACTION")
        who.params["rsvp"] = vText("TRUE")
        ev.add("attendee", who, encode=False)
    cal.add_component(ev)
    ics: bytes = cal.to_ical()
    return ics.decode("utf-8")


def build_invite(data: InviteData) -> CalendarInviteV2:
    return CalendarInviteV2(
        uid=data.uid,
        sequence=data.sequence,
        method="CANCEL" if data.cancelled else "REQUEST",
        ics=build_ics(data),
    )
