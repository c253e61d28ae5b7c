"""Issue 15: what happens to published circles when people leave them, against real PostgreSQL: a
decline is refilled by the free participant who fits; a withdrawal frees a place in a proposed circle
and ends a membership of a formed one (it goes on smaller, or is dissolved below its minimum);
unanswered invitations expire; an erasure leaves no name of the person in circle texts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge_matching import jobs
from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.contracts.circles import CircleDissolvedV1, CircleFormedV1, CircleRefilledV1
from bridge_shared.scheduling.clock import FrozenClock
from tests.matching.circles_support import (
    CIRCLE_POLICY,
    HR,
    as_participant,
    check_circles,
    circle_cohort,
    circle_people,
    outbox_events,
    outbox_mark,
    tag,
)
from tests.service_harness import RunningService, auth, running_service

START = datetime(2027, 1, 25, 9, 0, tzinfo=UTC)
TTL_HOURS = 48
MIN_SIZE = CIRCLE_POLICY["circle_min_size"]


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="module")
async def svc(admin_dsn: str, bootstrap_servers: str, clock: FrozenClock) -> AsyncIterator[RunningService]:
    async with running_service(
        lambda s: create_app(s, clock=clock),
        MatchingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        proposal_ttl_hours=TTL_HOURS,
        expiry_interval_seconds=0,  # the expiry tick runs only when a test calls it
        outbox_idle_poll_seconds=0.5,
    ) as running:
        yield running


def live(circle: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in circle["members"] if m["status"] in ("invited", "accepted")]


async def published(svc: RunningService, t: str) -> tuple[str, dict[str, str], list[dict[str, Any]], str]:
    """A cohort whose draft had one 'in between' member removed (so someone free fits most places),
    published: (cohort id, employee id -> participant id, its circles, the removed person)."""
    c = svc.client
    cid, ids = await circle_cohort(svc, circle_people(t))
    r = await c.post(f"/cohorts/{cid}/circle-runs", headers=HR)
    assert r.status_code == 201, r.text
    run = r.json()
    circle, out = next((x, m) for x in run["circles"] for m in x["members"] if m["generation"] == "other")
    path = f"/circle-runs/{run['id']}/circles/{circle['id']}/members/{out['participant_id']}?force=true"
    assert (await c.delete(path, headers=HR)).status_code == 200
    r = await c.post(f"/circle-runs/{run['id']}/publish", headers=HR)
    assert r.status_code == 200, r.text
    circles = (await c.get(f"/cohorts/{cid}/circles", headers=HR)).json()
    return cid, ids, circles, out["employee_id"]


async def test_a_decline_is_refilled_by_the_free_person_who_fits(svc: RunningService) -> None:
    c = svc.client
    t = tag()
    people = {p["employee_id"]: p for p in circle_people(t)}
    cid, ids, circles, removed = await published(svc, t)
    # An 'in between' member (never a facilitator here) declines: the removed 'in between' person,
    # free and fitting every rule of that circle, is invited in their place.
    circle, decliner = next(
        (x, m) for x in circles for m in x["members"] if m["generation"] == "other" and not m["facilitator"]
    )
    clock_now = START
    mark = await outbox_mark(svc)
    r = await c.post(f"/circles/{circle['id']}/decline", headers=as_participant(decliner["employee_id"]))
    assert r.status_code == 200, r.text
    after = r.json()
    [(_, refill)] = await outbox_events(svc, CircleRefilledV1.event_type, mark)
    assert refill["left_participant_id"] == decliner["participant_id"]
    added = refill["added"]
    assert added is not None and added["employee_id"] not in (f"{t}X01", decliner["employee_id"])
    assert added["display_name"] == people[added["employee_id"]]["display_name"]  # opened with the vault
    newcomer = next(m for m in after["members"] if m["employee_id"] == added["employee_id"])
    assert newcomer["status"] == "invited" and newcomer["origin"] == "refill"
    assert sorted(refill["member_ids"]) == sorted(m["participant_id"] for m in live(after))
    assert refill["facilitator_id"] == after["facilitator_id"] == circle["facilitator_id"]
    assert refill["expires_at"].startswith((clock_now + timedelta(hours=TTL_HOURS)).date().isoformat())
    check_circles([{**after, "members": live(after)}], people)
    # The newcomer answers like everyone else; once all have accepted, the circle is formed.
    mark = await outbox_mark(svc)
    for m in live(after):
        r = await c.post(f"/circles/{circle['id']}/accept", headers=as_participant(m["employee_id"]))
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "formed"
    [(_, formed)] = await outbox_events(svc, CircleFormedV1.event_type, mark)
    assert added["participant_id"] in formed["member_ids"]
    assert decliner["participant_id"] not in formed["member_ids"]
    del ids, removed, cid


async def test_a_withdrawal_frees_a_place_and_a_formed_circle_is_never_refilled(svc: RunningService) -> None:
    c = svc.client
    t = tag()
    people = {p["employee_id"]: p for p in circle_people(t)}
    cid, ids, circles, _ = await published(svc, t)
    first, second = circles[0], circles[1]
    for m in first["members"]:
        assert (
            await c.post(f"/circles/{first['id']}/accept", headers=as_participant(m["employee_id"]))
        ).is_success
    assert (await c.get(f"/circles/{first['id']}", headers=HR)).json()["status"] == "formed"

    # A member of the formed circle (not its facilitator) withdraws: nobody is added to it.
    leaver = next(m for m in first["members"] if not m["facilitator"])
    mark = await outbox_mark(svc)
    r = await c.post(
        f"/cohorts/{cid}/participants/{leaver['participant_id']}/withdraw",
        json={"reason": "moving abroad"},
        headers=as_participant(leaver["employee_id"]),
    )
    assert r.status_code == 200, r.text
    now = (await c.get(f"/circles/{first['id']}", headers=HR)).json()
    gone = next(m for m in now["members"] if m["participant_id"] == leaver["participant_id"])
    assert gone["status"] == "left"
    refilled = await outbox_events(svc, CircleRefilledV1.event_type, mark)
    dissolved = await outbox_events(svc, CircleDissolvedV1.event_type, mark)
    if len(first["members"]) - 1 >= MIN_SIZE:  # it goes on smaller, and says so
        [(_, event)] = refilled
        assert not dissolved and event["added"] is None and now["status"] == "formed"
        assert event["left_participant_id"] == leaver["participant_id"]
        assert sorted(event["member_ids"]) == sorted(m["participant_id"] for m in live(now))
    else:  # below its minimum: dissolved
        [(_, event)] = dissolved
        assert not refilled and now["status"] == "dissolved" and {m["status"] for m in live(now)} == set()

    # A member of a proposed circle withdraws: their place is freed (refilled, smaller or dissolved).
    leaver = next(m for m in second["members"] if not m["facilitator"])
    mark = await outbox_mark(svc)
    r = await c.post(f"/cohorts/{cid}/participants/{leaver['participant_id']}/withdraw", json={}, headers=HR)
    assert r.status_code == 200, r.text
    now = (await c.get(f"/circles/{second['id']}", headers=HR)).json()
    refilled = await outbox_events(svc, CircleRefilledV1.event_type, mark)
    dissolved = await outbox_events(svc, CircleDissolvedV1.event_type, mark)
    assert len(refilled) + len(dissolved) == 1
    if refilled:
        [(_, event)] = refilled
        assert event["left_participant_id"] == leaver["participant_id"] and now["status"] == "proposed"
        check_circles([{**now, "members": live(now)}], people)
    del ids


async def test_unanswered_invitations_expire_and_free_their_places(
    svc: RunningService, clock: FrozenClock
) -> None:
    c = svc.client
    t = tag()
    cid, _, circles, _ = await published(svc, t)
    circle = circles[0]
    # Everyone but one accepts; the last one never answers.
    for m in circle["members"][1:]:
        assert (
            await c.post(f"/circles/{circle['id']}/accept", headers=as_participant(m["employee_id"]))
        ).is_success
    silent = circle["members"][0]
    assert await jobs.circle_expiry_once(svc.runtime) == 0  # nothing is due yet
    mark = await outbox_mark(svc)
    clock.set(START + timedelta(hours=TTL_HOURS, minutes=1))
    try:
        # Past the deadline an answer is refused, even before the expiry tick has run.
        r = await c.post(f"/circles/{circle['id']}/accept", headers=as_participant(silent["employee_id"]))
        assert r.status_code == 409 and r.json()["title"] == "Invitation expired"
        # The silent member's invitation, and those of the other circles (until a circle falls below
        # its minimum and is dissolved: its remaining members are released, not expired).
        assert await jobs.circle_expiry_once(svc.runtime) >= 1 + (len(circles) - 1)
        now = (await c.get(f"/circles/{circle['id']}", headers=HR)).json()
        assert (
            next(m for m in now["members"] if m["participant_id"] == silent["participant_id"])["status"]
            == "expired"
        )
        refilled = await outbox_events(svc, CircleRefilledV1.event_type, mark)
        dissolved = await outbox_events(svc, CircleDissolvedV1.event_type, mark)
        formed = await outbox_events(svc, CircleFormedV1.event_type, mark)
        mine = [e for _, e in refilled + dissolved + formed if e["circle_id"] == circle["id"]]
        assert mine, "the expiry freed the silent member's place"
        if now["status"] == "dissolved":  # too few were left to go on
            assert any("reason" in e and silent["participant_id"] not in e["member_ids"] for e in mine)
        else:  # refilled, or smaller (and then maybe formed: everyone left had accepted)
            assert any(e.get("left_participant_id") == silent["participant_id"] for e in mine)
        assert await jobs.circle_expiry_once(svc.runtime) == 0  # once: nothing left to expire
    finally:
        clock.set(START)
    del cid


async def test_an_erasure_leaves_no_trace_of_the_person_in_circles(svc: RunningService) -> None:
    c = svc.client
    t = tag()
    cid, _, circles, _ = await published(svc, t)
    circle = circles[0]
    victim = next(m for m in circle["members"] if not m["facilitator"])
    other = next(m for m in circle["members"] if m["participant_id"] != victim["participant_id"])
    r = await c.post(
        f"/circles/{circle['id']}/decline",
        json={"reason": f"my manager {victim['display_name']} said no"},
        headers=as_participant(other["employee_id"]),
    )
    assert r.status_code == 200, r.text
    dpo = auth("privacy_officer", sub="dpo-circles")
    r = await c.post("/privacy/erasures", json={"employee_id": victim["employee_id"]}, headers=dpo)
    assert r.status_code == 202, r.text
    counts = r.json()["services"]["matching"]["erased"]
    assert counts["circles_left"] == 1
    now = (await c.get(f"/circles/{circle['id']}", headers=HR)).json()
    assert next(m for m in now["members"] if m["participant_id"] == victim["participant_id"])["status"] in (
        "left",
        "released",
    )
    name = victim["display_name"]
    async with svc.runtime.pool.acquire() as conn:
        texts = await conn.fetch(
            """SELECT explanation AS t FROM circles WHERE cohort_id = $1
               UNION ALL SELECT coalesce(dissolved_reason, '') FROM circles WHERE cohort_id = $1
               UNION ALL SELECT left_out::text FROM circle_runs WHERE cohort_id = $1
               UNION ALL SELECT coalesce(m.decline_reason, '') FROM circle_members m
                          JOIN circles x ON x.id = m.circle_id WHERE x.cohort_id = $1""",
            circle["cohort_id"],
        )
    assert texts and not [r["t"] for r in texts if name in r["t"] or victim["employee_id"] in r["t"]]
    del cid
