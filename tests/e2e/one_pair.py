"""The e2e tests' way to a pair of their own: HR creates a cohort, enrols two people, runs matching,
publishes the one pair, both accept, and sessions opens the relationship."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.waiting import eventually

PROGRAMME = {
    "enrolment_opens": "2027-01-04",
    "enrolment_closes": "2027-01-22",
    "matching_date": "2027-01-25",
    "programme_start": "2027-02-01",
    "programme_end": "2027-07-30",
}


async def ok(r: Awaitable[httpx.Response], status: int | tuple[int, ...] = (200, 201)) -> Any:
    """The JSON body of a response that must have one of these statuses."""
    response = await r
    allowed = (status,) if isinstance(status, int) else status
    assert response.status_code in allowed, response.text
    return response.json()


@dataclass(frozen=True)
class OnePair:
    cohort_id: str
    proposal: dict[str, Any]
    relationship: dict[str, Any]


async def one_pair(
    c: httpx.AsyncClient,
    urls: Mapping[str, str],
    people: tuple[dict[str, Any], dict[str, Any]],
    accepting: tuple[Mapping[str, str], Mapping[str, str]],
    *,
    name: str,
    regions: list[str],
    hr_contact_email: str,
) -> OnePair:
    """`c` carries HR's token; `accepting` are the two people's headers, in `people`'s order."""
    m, se = urls["matching"], urls["sessions"]
    body = {"name": name, "regions": regions, "hr_contact_email": hr_contact_email, **PROGRAMME}
    cid = (await ok(c.post(f"{m}/cohorts", json=body)))["id"]
    await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "enrolling"}))
    for p in people:
        await ok(c.post(f"{m}/cohorts/{cid}/participants", json=p))
    await ok(c.post(f"{m}/cohorts/{cid}/phase", json={"to_phase": "matching"}))
    run = await ok(c.post(f"{m}/cohorts/{cid}/matching-runs", params={"wait": "true"}), (201, 202))
    async with asyncio.timeout(120):
        while run["status"] in ("queued", "running"):
            await asyncio.sleep(0.25)
            run = await ok(c.get(f"{m}/matching-runs/{run['id']}"))
    assert run["status"] == "draft" and len(run["pairs"]) == 1, run
    await ok(c.post(f"{m}/matching-runs/{run['id']}/publish"))
    [proposal] = await ok(c.get(f"{m}/cohorts/{cid}/proposals"))
    for who in accepting:
        await ok(c.post(f"{m}/proposals/{proposal['id']}/accept", headers=dict(who)))

    async def relationship() -> Any:
        rels = (await c.get(f"{se}/relationships", params={"cohort_id": cid})).json()
        return rels[0] if rels else None

    rel = await eventually(relationship, "sessions to open the relationship")
    return OnePair(cid, proposal, rel)
