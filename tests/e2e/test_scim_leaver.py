"""Issue 19, across the four processes: the identity provider provisions two people over SCIM 2.0;
they are paired in a cohort and have a session planned; then the identity provider deactivates one
of them (a leaver). The relationship ends with "left the company", the partner is told in their own
language and offered a rematch, HR is told and sees it in reporting, and the leaver receives nothing
more: not the session's cancellation, not its reminder, not the closing survey."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bridge_devstack.demo import participant_headers
from bridge_devstack.platform import Platform, SmtpSink
from tests.e2e.conftest import SCIM_TOKEN
from tests.e2e.one_pair import ok, one_pair
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e

SCIM = "application/scim+json"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _person(emp: str, name: str, role: str, level: int, tz: str, locale: str, **kw: Any) -> dict[str, Any]:
    return {
        "employee_id": emp,
        "display_name": name,
        "email": f"{emp.lower()}@bridge.example",
        "role": role,
        "seniority_level": level,
        "department": kw.get("department", "Digital"),
        "region": "EMEA",
        "timezone": tz,
        "languages": ["en"],
        "locale": locale,
        "availability": [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)],
        "skills_to_share": kw["share"],
        "skills_to_learn": kw["learn"],
    }


def _scim_user(p: dict[str, Any]) -> dict[str, Any]:
    given, family = p["display_name"].split(" ", 1)
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": p["email"],
        "externalId": f"idp-{p['employee_id'].lower()}",
        "name": {"givenName": given, "familyName": family},
        "displayName": p["display_name"],
        "emails": [{"value": p["email"], "type": "work", "primary": True}],
        "active": True,
        "locale": p["locale"],
        "timezone": p["timezone"],
        ENTERPRISE: {"employeeNumber": p["employee_id"], "department": p["department"]},
    }


async def test_a_scim_deactivation_ends_the_pair_tells_the_partner_and_hr_and_nothing_reaches_the_leaver(
    platform: Platform, smtp_sink: SmtpSink, hr_token: str
) -> None:
    m, se, no, rp = (platform.url(s) for s in ("matching", "sessions", "notifications", "reporting"))
    tag = uuid.uuid4().hex[:6].upper()
    hr_mail = f"hr-{tag.lower()}@bridge.example"
    leaver = _person(
        f"SL{tag}",
        "Ines Moreau",
        "mentor",
        3,
        "Europe/Paris",
        "fr",
        share=["social media"],
        learn=["strategy"],
    )
    partner = _person(
        f"SP{tag}",
        "Jonas Becker",
        "mentee",
        11,
        "Europe/Berlin",
        "de",
        share=["strategy"],
        learn=["social media"],
        department="Finance",
    )
    scim = {"Authorization": f"Bearer {SCIM_TOKEN}", "Content-Type": SCIM, "Accept": SCIM}
    hr = {"Authorization": f"Bearer {hr_token}"}
    as_leaver, as_partner = (
        participant_headers(leaver["employee_id"]),
        participant_headers(partner["employee_id"]),
    )
    async with httpx.AsyncClient(timeout=30, headers=hr) as c:
        # The identity provider provisions both people into the company directory.
        scim_ids = {}
        for p in (leaver, partner):
            user = await ok(c.post(f"{m}/scim/v2/Users", json=_scim_user(p), headers=scim), 201)
            scim_ids[p["employee_id"]] = user["id"]
        [found] = (
            await ok(
                c.get(
                    f"{m}/scim/v2/Users",
                    params={"filter": f'userName eq "{leaver["email"]}"'},
                    headers=scim,
                )
            )
        )["Resources"]
        assert found["id"] == scim_ids[leaver["employee_id"]] and found["active"] is True

        # HR runs a cohort with them: one pair and a session in three days.
        pair = await one_pair(
            c,
            {"matching": m, "sessions": se},
            (leaver, partner),
            (as_leaver, as_partner),
            name=f"Leavers {tag}",
            regions=["EMEA"],
            hr_contact_email=hr_mail,
        )
        cid, rel = pair.cohort_id, pair.relationship
        base = f"{se}/relationships/{rel['id']}"
        starts = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
        await ok(
            c.post(
                f"{base}/sessions",
                json={"starts_at": starts.isoformat(), "duration_minutes": 45},
                headers=as_leaver,
            )
        )
        people = {p["id"]: p["employee_id"] for p in (await c.get(f"{m}/cohorts/{cid}/participants")).json()}
        by_employee = {e: i for i, e in people.items()}
        leaver_id, partner_id = by_employee[leaver["employee_id"]], by_employee[partner["employee_id"]]

        async def deliveries() -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = (
                await c.get(f"{no}/deliveries", params={"cohort_id": cid, "limit": 500})
            ).json()
            return rows

        async def scheduled_mailed() -> list[dict[str, Any]] | None:
            rows = [
                r
                for r in await deliveries()
                if r["kind"] == "session_scheduled" and r["channel"] == "email" and r["status"] == "sent"
            ]
            return rows if len(rows) == 2 else None

        await eventually(scheduled_mailed, "the session invite to reach both")
        before = {r["id"] for r in await deliveries()}

        # The identity provider deactivates the leaver (as Entra ID sends it).
        r = await c.patch(
            f"{m}/scim/v2/Users/{scim_ids[leaver['employee_id']]}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            },
            headers=scim,
        )
        assert r.status_code == 200, r.text
        assert r.json()["active"] is False

        # The relationship ends with the reason, in sessions; matching has withdrawn the leaver.
        async def closed() -> Any:
            got = (await c.get(base)).json()
            return got if got["status"] == "closed" else None

        closed_rel = await eventually(closed, "sessions to end the relationship")
        assert closed_rel["close_reason"] == "left the company", closed_rel
        withdrawn = (await c.get(f"{m}/cohorts/{cid}/participants/{leaver_id}")).json()
        assert withdrawn["status"] == "withdrawn"

        # The partner is told, in German, and HR is told; both e-mailed.
        async def told() -> dict[str, dict[str, Any]] | None:
            rows = [r for r in await deliveries() if r["channel"] == "email" and r["status"] == "sent"]
            got = {r["kind"]: r for r in rows if r["kind"] in ("partner_left", "hr_participant_left")}
            return got if len(got) == 2 else None

        told_rows = await eventually(told, "the partner and HR to be told")
        assert told_rows["partner_left"]["recipient_id"] == partner_id
        assert told_rows["partner_left"]["locale"] == "de"
        sink = (await c.get(f"{smtp_sink.web_url}/messages")).json()
        [to_partner] = [
            x
            for x in sink
            if x["to"] == partner["email"] and x["subject"] == told_rows["partner_left"]["subject"]
        ]
        assert "Ines Moreau" in to_partner["text"]
        assert [
            x
            for x in sink
            if x["to"] == hr_mail and x["subject"] == told_rows["hr_participant_left"]["subject"]
        ]
        # The session still to come is cancelled for the partner (METHOD:CANCEL), once.
        rows = await deliveries()
        cancelled = [r for r in rows if r["kind"] == "session_cancelled" and r["channel"] == "email"]
        assert [r["recipient_id"] for r in cancelled] == [partner_id], cancelled

        # Nothing new reaches the leaver. pair.closed (which the partner's message answers) comes after
        # the session's cancellation on the same partition, so by now everything the end caused has
        # been planned: none of it is for the leaver, and their planned reminder is withdrawn.
        after = [r for r in rows if r["id"] not in before]
        assert not [r for r in after if r["recipient_id"] == leaver_id], after
        reminders = [r for r in rows if r["kind"] == "session_reminder" and r["recipient_id"] == leaver_id]
        assert reminders and all(r["status"] != "pending" and r["status"] != "sent" for r in reminders)
        mails_to_leaver = [x for x in sink if x["to"] == leaver["email"]]
        assert {x["subject"] for x in mails_to_leaver} <= {
            r["subject"] for r in rows if r["recipient_id"] == leaver_id and r["id"] in before
        }

        # HR sees it in reporting: the pair ended because someone left the company.
        async def reported() -> Any:
            summary = (await c.get(f"{rp}/cohorts/{cid}/summary")).json()
            return summary if summary["kpis"].get("pairs_left_company") == 1 else None

        await eventually(reported, "reporting to count the pair ended by a leaver")
