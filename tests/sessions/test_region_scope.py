"""The one region-scoping rule (docs/access.md) in sessions: a relationship between people of two
regions is visible to HR of either region (the other person redacted), to no third region."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bridge_shared.contracts.matching import MatchExplanation, PairFormedV1, ParticipantRef
from tests.service_harness import RunningService, auth
from tests.sessions.conftest import START, person, publish

pytestmark = pytest.mark.integration

EMEA_HR = auth("hr_regional", sub="hr-emea", regions=("emea",))
APAC_HR = auth("hr_regional", sub="hr-apac", regions=("apac",))
AMER_HR = auth("hr_regional", sub="hr-amer", regions=("amer",))
SERVICE = auth("service", sub="reporting")


def _formed(tag: str, mentor: ParticipantRef, mentee: ParticipantRef) -> PairFormedV1:
    return PairFormedV1(
        pair_id=f"pair-{tag}",
        cohort_id=f"cohort-{tag}",
        mentor=mentor,
        mentee=mentee,
        explanation=MatchExplanation(score=0.8, breakdown={"skills": 0.8}, summary="good fit"),
        formed_at=START,
        hr_contact_email="hr@bridge.example",
    )


async def _cross_region_pair(svc: RunningService) -> tuple[str, str, str]:
    """An EMEA mentor (Berlin) with an APAC mentee (Tokyo): (relationship id, mentor e-mail, mentee e-mail)."""
    tag = uuid.uuid4().hex[:8].upper()
    mentor = person(f"M{tag}", tz="Europe/Berlin", region="emea", seniority=2)
    mentee = person(f"L{tag}", tz="Asia/Tokyo", region="apac", seniority=9)
    await publish(svc, _formed(tag, mentor, mentee))
    me = auth("participant", sub=mentor.employee_id)
    async with asyncio.timeout(20):
        while True:
            rels = [
                x
                for x in (await svc.client.get("/relationships", headers=me)).json()
                if x["pair_id"] == f"pair-{tag}"
            ]
            if rels:
                break
            await asyncio.sleep(0.1)
    rid = rels[0]["id"]
    r = await svc.client.post(
        f"/relationships/{rid}/sessions", headers=me, json={"starts_at": "2027-03-01T09:00:00Z"}
    )
    assert r.status_code == 201, r.text
    return rid, str(mentor.email), str(mentee.email)


async def test_cross_region_relationship_is_visible_to_both_regions_hr_not_a_third(
    svc: RunningService,
) -> None:
    rid, mentor_email, mentee_email = await _cross_region_pair(svc)
    base = f"/relationships/{rid}"

    async def listed(headers: dict[str, str]) -> bool:
        return rid in {x["id"] for x in (await svc.client.get("/relationships", headers=headers)).json()}

    for hr in (EMEA_HR, APAC_HR, SERVICE):
        assert (await svc.client.get(base, headers=hr)).status_code == 200
        assert await listed(hr)
    assert (await svc.client.get(base, headers=AMER_HR)).status_code == 404
    assert not await listed(AMER_HR)
    assert (await svc.client.post(f"{base}/close", headers=AMER_HR, json={"reason": "x"})).status_code == 404

    # EMEA HR sees the APAC mentee by id, name and region only: no time zone, no e-mail.
    seen = (await svc.client.get(base, headers=EMEA_HR)).json()
    assert seen["mentor_timezone"] == "Europe/Berlin" and seen["mentee_timezone"] is None
    assert (seen["mentor_region"], seen["mentee_region"]) == ("emea", "apac")
    assert seen["mentee_name"] and seen["mentee_id"]
    [session] = (await svc.client.get(f"{base}/sessions", headers=EMEA_HR)).json()
    assert set(session["local"]) == {"mentor"}
    ics = (await svc.client.get(f"{base}/sessions/{session['id']}/invite.ics", headers=EMEA_HR)).text
    assert mentor_email in ics and mentee_email not in ics
    # ... and APAC HR the other way round.
    seen = (await svc.client.get(base, headers=APAC_HR)).json()
    assert seen["mentor_timezone"] is None and seen["mentee_timezone"] == "Asia/Tokyo"
    ics = (await svc.client.get(f"{base}/sessions/{session['id']}/invite.ics", headers=APAC_HR)).text
    assert mentee_email in ics and mentor_email not in ics
    # Global readers see both.
    seen = (await svc.client.get(base, headers=SERVICE)).json()
    assert seen["mentor_timezone"] and seen["mentee_timezone"]


async def test_service_token_cannot_write_and_hr_cannot_act_as_a_participant(svc: RunningService) -> None:
    rid, _, _ = await _cross_region_pair(svc)
    base = f"/relationships/{rid}"
    for method, path, body in [
        ("POST", f"{base}/close", {"reason": "because"}),
        ("POST", f"{base}/goals", {"title": "x"}),
        ("POST", f"{base}/sessions", {"starts_at": "2025-03-05T09:00:00Z"}),
    ]:
        r = await svc.client.request(method, path, json=body, headers=SERVICE)
        assert r.status_code == 403, (path, r.text)
    # Role before record: a participant-only action is 403 for HR, in scope or not.
    for hr in (EMEA_HR, AMER_HR):
        r = await svc.client.post(f"{base}/goals", headers=hr, json={"title": "x"})
        assert r.status_code == 403, r.text


async def test_a_region_unknown_from_before_is_filled_in_by_a_repeated_pair_formed(
    svc: RunningService,
) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    mentor = person(f"M{tag}", tz="Europe/Berlin", region="emea", seniority=2)
    mentee = person(f"L{tag}", tz="Asia/Tokyo", region="apac", seniority=9)
    await publish(svc, _formed(tag, mentor, mentee))
    me = auth("participant", sub=mentor.employee_id)
    async with asyncio.timeout(20):
        while not (
            rels := [
                x
                for x in (await svc.client.get("/relationships", headers=me)).json()
                if x["pair_id"] == f"pair-{tag}"
            ]
        ):
            await asyncio.sleep(0.1)
    rid = rels[0]["id"]
    # As a relationship stored before migration 0003 in a mixed cohort: the mentor's region unknown.
    async with svc.runtime.pool.acquire() as conn:
        await conn.execute("UPDATE relationships SET mentor_region = NULL WHERE pair_id = $1", f"pair-{tag}")
    assert (await svc.client.get(f"/relationships/{rid}", headers=EMEA_HR)).status_code == 404
    assert (await svc.client.get(f"/relationships/{rid}", headers=APAC_HR)).status_code == 200
    await publish(svc, _formed(tag, mentor, mentee))  # matching publishes it again (a new event id)
    async with asyncio.timeout(20):
        while (await svc.client.get(f"/relationships/{rid}", headers=EMEA_HR)).status_code != 200:
            await asyncio.sleep(0.1)
    listed = [
        x
        for x in (await svc.client.get("/relationships", headers=me)).json()
        if x["pair_id"] == f"pair-{tag}"
    ]
    assert len(listed) == 1 and listed[0]["mentor_region"] == "emea"
