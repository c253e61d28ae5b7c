"""Issue 16, item 2, across the four processes: HR changes a person's e-mail address and time zone in
matching mid-relationship; sessions applies it and re-issues the upcoming session's invite (same UID,
SEQUENCE 1, the new address as ATTENDEE); notifications sends the updated invite to the new address;
the sessions API shows the session in the new zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icalendar
import pytest

from bridge_devstack.demo import run_demo
from bridge_devstack.platform import Platform, SmtpSink
from tests.e2e.waiting import eventually
from tests.service_harness import auth

pytestmark = pytest.mark.e2e


async def test_an_email_and_zone_change_mid_relationship_reaches_the_next_invite(
    platform: Platform, smtp_sink: SmtpSink, hr_token: str
) -> None:
    urls = {s: platform.url(s) for s in ("matching", "sessions", "notifications", "reporting")}
    out = await run_demo(urls, mail_url=smtp_sink.web_url, token=hr_token, say=lambda _: None)
    cohort_id = out["cohort"]["id"]
    hr = {"Authorization": f"Bearer {hr_token}"}
    async with httpx.AsyncClient(timeout=30) as c:
        people = (await c.get(f"{urls['matching']}/cohorts/{cohort_id}/participants", headers=hr)).json()
        by_id = {p["id"]: p for p in people}
        rels = (
            await c.get(f"{urls['sessions']}/relationships", params={"cohort_id": cohort_id}, headers=hr)
        ).json()
        rel = rels[-1]
        mentor, mentee = by_id[rel["mentor_id"]], by_id[rel["mentee_id"]]
        as_mentor = auth("participant", sub=mentor["employee_id"])
        starts = (datetime.now(UTC) + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
        r = await c.post(
            f"{urls['sessions']}/relationships/{rel['id']}/sessions",
            headers=as_mentor,
            json={"starts_at": starts.isoformat(), "duration_minutes": 45},
        )
        assert r.status_code == 201, r.text
        session = r.json()
        uid = session["invite"]["uid"]

        new_email = f"moved-{uuid.uuid4().hex[:6]}@bridge.example"
        new_zone = "America/Los_Angeles" if mentee["timezone"] != "America/Los_Angeles" else "Asia/Tokyo"
        r = await c.patch(
            f"{urls['matching']}/cohorts/{cohort_id}/participants/{mentee['id']}",
            json={"email": new_email, "timezone": new_zone},
            headers=hr,
        )
        assert r.status_code == 200, r.text

        ics_url = f"{urls['sessions']}/relationships/{rel['id']}/sessions/{session['id']}/invite.ics"

        async def reissued() -> icalendar.Event | None:
            text = (await c.get(ics_url, headers=as_mentor)).text
            [ev] = icalendar.Calendar.from_ical(text).walk("VEVENT")
            # (An update of another demo person, still in flight, may re-issue it first: wait for ours.)
            return ev if f"mailto:{new_email}" in {str(a) for a in ev["ATTENDEE"]} else None

        ev = await eventually(reissued, "sessions to re-issue the invite to the new address")
        assert str(ev["UID"]) == uid and int(ev["SEQUENCE"]) >= 1 and ev["DTSTART"].dt == starts
        attendees = {str(a) for a in ev["ATTENDEE"]}
        assert f"mailto:{new_email}" in attendees and f"mailto:{mentee['email']}" not in attendees

        async def updated_invite() -> list[Any] | None:
            log = (
                await c.get(
                    f"{urls['notifications']}/deliveries",
                    params={"cohort_id": cohort_id, "kind": "session_invite_updated", "channel": "email"},
                    headers=hr,
                )
            ).json()
            return [d for d in log if d["to_address"] == new_email and d["status"] == "sent"] or None

        [delivery] = await eventually(updated_invite, "the updated invite to be sent to the new address")
        mails = (await c.get(f"{smtp_sink.web_url}/messages")).json()
        # (The first invite may also reach the new address, if it was still queued when the address
        # changed: e-mail goes to the address the directory holds at send time.)
        [mail] = [m for m in mails if m["to"] == new_email and m["subject"] == delivery["subject"]]
        assert any(a["content_type"] == "text/calendar" for a in mail["attachments"])
        assert mail["headers"].get("List-Unsubscribe", "").strip().startswith("<")

        shown = (
            await c.get(
                f"{urls['sessions']}/relationships/{rel['id']}/sessions/{session['id']}",
                headers=auth("participant", sub=mentee["employee_id"]),
            )
        ).json()
        assert shown["local"]["mentee"]["timezone"] == new_zone and shown["invite"]["sequence"] >= 1
