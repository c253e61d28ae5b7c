"""Helpers for the circle workflow's tests (tests/matching/test_circles_*.py): a cohort of varied
people, the hard rules checked independently of the service, and the outbox read back (sealed fields
opened with the key vault, as a consumer would)."""

from __future__ import annotations

import uuid
from typing import Any

from bridge_shared.events.envelope import open_event_payload, parse_attributes
from bridge_shared.privacy.vault import VAULT
from tests.matching.api.support import cohort_body, person
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-circles")
DEPARTMENTS = ("Sales", "Finance", "Engineering", "Marketing")
NEW_YORK_WEEK = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]

# Juniors are levels 1-4, seniors 8 and above; 5-7 are in between (counted for neither minimum).
CIRCLE_POLICY = {
    "circle_min_size": 4,
    "circle_max_size": 6,
    "circle_min_juniors": 1,
    "circle_min_seniors": 1,
    "circle_junior_max_level": 4,
    "circle_senior_min_level": 8,
    "circle_min_common_minutes": 60,
}


def as_participant(emp: str) -> dict[str, str]:
    return auth("participant", sub=emp)


def circle_people(tag: str) -> list[dict[str, Any]]:
    """20 people: 7 juniors, 7 seniors (every senior facilitator-eligible), 5 in between, and one who
    speaks only Japanese (no circle can have them). J01 reports to S01 (the same management chain);
    J02 blocked S02. London and New York, four departments, two regions."""
    out = []
    for i in range(1, 8):
        for kind, level in (("J", 1 + i % 4), ("S", 8 + i % 5)):
            emp = f"{tag}{kind}{i:02d}"
            extra: dict[str, Any] = {}
            if kind == "S":
                extra["facilitator_eligible"] = True
            if (kind, i) == ("J", 1):
                extra["manager_employee_id"] = f"{tag}S01"
            if (kind, i) == ("J", 2):
                extra["blocked_partners"] = [f"{tag}S02"]
            if i % 3 == 0:
                extra["timezone"] = "America/New_York"
                extra["availability"] = NEW_YORK_WEEK
            out.append(
                person(
                    emp,
                    "either",
                    level,
                    region="EMEA" if i % 2 else "AMER",
                    dept=DEPARTMENTS[(i + (kind == "S")) % 4],
                    skills_to_share=["tiktok", "generative ai"]
                    if kind == "J"
                    else ["strategy", "negotiation"],
                    skills_to_learn=["strategy"] if kind == "J" else ["tiktok"],
                    **extra,
                )
            )
    for i in range(1, 6):
        out.append(person(f"{tag}O{i:02d}", "either", 6, dept=DEPARTMENTS[i % 4], region="EMEA"))
    out.append(person(f"{tag}X01", "either", 3, languages=["ja"]))
    return out


async def circle_cohort(
    svc: RunningService, people: list[dict[str, Any]], *, formats: list[str] | None = None, **policy: Any
) -> tuple[str, dict[str, str]]:
    """A cohort in matching with `people` enrolled: (cohort id, employee id -> participant id)."""
    c = svc.client
    body = cohort_body(formats=formats or ["circles"])
    body["policy"] = {**body["policy"], **CIRCLE_POLICY, **policy}
    r = await c.post("/cohorts", json=body, headers=HR)
    assert r.status_code == 201, r.text
    cid = str(r.json()["id"])
    assert (await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)).is_success
    ids = {}
    for p in people:
        r = await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)
        assert r.status_code == 201, r.text
        ids[p["employee_id"]] = str(r.json()["id"])
    assert (await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)).is_success
    return cid, ids


def tag() -> str:
    return uuid.uuid4().hex[:4].upper()


def check_circles(circles: list[dict[str, Any]], people: dict[str, dict[str, Any]]) -> None:
    """The hard rules, checked here from the profiles (not through the service's own checker): sizes,
    generations, one language, a slot long enough, chains, blocks, an eligible facilitator, each
    person in one circle. `people`: employee id -> the enrolled profile."""
    seen: set[str] = set()
    for c in circles:
        emps = [m["employee_id"] for m in c["members"]]
        assert not seen & set(emps), "someone is in two circles"
        seen |= set(emps)
        assert 4 <= len(emps) <= 6, c
        levels = [people[e]["seniority_level"] for e in emps]
        assert sum(1 for v in levels if v <= 4) >= 1 and sum(1 for v in levels if v >= 8) >= 1, c
        assert all(c["language"] in people[e]["languages"] for e in emps), c
        assert c["weekly_slot"] is not None and c["weekly_slot"]["duration_minutes"] >= 60, c
        for e in emps:
            boss = people[e].get("manager_employee_id")
            assert boss not in emps, f"{e} and their manager {boss} share a circle"
            assert not set(people[e].get("blocked_partners", [])) & set(emps), f"{e} blocked a member"
        facilitator = next(m for m in c["members"] if m["facilitator"])
        assert str(facilitator["participant_id"]) == str(c["facilitator_id"])
        assert c["facilitator_by_hr"] or people[facilitator["employee_id"]].get("facilitator_eligible"), c
        assert c["violations"] == [] and c["breakdown"]["total"] == c["score"] and c["explanation"]


async def outbox_mark(svc: RunningService) -> int:
    async with svc.runtime.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


async def outbox_events(
    svc: RunningService, event_type: str, since: int = 0
) -> list[tuple[bytes, dict[str, Any]]]:
    """The outbox's events of a type written after `since`: (the payload as stored, sealed; the payload
    opened as a consumer would, with the people's keys from the vault)."""
    out = []
    async with svc.runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT headers, payload FROM outbox WHERE event_type = $1 AND id > $2 ORDER BY id",
            event_type,
            since,
        )

        async def keys_for(subjects: set[str]) -> Any:
            return await VAULT.keys_for_opening(conn, subjects)

        for r in rows:
            raw = bytes(r["payload"])
            opened = await open_event_payload(parse_attributes(r["headers"]), raw, keys_for)
            out.append((raw, opened.model_dump(mode="json")))
    return out


def of_cohort(events: list[tuple[bytes, dict[str, Any]]], cid: str) -> list[dict[str, Any]]:
    return [p for _, p in events if p.get("cohort_id") == cid]
