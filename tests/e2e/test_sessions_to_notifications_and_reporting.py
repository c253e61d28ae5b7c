"""A pair's first session, end to end: sessions -> notifications (emails with the .ics, a reminder
24 h before) and sessions -> reporting (sessions held, two-way balance), across service processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bridge_devstack.demo import run_demo
from bridge_devstack.platform import Platform, SmtpSink
from tests.e2e.waiting import eventually
from tests.service_harness import auth

pytestmark = pytest.mark.e2e


async def test_scheduling_and_holding_a_session_reaches_notifications_and_reporting(
    platform: Platform, smtp_sink: SmtpSink, hr_token: str
) -> None:
    urls = {s: platform.url(s) for s in ("matching", "sessions", "notifications", "reporting")}
    out = await run_demo(urls, mail_url=smtp_sink.web_url, token=hr_token, say=lambda _: None)
    cohort_id = out["cohort"]["id"]
    hr = {"Authorization": f"Bearer {hr_token}"}
    async with httpx.AsyncClient(timeout=30) as c:
        people = (await c.get(f"{urls['matching']}/cohorts/{cohort_id}/participants", headers=hr)).json()
        employee = {p["id"]: p for p in people}
        rel = (
            await c.get(f"{urls['sessions']}/relationships", params={"cohort_id": cohort_id}, headers=hr)
        ).json()[0]
        mentor = employee[rel["mentor_id"]]
        mentee = employee[rel["mentee_id"]]
        as_mentor = auth("participant", sub=mentor["employee_id"])

        # The same demo people may have had invites in earlier tests: count only what this one sends.
        before = {m["id"] for m in (await c.get(f"{smtp_sink.web_url}/messages")).json()}
        starts = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
        r = await c.post(
            f"{urls['sessions']}/relationships/{rel['id']}/sessions",
            headers=as_mentor,
            json={"starts_at": starts.isoformat(), "duration_minutes": 45, "location": "Video call"},
        )
        assert r.status_code == 201, r.text
        session = r.json()

        async def invites() -> list[Any] | None:
            mails = (await c.get(f"{smtp_sink.web_url}/messages")).json()
            got = [
                m
                for m in mails
                if m["id"] not in before
                and m["to"] in {mentor["email"], mentee["email"]}
                and any(a["filename"].endswith(".ics") for a in m["attachments"])
            ]
            return got if len(got) == 2 else None

        mails = await eventually(invites, "both people to get the invite with the .ics attached")
        assert all(any(a["content_type"] == "text/calendar" for a in m["attachments"]) for m in mails)

        async def reminder() -> list[Any] | None:
            log = (
                await c.get(
                    f"{urls['notifications']}/deliveries",
                    params={"cohort_id": cohort_id, "status": "pending"},
                    headers=hr,
                )
            ).json()
            due = [d for d in log if "reminder" in d["kind"] and d["channel"] == "email"]
            return due if len(due) == 2 else None

        for d in await eventually(reminder, "a 24 h reminder for both people"):
            due_at = datetime.fromisoformat(d["due_at"].replace("Z", "+00:00"))
            # No quiet hours are set for these people, so the reminder is due exactly a day before.
            assert due_at == starts - timedelta(hours=24)

        # A session cannot be scheduled in the past, so the pair logs an earlier one that already
        # happened (no invite goes out for it), with topics taught in both directions.
        past = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        held = await c.post(
            f"{urls['sessions']}/relationships/{rel['id']}/sessions/log",
            headers=as_mentor,
            json={
                "starts_at": past.isoformat(),
                "actual_duration_minutes": 55,
                "topics": [
                    {"topic": "generative ai", "direction": "mentor_to_mentee"},
                    {"topic": "stakeholder management", "direction": "mentee_to_mentor"},
                ],
            },
        )
        assert held.status_code == 201, held.text

        async def reported() -> dict[str, Any] | None:
            r2 = await c.get(
                f"{urls['reporting']}/reports/overview", params={"cohort_id": cohort_id}, headers=hr
            )
            kpis: dict[str, Any] = r2.json()["kpis"] if r2.status_code == 200 else {}
            return kpis if kpis.get("sessions_held") == 1 else None

        kpis = await eventually(reported, "reporting to count the held session")
        assert kpis["balance_index"] == 1.0
        assert session["local"]["mentor"]
