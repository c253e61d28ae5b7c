"""Issue 15, across the four processes: HR forms a mixed-generation circle in a cohort that runs
circles; every member accepts; sessions opens the circle; the facilitator schedules a group session
with an activity and every member receives the one calendar invite in their own language; a group
session is held with the activity's ideas and learning both ways between the generations; reporting
shows the attendance and the cross-generation exchange."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icalendar
import pytest

from bridge_devstack.demo import participant_headers
from bridge_devstack.platform import Platform, SmtpSink
from tests.e2e.one_pair import PROGRAMME, ok
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

WEEK = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]


def _member(emp: str, name: str, level: int, tz: str, locale: str, **kw: Any) -> dict[str, Any]:
    return {
        "employee_id": emp,
        "display_name": name,
        "email": f"{emp.lower()}@bridge.example",
        "role": "either",
        "seniority_level": level,
        "department": kw.get("department", "Digital"),
        "region": kw.get("region", "EMEA"),
        "timezone": tz,
        "languages": ["en"],
        "locale": locale,
        "availability": WEEK,
        "skills_to_share": kw["share"],
        "skills_to_learn": kw["learn"],
        "facilitator_eligible": kw.get("facilitator", False),
    }


async def test_a_circle_forms_meets_with_an_activity_and_reporting_shows_attendance_and_exchange(
    platform: Platform, smtp_sink: SmtpSink, hr_token: str
) -> None:
    m, se, no, rp = (platform.url(s) for s in ("matching", "sessions", "notifications", "reporting"))
    tag = uuid.uuid4().hex[:6].upper()
    people = [
        _member(f"CJ1{tag}", "Aiko Tanaka", 2, "Asia/Tokyo", "ja", share=["tiktok"], learn=["strategy"]),
        _member(
            f"CJ2{tag}", "Lucas Martin", 3, "Europe/Paris", "fr", share=["generative ai"], learn=["finance"]
        ),
        _member(
            f"CS1{tag}",
            "Margarethe Keller",
            11,
            "Europe/Berlin",
            "de",
            share=["strategy", "finance"],
            learn=["tiktok"],
            department="Finance",
            facilitator=True,
        ),
        _member(
            f"CS2{tag}",
            "Carmen Ruiz",
            9,
            "Europe/Madrid",
            "es",
            share=["negotiation"],
            learn=["generative ai"],
            department="Sales",
        ),
    ]
    by_emp = {p["employee_id"]: p for p in people}
    hr = {"Authorization": f"Bearer {hr_token}"}
    async with httpx.AsyncClient(timeout=60, headers=hr) as c:
        cohort = await ok(
            c.post(
                f"{m}/cohorts",
                json={
                    "name": f"Circles {tag}",
                    "regions": ["EMEA", "APAC"],
                    "hr_contact_email": f"hr-{tag.lower()}@bridge.example",
                    "formats": ["circles"],
                    **PROGRAMME,
                    "policy": {
                        "circle_min_size": 4,
                        "circle_max_size": 6,
                        "circle_min_juniors": 2,
                        "circle_min_seniors": 2,
                        "circle_junior_max_level": 4,
                        "circle_senior_min_level": 8,
                        "circle_min_common_minutes": 60,
                    },
                },
            )
        )
        cid = cohort["id"]
        await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "enrolling"}))
        ids = {}
        for p in people:
            ids[p["employee_id"]] = (await ok(c.post(f"{m}/cohorts/{cid}/participants", json=p)))["id"]
        emp_of = {v: k for k, v in ids.items()}
        await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "matching"}))

        # Matching forms one circle of the four: two juniors, two seniors, the eligible facilitator.
        run = await ok(c.post(f"{m}/cohorts/{cid}/circle-runs"), 201)
        [draft] = run["circles"]
        assert {str(x["participant_id"]) for x in draft["members"]} == set(ids.values()), draft
        assert str(draft["facilitator_id"]) == ids[f"CS1{tag}"] and draft["language"] == "en"
        assert draft["violations"] == [] and draft["explanation"]
        await ok(c.post(f"{m}/circle-runs/{run['id']}/publish"))
        [proposed] = await ok(c.get(f"{m}/cohorts/{cid}/circles"))
        assert proposed["status"] == "proposed"
        circle_id = proposed["id"]
        for emp in ids:
            await ok(c.post(f"{m}/circles/{circle_id}/accept", headers=participant_headers(emp)))
        formed = await ok(c.get(f"{m}/circles/{circle_id}"))
        assert formed["status"] == "formed"

        # sessions opens it; the facilitator schedules a group session with an activity.
        async def opened() -> Any:
            got = (await c.get(f"{se}/circles", params={"cohort_id": cid})).json()
            return got[0] if got else None

        circle = await eventually(opened, "sessions to open the circle")
        base = f"{se}/circles/{circle['id']}"
        as_facilitator = participant_headers(f"CS1{tag}")
        activities = await ok(c.get(f"{se}/activities", params={"locale": "de"}, headers=as_facilitator))
        assert len(activities) >= 5 and all(a["title"] for a in activities)
        starts = (datetime.now(UTC) + timedelta(days=4)).replace(hour=8, minute=0, second=0, microsecond=0)
        session = await ok(
            c.post(
                f"{base}/sessions",
                json={
                    "starts_at": starts.isoformat(),
                    "duration_minutes": 75,
                    "activity_id": "promote-everyday-product",
                },
                headers=as_facilitator,
            ),
            201,
        )

        # One invite reaches every member, in their own language, with the calendar file attached.
        async def invited() -> list[dict[str, Any]] | None:
            rows = (
                await c.get(
                    f"{no}/deliveries",
                    params={"cohort_id": cid, "kind": "circle_session_scheduled", "channel": "email"},
                )
            ).json()
            sent = [r for r in rows if r["status"] == "sent"]
            return sent if {r["recipient_id"] for r in sent} == set(ids.values()) else None

        sent = await eventually(invited, "the group session's invite to reach every member")
        assert len(sent) == len(people), "one invite each"
        mails = (await c.get(f"{smtp_sink.web_url}/messages")).json()
        for row in sent:
            who = by_emp[emp_of[row["recipient_id"]]]
            assert row["locale"] == who["locale"], row
            [mail] = [x for x in mails if x["to"] == who["email"] and x["subject"] == row["subject"]]
            assert [a for a in mail["attachments"] if a["content_type"] == "text/calendar"], mail
        # The one invite names every member as an attendee.
        text = (await c.get(f"{base}/sessions/{session['id']}/invite.ics", headers=as_facilitator)).text
        [event] = icalendar.Calendar.from_ical(text).walk("VEVENT")
        attendees = {str(a).lower() for a in event["ATTENDEE"]}
        assert attendees == {f"mailto:{p['email']}" for p in people}, attendees
        assert str(event["UID"]) == session["invite"]["uid"]

        # A group session held last week: three of four came; ideas from both generations; learning
        # both ways (juniors taught TikTok and AI, seniors taught strategy and finance).
        j1, j2, s1 = (ids[f"{k}{tag}"] for k in ("CJ1", "CJ2", "CS1"))  # CS2 stays away
        held = (datetime.now(UTC) - timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
        logged = await ok(
            c.post(
                f"{base}/sessions/log",
                json={
                    "starts_at": held.isoformat(),
                    "duration_minutes": 75,
                    "activity_id": "promote-everyday-product",
                    "attended_ids": [j1, j2, s1],
                    "ideas": [
                        {"participant_id": j1, "text": "A targeted TikTok ad for the product"},
                        {"participant_id": j2, "text": "An AI-driven campaign that adapts to the weather"},
                        {"participant_id": s1, "text": "A stand in the neighbourhood market"},
                    ],
                    "learning": [
                        {"from_id": j1, "to_id": s1, "topic": "short-form video"},
                        {"from_id": j2, "to_id": s1, "topic": "prompting"},
                        {"from_id": s1, "to_id": j1, "topic": "pricing strategy"},
                        {"from_id": s1, "to_id": j2, "topic": "reading a P&L"},
                    ],
                },
                headers=as_facilitator,
            ),
            201,
        )
        assert logged["status"] == "held"

        # Reporting: one circle, attendance 3 of 4, learning half each way, exchange index 1.
        async def reported() -> Any:
            summary = (await c.get(f"{rp}/cohorts/{cid}/summary")).json()
            k = summary["kpis"]
            return k if k.get("circle_sessions_held") == 1 else None

        k = await eventually(reported, "reporting to count the held group session")
        assert k["circles_formed"] == 1 and k["circles_active"] == 1
        assert k["circle_attendance_rate"] == pytest.approx(0.75)
        assert k["learning_junior_to_senior"] == 2 and k["learning_senior_to_junior"] == 2
        assert k["learning_share_junior_to_senior"] == pytest.approx(0.5)
        assert k["cross_generation_exchange_index"] == pytest.approx(1.0)
