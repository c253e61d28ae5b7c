"""Walks through the services' APIs that give browser tests real ids: a pair with an agreement in force,
a scheduled and a logged session (one_pair_walk), and a mentoring circle formed and published through
matching's API (published_circle, then formed_circle once its members have accepted)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bridge_devstack.demo import participant_headers
from tests.e2e.one_pair import PROGRAMME, ok, one_pair
from tests.e2e.waiting import eventually

WEEK = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]


def person(emp: str, name: str, role: str, level: int, tz: str, **kw: Any) -> dict[str, Any]:
    """An enrolment body: available all week, English, in EMEA."""
    return {
        "employee_id": emp,
        "display_name": name,
        "email": f"{emp.lower()}@bridge.example",
        "role": role,
        "seniority_level": level,
        "department": kw.get("department", "Digital"),
        "region": kw.get("region", "EMEA"),
        "timezone": tz,
        "languages": ["en"],
        "locale": kw.get("locale", "en"),
        "availability": WEEK,
        "skills_to_share": kw["share"],
        "skills_to_learn": kw["learn"],
        **({"facilitator_eligible": True} if kw.get("facilitator") else {}),
    }


@dataclass
class PairWalk:
    cohort_id: str
    proposal_id: str
    pair_id: str
    relationship_id: str
    mentor: dict[str, Any]
    mentee: dict[str, Any]
    mentor_id: str  # participant ids
    mentee_id: str
    scheduled_session_id: str
    held_session_id: str


async def one_pair_walk(c: httpx.AsyncClient, m: str, se: str, tag: str) -> PairWalk:
    """HR's cohort of two, matched, published and accepted; the mentee drafts the agreement and the
    mentor confirms it; the mentor schedules a session and the mentee logs yesterday's as held."""
    mentor = person(
        f"EM{tag}", "Ines Duarte", "mentor", 3, "Europe/Lisbon", share=["data science"], learn=["sales"]
    )
    mentee = person(
        f"EL{tag}", "Otto Brandt", "mentee", 11, "Europe/Berlin", share=["sales"], learn=["data science"]
    )
    pair = await one_pair(
        c,
        {"matching": m, "sessions": se},
        (mentor, mentee),
        (participant_headers(mentor["employee_id"]), participant_headers(mentee["employee_id"])),
        name=f"Links {tag}",
        regions=["EMEA"],
        hr_contact_email=f"hr-links-{tag.lower()}@bridge.example",
    )
    rel = pair.relationship
    rid = rel["id"]
    as_mentor, as_mentee = (participant_headers(p["employee_id"]) for p in (mentor, mentee))
    today = datetime.now(UTC).date()
    plan = {"learning_goals": ["one goal"], "success_metrics": ["one measure"], "offers": None}
    agreement = {
        "mentor": plan,
        "mentee": plan,
        "cadence_days": 14,
        "meeting_mode": "video",
        "meeting_place": None,
        "rules_of_engagement": [],
        "start_date": (today - timedelta(days=30)).isoformat(),
        "end_date": (today + timedelta(days=30)).isoformat(),
    }
    drafted = await ok(c.post(f"{se}/relationships/{rid}/agreement", json=agreement, headers=as_mentee))
    version = drafted.get("version") or (drafted.get("pending") or {}).get("version") or 1
    await ok(c.post(f"{se}/relationships/{rid}/agreement/versions/{version}/confirm", headers=as_mentor))
    starts = (datetime.now(UTC) + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
    scheduled = await ok(
        c.post(
            f"{se}/relationships/{rid}/sessions",
            json={"starts_at": starts.isoformat(), "duration_minutes": 45},
            headers=as_mentor,
        ),
        201,
    )
    held = await ok(
        c.post(
            f"{se}/relationships/{rid}/sessions/log",
            json={
                "starts_at": (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat(),
                "actual_duration_minutes": 50,
                "topics": [
                    {"topic": "pandas", "direction": "mentor_to_mentee"},
                    {"topic": "pricing", "direction": "mentee_to_mentor"},
                ],
            },
            headers=as_mentee,
        ),
        201,
    )
    proposal = pair.proposal
    return PairWalk(
        cohort_id=pair.cohort_id,
        proposal_id=proposal["id"],
        pair_id=str(rel["pair_id"]),
        relationship_id=rid,
        mentor=mentor,
        mentee=mentee,
        mentor_id=str(proposal["mentor_id"]),
        mentee_id=str(proposal["mentee_id"]),
        scheduled_session_id=scheduled["id"],
        held_session_id=held["id"],
    )


CIRCLE_POLICY = {
    "circle_min_size": 4,
    "circle_max_size": 6,
    "circle_min_juniors": 2,
    "circle_min_seniors": 2,
    "circle_junior_max_level": 4,
    "circle_senior_min_level": 8,
    "circle_min_common_minutes": 60,
}


@dataclass
class CircleWalk:
    cohort_id: str
    circle_id: str
    people: list[dict[str, Any]]  # enrolment bodies; people[2] is the facilitator
    ids: dict[str, str] = field(default_factory=dict)  # employee id -> participant id
    session_id: str = ""  # a group session, once one is scheduled

    @property
    def facilitator(self) -> dict[str, Any]:
        return self.people[2]

    def pid(self, who: dict[str, Any]) -> str:
        return self.ids[who["employee_id"]]


async def published_circle(c: httpx.AsyncClient, m: str, tag: str) -> CircleWalk:
    """HR's circles cohort of four (two juniors, two seniors, one facilitator-eligible), one circle
    formed by matching's circle run and published: every member is invited (circle_proposed)."""
    people = [
        person(f"WJ1{tag}", "Aiko Tanaka", "either", 2, "Asia/Tokyo", share=["tiktok"], learn=["strategy"]),
        person(
            f"WJ2{tag}",
            "Lucas Martin",
            "either",
            3,
            "Europe/Paris",
            share=["generative ai"],
            learn=["finance"],
        ),
        person(
            f"WS1{tag}",
            "Margarethe Keller",
            "either",
            11,
            "Europe/Berlin",
            share=["strategy", "finance"],
            learn=["tiktok"],
            department="Finance",
            facilitator=True,
        ),
        person(
            f"WS2{tag}",
            "Carmen Ruiz",
            "either",
            9,
            "Europe/Madrid",
            share=["negotiation"],
            learn=["generative ai"],
            department="Sales",
        ),
    ]
    body = {
        "name": f"Web circles {tag}",
        "regions": ["EMEA", "APAC"],
        "hr_contact_email": f"hr-circles-{tag.lower()}@bridge.example",
        "formats": ["circles"],
        **PROGRAMME,
        "policy": CIRCLE_POLICY,
    }
    cid = (await ok(c.post(f"{m}/cohorts", json=body)))["id"]
    await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "enrolling"}))
    ids = {
        p["employee_id"]: (await ok(c.post(f"{m}/cohorts/{cid}/participants", json=p)))["id"] for p in people
    }
    await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "matching"}))
    run = await ok(c.post(f"{m}/cohorts/{cid}/circle-runs"), 201)
    [draft] = run["circles"]
    assert str(draft["facilitator_id"]) == ids[people[2]["employee_id"]], draft
    await ok(c.post(f"{m}/circle-runs/{run['id']}/publish"))
    [proposed] = await ok(c.get(f"{m}/cohorts/{cid}/circles"))
    assert proposed["status"] == "proposed", proposed
    return CircleWalk(cid, proposed["id"], people, {k: str(v) for k, v in ids.items()})


async def sessions_circle(c: httpx.AsyncClient, se: str, walk: CircleWalk) -> dict[str, Any]:
    """sessions' circle, once it has opened it (after the last member accepted)."""

    async def opened() -> Any:
        got = (await c.get(f"{se}/circles", params={"cohort_id": walk.cohort_id})).json()
        return got[0] if got else None

    found: dict[str, Any] = await eventually(opened, "sessions to open the circle")
    assert found["id"] == walk.circle_id, found
    return found


async def formed_circle(c: httpx.AsyncClient, m: str, se: str, tag: str) -> CircleWalk:
    """A published circle that every member accepted through matching's API, open in sessions."""
    walk = await published_circle(c, m, tag)
    for p in walk.people:
        await ok(
            c.post(f"{m}/circles/{walk.circle_id}/accept", headers=participant_headers(p["employee_id"]))
        )
    await sessions_circle(c, se, walk)
    return walk
