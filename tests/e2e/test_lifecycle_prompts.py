"""Issue 16, Done when: one pair walked from proposal to its end across the four service processes
(real PostgreSQL, real Kafka, the real SMTP sink): every prompt of the walk arrives exactly once, to
the right people, in each recipient's language and with times in their own time zone.

The reverse mentor reads Japanese in Tokyo, the senior leader German in Berlin. The walk: HR runs and
publishes matching (match_proposed to both) -> both accept (pair_formed) -> the leader drafts the
agreement (agreement_to_confirm to the mentor only) -> the mentor confirms (the reminder is withdrawn)
-> the mentor schedules a session (session_scheduled to both, with the .ics) -> the leader logs an
earlier session (pulse_request to both; the health check after it opens the mid-point survey and
sees the end coming: midpoint_survey and ending_soon to both) -> the mentor ends the relationship early (the session still to
come is cancelled: session_cancelled to both; closing_survey to both; hr_pair_closed_early to HR) ->
matching frees the pair.

The second walk runs to completion: a pair in French and Spanish, in Montreal and Madrid, confirms an
agreement ending in three days, logs a session (pulse, mid-point survey, ending soon), and the health
job, run as the scheduler runs it on the day after the end date, completes the relationship: the
closing survey goes to both, HR gets no early-end alert, matching frees the pair as completed and
reporting counts it completed."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from bridge_devstack.demo import participant_headers
from bridge_devstack.platform import Platform, SmtpSink
from bridge_notifications.domain.rendering import formatters
from bridge_sessions.app.health import JOB_NAME, TickResult, health_tick
from bridge_sessions.settings import SessionsSettings
from bridge_shared.db.pool import create_pool
from bridge_shared.events.schema_routes import schema_base_url
from bridge_shared.outbox.writer import Outbox
from bridge_shared.scheduling.clock import Clock, FrozenClock
from bridge_shared.scheduling.singleton import run_once
from tests.e2e.one_pair import ok, one_pair
from tests.e2e.waiting import eventually

pytestmark = pytest.mark.e2e


def _person(
    emp: str, name: str, role: str, level: int, region: str, tz: str, locale: str, **kw: Any
) -> dict[str, Any]:
    return {
        "employee_id": emp,
        "display_name": name,
        "email": f"{emp.lower()}@bridge.example",
        "role": role,
        "seniority_level": level,
        "department": kw.get("department", "Digital"),
        "region": region,
        "timezone": tz,
        "languages": ["en"],
        "locale": locale,
        "availability": [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)],
        "skills_to_share": kw["share"],
        "skills_to_learn": kw["learn"],
    }


async def _people(c: httpx.AsyncClient, matching: str, cid: str) -> dict[str, str]:
    """Participant id -> employee id, for the cohort."""
    rows = (await c.get(f"{matching}/cohorts/{cid}/participants")).json()
    return {p["id"]: p["employee_id"] for p in rows}


async def _each_prompt_once(
    c: httpx.AsyncClient,
    notifications: str,
    cid: str,
    people: dict[str, str],
    want: set[tuple[str, str]],
) -> list[dict[str, Any]]:
    """Waits until every (kind, employee id or "hr") in `want` was e-mailed, then checks that each
    went exactly once and that nothing else was e-mailed for the cohort."""

    async def delivered() -> list[dict[str, Any]] | None:
        rows = (await c.get(f"{notifications}/deliveries", params={"cohort_id": cid, "limit": 500})).json()
        mail = [r for r in rows if r["channel"] == "email" and r["status"] == "sent"]
        got = {(r["kind"], people.get(r["recipient_id"], "hr")) for r in mail}
        return mail if want <= got else None

    mail = await eventually(delivered, "every prompt of the walk to be e-mailed")
    counts = Counter((r["kind"], people.get(r["recipient_id"], "hr")) for r in mail)
    assert {k: n for k, n in counts.items() if k in want and n != 1} == {}, counts
    assert set(counts) == want, f"unexpected: {set(counts) - want}"
    return mail


async def test_one_pair_from_proposal_to_its_end_gets_every_prompt_once_in_its_language_and_zone(
    platform: Platform, smtp_sink: SmtpSink, hr_token: str
) -> None:
    m, se, no = (platform.url(s) for s in ("matching", "sessions", "notifications"))
    tag = uuid.uuid4().hex[:6].upper()
    hr_mail = f"hr-{tag.lower()}@bridge.example"
    mentor = _person(
        f"LM{tag}",
        "Yuki Sato",
        "mentor",
        3,
        "APAC",
        "Asia/Tokyo",
        "ja",
        share=["generative ai"],
        learn=["strategy"],
    )
    leader = _person(
        f"LL{tag}",
        "Margarethe Keller",
        "mentee",
        11,
        "EMEA",
        "Europe/Berlin",
        "de",
        share=["strategy"],
        learn=["generative ai"],
        department="Finance",
    )
    hr = {"Authorization": f"Bearer {hr_token}"}
    as_mentor, as_leader = (
        participant_headers(mentor["employee_id"]),
        participant_headers(leader["employee_id"]),
    )
    async with httpx.AsyncClient(timeout=30, headers=hr) as c:
        pair = await one_pair(
            c,
            {"matching": m, "sessions": se},
            (mentor, leader),
            (as_mentor, as_leader),
            name=f"Lifecycle {tag}",
            regions=["EMEA", "APAC"],
            hr_contact_email=hr_mail,
        )
        cid, proposal, rel = pair.cohort_id, pair.proposal, pair.relationship
        base = f"{se}/relationships/{rel['id']}"
        today = datetime.now(UTC).date()
        agreement = {
            "mentor": {"learning_goals": ["Board strategy"], "success_metrics": ["Pitch to the board"]},
            "mentee": {"learning_goals": ["Generative AI"], "success_metrics": ["One AI workflow"]},
            "cadence_days": 90,
            "meeting_mode": "video",
            # Started 60 days ago, ends in 10: past its midpoint and within ending_soon's 14 days,
            # so the health check run after the logged session announces both.
            "start_date": (today - timedelta(days=60)).isoformat(),
            "end_date": (today + timedelta(days=10)).isoformat(),
        }
        draft = await ok(c.post(f"{base}/agreement", json=agreement, headers=as_leader))
        await ok(c.post(f"{base}/agreement/versions/{draft['version']}/confirm", headers=as_mentor))
        starts = (datetime.now(UTC) + timedelta(days=3)).replace(hour=7, minute=0, second=0, microsecond=0)
        await ok(
            c.post(
                f"{base}/sessions",
                json={"starts_at": starts.isoformat(), "duration_minutes": 45},
                headers=as_mentor,
            )
        )
        earlier = (datetime.now(UTC) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        await ok(
            c.post(
                f"{base}/sessions/log",
                json={
                    "starts_at": earlier.isoformat(),
                    "actual_duration_minutes": 50,
                    "topics": [
                        {"topic": "prompting", "direction": "mentor_to_mentee"},
                        {"topic": "board politics", "direction": "mentee_to_mentor"},
                    ],
                },
                headers=as_leader,
            )
        )
        await ok(c.post(f"{base}/close", json={"reason": "new role abroad"}, headers=as_mentor))

        # Every prompt of the walk, once per recipient and channel, sent (e-mail) -- nothing else.
        want = {
            ("match_proposed", mentor["employee_id"]),
            ("match_proposed", leader["employee_id"]),
            ("pair_formed", mentor["employee_id"]),
            ("pair_formed", leader["employee_id"]),
            ("agreement_to_confirm", mentor["employee_id"]),
            ("session_scheduled", mentor["employee_id"]),
            ("session_scheduled", leader["employee_id"]),
            ("pulse_request", mentor["employee_id"]),
            ("pulse_request", leader["employee_id"]),
            ("midpoint_survey", mentor["employee_id"]),
            ("midpoint_survey", leader["employee_id"]),
            ("ending_soon", mentor["employee_id"]),
            ("ending_soon", leader["employee_id"]),
            # Closing early cancels the session still to come: METHOD:CANCEL to both.
            ("session_cancelled", mentor["employee_id"]),
            ("session_cancelled", leader["employee_id"]),
            ("closing_survey", mentor["employee_id"]),
            ("closing_survey", leader["employee_id"]),
            ("hr_pair_closed_early", "hr"),
        }
        people = await _people(c, m, cid)
        mail = await _each_prompt_once(c, no, cid, people, want)
        assert not [
            r
            for r in mail
            if r["kind"] == "agreement_to_confirm" and r["recipient_id"] != proposal["mentor_id"]
        ]
        rows = (await c.get(f"{no}/deliveries", params={"cohort_id": cid, "limit": 500})).json()
        reminders = [r for r in rows if r["kind"] == "agreement_reminder"]
        assert reminders and {r["status"] for r in reminders} == {"cancelled"}, (
            "confirmed: reminder withdrawn"
        )
        assert {r["kind"] for r in rows if r["status"] == "pending"} <= {"session_reminder"}

        # In the recipient's language and zone, as the SMTP sink received them (each once).
        sink = (await c.get(f"{smtp_sink.web_url}/messages")).json()
        by_kind = {r["kind"]: r for r in mail if people.get(r["recipient_id"]) == mentor["employee_id"]}
        by_kind_leader = {
            r["kind"]: r for r in mail if people.get(r["recipient_id"]) == leader["employee_id"]
        }
        for kind in (
            "match_proposed",
            "pair_formed",
            "session_scheduled",
            "pulse_request",
            "midpoint_survey",
            "ending_soon",
            "closing_survey",
        ):
            for row, who in ((by_kind[kind], mentor), (by_kind_leader[kind], leader)):
                assert row["locale"] == who["locale"]
                received = [x for x in sink if x["to"] == who["email"] and x["subject"] == row["subject"]]
                assert len(received) == 1, (kind, who["locale"], row["subject"])
        assert any("\u3000" <= ch <= "\u9fff" for ch in by_kind["pair_formed"]["subject"]), "Japanese"
        scheduled_ja = next(
            x
            for x in sink
            if x["to"] == mentor["email"] and x["subject"] == by_kind["session_scheduled"]["subject"]
        )
        scheduled_de = next(
            x
            for x in sink
            if x["to"] == leader["email"] and x["subject"] == by_kind_leader["session_scheduled"]["subject"]
        )
        assert formatters("ja", "Asia/Tokyo")["dt"](starts) in scheduled_ja["text"]
        assert formatters("de", "Europe/Berlin")["dt"](starts) in scheduled_de["text"]
        assert any(a["filename"].endswith(".ics") for a in scheduled_ja["attachments"])
        [hr_alert] = [x for x in sink if x["to"] == hr_mail]
        assert "Yuki Sato" in hr_alert["subject"] and "new role abroad" in hr_alert["text"]

        # The end of the relationship freed the pair in matching.
        async def ended() -> Any:
            pairs = (await c.get(f"{m}/cohorts/{cid}/pairs", params={"status": "all"})).json()
            return pairs if pairs and pairs[0]["status"] == "ended" else None

        [pair] = await eventually(ended, "matching to end the pair")
        assert pair["ended_outcome"] == "ended_early"


async def _health_job_on(platform: Platform, relationship_id: str, day: date) -> TickResult | None:
    """The sessions health job as the scheduler runs it (`run_once`, the job's lock, the service's
    own settings, outbox and database role), on `day` at noon UTC, for this one relationship: the
    passing of the agreement's term without waiting for it. What it writes, the running sessions
    process publishes (its outbox relay), and the other processes consume."""
    settings = SessionsSettings(
        environment="development",
        database_url=platform.dsns["sessions"],
        kafka_bootstrap_servers=platform.bootstrap_servers,
    )
    outbox = Outbox(
        schema=settings.db_schema,
        source=f"/bridge/{settings.service_name}",
        max_event_bytes=settings.outbox_max_event_bytes,
        schema_base_url=schema_base_url(settings),
    )
    only = UUID(relationship_id)

    async def job(conn: Any, clock: Clock) -> TickResult:
        return await health_tick(conn, clock, settings, outbox, only=only)

    pool = await create_pool(settings.database_url, schema=settings.db_schema, max_size=1)
    try:
        ran, result = await run_once(pool, JOB_NAME, job, FrozenClock(datetime.combine(day, time(12), UTC)))
    finally:
        await pool.close()
    assert ran, "the health job's lock was free"
    return result


async def test_one_pair_from_proposal_to_completion_gets_every_prompt_once_in_its_language_and_zone(
    platform: Platform, smtp_sink: SmtpSink, hr_token: str
) -> None:
    m, se, no, rp = (platform.url(s) for s in ("matching", "sessions", "notifications", "reporting"))
    tag = uuid.uuid4().hex[:6].upper()
    hr_mail = f"hr-{tag.lower()}@bridge.example"
    mentor = _person(
        f"CM{tag}",
        "Zoé Tremblay",
        "mentor",
        2,
        "AMER",
        "America/Montreal",
        "fr",
        share=["social media"],
        learn=["negotiation"],
    )
    leader = _person(
        f"CL{tag}",
        "Álvaro Núñez",
        "mentee",
        12,
        "EMEA",
        "Europe/Madrid",
        "es",
        share=["negotiation"],
        learn=["social media"],
        department="Sales",
    )
    hr = {"Authorization": f"Bearer {hr_token}"}
    as_mentor, as_leader = (
        participant_headers(mentor["employee_id"]),
        participant_headers(leader["employee_id"]),
    )
    async with httpx.AsyncClient(timeout=30, headers=hr) as c:
        pair = await one_pair(
            c,
            {"matching": m, "sessions": se},
            (mentor, leader),
            (as_mentor, as_leader),
            name=f"Completion {tag}",
            regions=["AMER", "EMEA"],
            hr_contact_email=hr_mail,
        )
        cid, rel = pair.cohort_id, pair.relationship
        base = f"{se}/relationships/{rel['id']}"
        today = datetime.now(UTC).date()
        end = today + timedelta(days=3)  # after today in Montreal and in Madrid
        agreement = {
            "mentor": {"learning_goals": ["Negotiation"], "success_metrics": ["Lead one negotiation"]},
            "mentee": {"learning_goals": ["Social media"], "success_metrics": ["A post a week"]},
            "cadence_days": 30,
            "meeting_mode": "video",
            "start_date": (today - timedelta(days=60)).isoformat(),
            "end_date": end.isoformat(),
        }
        draft = await ok(c.post(f"{base}/agreement", json=agreement, headers=as_mentor))
        await ok(c.post(f"{base}/agreement/versions/{draft['version']}/confirm", headers=as_leader))
        held = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        await ok(
            c.post(
                f"{base}/sessions/log",
                json={
                    "starts_at": held.isoformat(),
                    "actual_duration_minutes": 60,
                    "topics": [
                        {"topic": "short video", "direction": "mentor_to_mentee"},
                        {"topic": "pricing talks", "direction": "mentee_to_mentor"},
                    ],
                },
                headers=as_mentor,
            )
        )
        people = await _people(c, m, cid)
        ids = {e: pid for pid, e in people.items()}
        before_end = {
            ("match_proposed", mentor["employee_id"]),
            ("match_proposed", leader["employee_id"]),
            ("pair_formed", mentor["employee_id"]),
            ("pair_formed", leader["employee_id"]),
            ("agreement_to_confirm", leader["employee_id"]),
            ("pulse_request", mentor["employee_id"]),
            ("pulse_request", leader["employee_id"]),
            ("midpoint_survey", mentor["employee_id"]),
            ("midpoint_survey", leader["employee_id"]),
            ("ending_soon", mentor["employee_id"]),
            ("ending_soon", leader["employee_id"]),
        }
        await _each_prompt_once(c, no, cid, people, before_end)
        status = (await c.get(base, headers=as_mentor)).json()["status"]
        assert status == "active", status

        # The day after the end date: the health job completes the relationship.
        ticked = await _health_job_on(platform, rel["id"], end + timedelta(days=1))
        assert ticked is not None and ticked.closed == [rel["id"]], ticked
        want = before_end | {
            ("closing_survey", mentor["employee_id"]),
            ("closing_survey", leader["employee_id"]),
        }
        mail = await _each_prompt_once(c, no, cid, people, want)
        # HR hears of early ends only: the pair.closed that planned the closing surveys planned every
        # notification of it in the same transaction, so an HR alert would be here now.
        rows = (await c.get(f"{no}/deliveries", params={"cohort_id": cid, "limit": 500})).json()
        assert not [r for r in rows if r["kind"].startswith("hr_")], rows
        assert not [r for r in rows if r["status"] == "pending"], "nothing left to send"

        # Each in the recipient's language, as the sink received it, once; dates in their zone.
        sink = (await c.get(f"{smtp_sink.web_url}/messages")).json()
        for who in (mentor, leader):
            mine = {r["kind"]: r for r in mail if r["recipient_id"] == ids[who["employee_id"]]}
            for kind in ("pair_formed", "pulse_request", "midpoint_survey", "ending_soon", "closing_survey"):
                assert mine[kind]["locale"] == who["locale"], (kind, who["locale"])
                received = [
                    x for x in sink if x["to"] == who["email"] and x["subject"] == mine[kind]["subject"]
                ]
                assert len(received) == 1, (kind, who["locale"], mine[kind]["subject"])
            ending = next(
                x for x in sink if x["to"] == who["email"] and x["subject"] == mine["ending_soon"]["subject"]
            )
            assert formatters(who["locale"], who["timezone"])["day"](end) in ending["text"], who["locale"]

        # The end of the relationship frees the pair in matching, as completed; reporting counts it.
        async def ended() -> Any:
            pairs = (await c.get(f"{m}/cohorts/{cid}/pairs", params={"status": "all"})).json()
            return pairs if pairs and pairs[0]["status"] == "ended" else None

        [freed] = await eventually(ended, "matching to end the pair")
        assert freed["ended_outcome"] == "completed"

        async def counted() -> Any:
            kpis = (await c.get(f"{rp}/reports/overview", params={"cohort_id": cid})).json()["kpis"]
            return kpis if kpis["pairs_completed"] == 1 else None

        kpis = await eventually(counted, "reporting to count the completed pair")
        assert kpis["pairs_ended_early"] == 0 and kpis["pairs_active"] == 0, kpis
        closed = (await c.get(base, headers=as_leader)).json()
        assert (closed["status"], closed["outcome"]) == ("closed", "completed"), closed
