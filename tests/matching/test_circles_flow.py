"""Issue 15: forming mentoring circles in matching, against real PostgreSQL (and the service's outbox):
a cohort that runs circles -> a run's draft keeps every hard rule -> HR's review (move, swap, remove,
pin, re-solve; every edit re-checked, breaking ones refused unless forced) -> publish
(circle.proposed, personal fields sealed) -> each member answers (circle.formed; a decline is refilled)
-> HR dissolves; who may do what; bad input as problem+json with field errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge_matching.domain.csv_import import parse_csv
from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.contracts.circles import (
    CircleDissolvedV1,
    CircleFormedV1,
    CircleMemberRespondedV1,
    CircleProposedV1,
    CircleRefilledV1,
)
from bridge_shared.contracts.matching import CohortCreatedV1
from bridge_shared.scheduling.clock import FrozenClock
from tests.matching.api.support import cohort_body, csv_of
from tests.matching.circles_support import (
    HR,
    as_participant,
    check_circles,
    circle_cohort,
    circle_people,
    of_cohort,
    outbox_events,
    outbox_mark,
    tag,
)
from tests.service_harness import RunningService, auth, running_service

START = datetime(2027, 1, 25, 9, 0, tzinfo=UTC)
TTL_HOURS = 48


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
        expiry_interval_seconds=0,  # expiry runs only when a test calls it
        outbox_idle_poll_seconds=0.5,
    ) as running:
        yield running


def by_emp(people: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["employee_id"]: p for p in people}


def where(run: dict[str, Any], emp: str) -> dict[str, Any] | None:
    """The draft circle `emp` is in."""
    return next((c for c in run["circles"] if emp in [m["employee_id"] for m in c["members"]]), None)


def member_ids(circle: dict[str, Any]) -> list[str]:
    return [m["employee_id"] for m in circle["members"]]


async def test_a_cohort_forms_circles_reviewed_published_and_answered(svc: RunningService) -> None:
    c = svc.client
    t = tag()
    people = circle_people(t)
    profiles = by_emp(people)
    mark = await outbox_mark(svc)
    cid, ids = await circle_cohort(svc, people)
    [created] = of_cohort(await outbox_events(svc, CohortCreatedV1.event_type, mark), cid)
    assert created["formats"] == ["circles"]
    assert (await c.get(f"/cohorts/{cid}", headers=HR)).json()["formats"] == ["circles"]

    # -- the run: a draft whose circles keep every hard rule; the Japanese-only speaker is left out
    r = await c.post(f"/cohorts/{cid}/circle-runs", headers=HR)
    assert r.status_code == 201, r.text
    run = r.json()
    run_id = run["id"]
    assert run["status"] == "draft" and len(run["circles"]) >= 3
    check_circles(run["circles"], profiles)
    placed = {e for circle in run["circles"] for e in member_ids(circle)}
    left = {x["employee_id"]: x for x in run["left_out"]}
    assert placed | set(left) == set(profiles) and not placed & set(left)
    assert left[f"{t}X01"]["reason_code"] == "language" and left[f"{t}X01"]["reason"]
    assert left[f"{t}X01"]["display_name"] == f"Person {t}X01"  # names beside ids
    assert run["stats"]["circles"] == len(run["circles"]) and run["stats"]["placed"] == len(placed)
    assert (await c.get(f"/circle-runs/{run_id}", headers=HR)).json() == run

    # -- move: the Japanese speaker into a circle breaks its language rule: refused, unless forced
    target = run["circles"][0]
    body = {"participant_id": ids[f"{t}X01"], "to_circle_id": target["id"]}
    r = await c.post(f"/circle-runs/{run_id}/move", json=body, headers=HR)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["title"] == "Edit breaks hard constraints" and r.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert "language" in problem["violations"][target["id"]]
    assert (await c.get(f"/circle-runs/{run_id}", headers=HR)).json()["version"] == run[
        "version"
    ]  # unchanged
    r = await c.post(f"/circle-runs/{run_id}/move", json={**body, "force": True}, headers=HR)
    assert r.status_code == 200, r.text
    forced = next(x for x in r.json()["circles"] if x["id"] == target["id"])
    assert f"{t}X01" in member_ids(forced) and "language" in forced["violations"]
    assert f"{t}X01" not in {x["employee_id"] for x in r.json()["left_out"]}

    # -- remove them again: the circle keeps its rules again; they are left out as removed
    path = f"/circle-runs/{run_id}/circles/{target['id']}/members/{ids[f'{t}X01']}"
    r = await c.delete(path, headers=HR)
    assert r.status_code == 200, r.text
    run = r.json()
    restored = next(x for x in run["circles"] if x["id"] == target["id"])
    assert restored["violations"] == [] and set(member_ids(restored)) == set(member_ids(target))
    removed = {x["employee_id"]: x for x in run["left_out"]}[f"{t}X01"]
    assert removed["reason_code"] == "removed" and run["removed"] == [ids[f"{t}X01"]]

    # -- swap: J01 into the circle of their manager S01 is refused (management chain)
    boss_circle = where(run, f"{t}S01")
    j01_circle = where(run, f"{t}J01")
    assert boss_circle and j01_circle and boss_circle["id"] != j01_circle["id"]
    junior_there = next(m["employee_id"] for m in boss_circle["members"] if m["generation"] == "junior")
    swap = {"participant_a": ids[f"{t}J01"], "participant_b": ids[junior_there]}
    r = await c.post(f"/circle-runs/{run_id}/swap", json=swap, headers=HR)
    assert r.status_code == 409, r.text
    assert r.json()["violations"][boss_circle["id"]] == ["management"]

    # ... a swap of two juniors not tied to anyone keeps every rule and is made
    free_juniors = [
        e
        for e in profiles
        if e[len(t) :].startswith("J") and e not in (f"{t}J01", f"{t}J02") and where(run, e)
    ]
    a = free_juniors[0]
    b = next(e for e in free_juniors if where(run, e)["id"] != where(run, a)["id"])  # type: ignore[index]
    circle_a, circle_b = where(run, a), where(run, b)
    r = await c.post(
        f"/circle-runs/{run_id}/swap", json={"participant_a": ids[a], "participant_b": ids[b]}, headers=HR
    )
    assert r.status_code == 200, r.text
    run = r.json()
    assert circle_a and circle_b
    moved_a, moved_b = where(run, a), where(run, b)
    assert moved_a and moved_b and moved_a["id"] == circle_b["id"] and moved_b["id"] == circle_a["id"]
    check_circles(run["circles"], profiles)

    # -- pin a circle with a facilitator HR names (a junior, not eligible), then re-solve
    pinned = where(run, a)
    assert pinned is not None
    r = await c.post(
        f"/circle-runs/{run_id}/circles/{pinned['id']}/pin", json={"facilitator_id": ids[a]}, headers=HR
    )
    assert r.status_code == 200, r.text
    now_pinned = next(x for x in r.json()["circles"] if x["id"] == pinned["id"])
    assert now_pinned["pinned"] and now_pinned["facilitator_id"] == ids[a] and now_pinned["facilitator_by_hr"]
    r = await c.post(f"/circle-runs/{run_id}/resolve", headers=HR)
    assert r.status_code == 200, r.text
    run = r.json()
    check_circles(run["circles"], profiles)
    kept = where(run, a)
    assert kept is not None and kept["pinned"] and set(member_ids(pinned)) <= set(member_ids(kept))
    assert kept["facilitator_id"] == ids[a] and kept["facilitator_by_hr"]
    assert {x["employee_id"]: x["reason_code"] for x in run["left_out"]}[f"{t}X01"] == "removed"

    # -- a participant cannot run, review or publish; a participant's list is their own circles only
    member = as_participant(a)
    assert (await c.post(f"/cohorts/{cid}/circle-runs", headers=member)).status_code == 403
    assert (await c.post(f"/circle-runs/{run_id}/publish", headers=member)).status_code == 403
    assert (await c.post(f"/circle-runs/{run_id}/resolve", headers=member)).status_code == 403

    # -- publish: one circle.proposed per circle, through the outbox, personal fields sealed
    mark = await outbox_mark(svc)
    r = await c.post(f"/circle-runs/{run_id}/publish", headers=HR)
    assert r.status_code == 200, r.text
    assert r.json()["circles"] == len(run["circles"])
    assert r.json()["expires_at"].startswith((START + timedelta(hours=TTL_HOURS)).date().isoformat())
    proposed = await outbox_events(svc, CircleProposedV1.event_type, mark)
    assert len(proposed) == len(run["circles"])
    for raw, event in proposed:
        assert f"Person {t}".encode() not in raw and b"@corp.example" not in raw  # sealed on the way out
        draft = next(x for x in run["circles"] if x["id"] == event["circle_id"])
        assert sorted(event["member_ids"]) == sorted(str(m["participant_id"]) for m in draft["members"])
        assert event["facilitator_id"] == draft["facilitator_id"] and event["language"] == draft["language"]
        assert event["run_id"] == run_id and event["explanation"]["summary"] == draft["explanation"]
        for m in event["members"]:
            profile = profiles[m["employee_id"]]
            assert m["display_name"] == profile["display_name"] and m["email"] == profile["email"]
            level = profile["seniority_level"]
            assert m["generation"] == ("junior" if level <= 4 else "senior" if level >= 8 else "other")
    assert (await c.post(f"/circle-runs/{run_id}/publish", headers=HR)).status_code == 409  # not a draft

    circles = (await c.get(f"/cohorts/{cid}/circles", headers=HR)).json()
    assert {x["status"] for x in circles} == {"proposed"} and len(circles) == len(run["circles"])
    mine = (await c.get(f"/cohorts/{cid}/circles", headers=member)).json()
    assert [x["id"] for x in mine] == [kept["id"]]

    # -- answers: HR cannot answer; an outsider sees nothing; a member answers only for themself
    first, second = circles[0], circles[1]
    outsider = next(e for e in member_ids(second) if e not in member_ids(first))
    assert (await c.post(f"/circles/{first['id']}/accept", headers=HR)).status_code == 403
    assert (
        await c.post(f"/circles/{first['id']}/accept", headers=as_participant(outsider))
    ).status_code == 404
    assert (await c.get(f"/circles/{first['id']}", headers=as_participant(outsider))).status_code == 404
    mark = await outbox_mark(svc)
    for i, emp in enumerate(member_ids(first)):
        r = await c.post(f"/circles/{first['id']}/accept", headers=as_participant(emp))
        assert r.status_code == 200, r.text
        assert r.json()["status"] == ("formed" if i == len(first["members"]) - 1 else "proposed")
    r = await c.post(f"/circles/{first['id']}/accept", headers=as_participant(member_ids(first)[0]))
    assert r.status_code == 409 and r.json()["title"] == "Circle not open"
    answered = await outbox_events(svc, CircleMemberRespondedV1.event_type, mark)
    assert [e["response"] for _, e in answered] == ["accepted"] * len(first["members"])
    [(raw, formed)] = await outbox_events(svc, CircleFormedV1.event_type, mark)
    assert formed["circle_id"] == first["id"] and formed["programme_end"] == "2027-07-30"
    assert formed["hr_contact_email"] == "hr@corp.example" and len(formed["members"]) == len(first["members"])
    assert f"Person {t}".encode() not in raw and f"{t.lower()}".encode() not in raw  # members sealed

    # -- a decline frees the place: refilled by the free person who fits (X01 cannot: no language)
    # Someone whose leaving keeps the generation minimums if anyone fills the place: an "other".
    decliner = min(
        (m for m in second["members"] if not m["facilitator"]),
        key=lambda m: (m["generation"] != "other", m["employee_id"]),
    )
    mark = await outbox_mark(svc)
    r = await c.post(
        f"/circles/{second['id']}/decline",
        json={"reason": "not this term"},
        headers=as_participant(decliner["employee_id"]),
    )
    assert r.status_code == 200, r.text
    after = r.json()
    gone = next(m for m in after["members"] if m["employee_id"] == decliner["employee_id"])
    assert gone["status"] == "declined" and gone["decline_reason"] == "not this term"
    [(_, said)] = await outbox_events(svc, CircleMemberRespondedV1.event_type, mark)
    assert said["response"] == "declined" and said["reason"] == "not this term"
    refilled = await outbox_events(svc, CircleRefilledV1.event_type, mark)
    dissolved = await outbox_events(svc, CircleDissolvedV1.event_type, mark)
    assert len(refilled) + len(dissolved) == 1
    if refilled:
        [(_, refill)] = refilled
        assert refill["left_participant_id"] == decliner["participant_id"]
        assert decliner["participant_id"] not in refill["member_ids"]
        if refill["added"] is not None:
            added = refill["added"]["employee_id"]
            assert added != f"{t}X01" and refill["added"]["participant_id"] in refill["member_ids"]
            assert any(m["employee_id"] == added and m["origin"] == "refill" for m in after["members"])
        live = [m for m in after["members"] if m["status"] in ("invited", "accepted")]
        check_circles([{**after, "members": live}], profiles)
    # The decliner sees their own reason; another member does not.
    other = next(m for m in after["members"] if m["employee_id"] != decliner["employee_id"])
    seen = (await c.get(f"/circles/{second['id']}", headers=as_participant(other["employee_id"]))).json()
    assert (
        next(m for m in seen["members"] if m["employee_id"] == decliner["employee_id"])["decline_reason"]
        is None
    )

    # -- HR dissolves a circle (a participant may not)
    third = circles[2]
    body = {"reason": "reorganising the programme"}
    assert (
        await c.post(
            f"/circles/{third['id']}/dissolve", json=body, headers=as_participant(member_ids(third)[0])
        )
    ).status_code == 403
    mark = await outbox_mark(svc)
    r = await c.post(f"/circles/{third['id']}/dissolve", json=body, headers=HR)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dissolved"
    assert {m["status"] for m in r.json()["members"]} == {"released"}
    [(raw, gone_event)] = await outbox_events(svc, CircleDissolvedV1.event_type, mark)
    assert gone_event["reason"] == "reorganising the programme" and b"reorganising" not in raw
    assert sorted(gone_event["member_ids"]) == sorted(str(m["participant_id"]) for m in third["members"])
    assert (await c.post(f"/circles/{third['id']}/dissolve", json=body, headers=HR)).status_code == 409

    audit = (await c.get(f"/cohorts/{cid}/audit", headers=HR)).json()
    actions = [e["action"] for e in audit]
    for action in (
        "circle_run.start",
        "circle_draft.move",
        "circle_draft.remove",
        "circle_draft.swap",
        "circle_draft.pin",
        "circle_draft.resolve",
        "circle_run.publish",
        "circle.dissolve",
    ):
        assert action in actions, action
    forced_move = next(e for e in audit if e["action"] == "circle_draft.move")
    assert forced_move["details"]["forced"] is True


async def test_circles_need_a_cohort_that_runs_them(svc: RunningService) -> None:
    cid, _ = await circle_cohort(svc, circle_people(tag())[:6], formats=["pairs"])
    r = await svc.client.post(f"/cohorts/{cid}/circle-runs", headers=HR)
    assert r.status_code == 409 and r.json()["title"] == "Circles not offered"
    assert r.json()["formats"] == ["pairs"]
    # and the other way round: a circles-only cohort runs no pair matching
    cid, _ = await circle_cohort(svc, circle_people(tag())[:6])
    r = await svc.client.post(f"/cohorts/{cid}/matching-runs", headers=HR)
    assert r.status_code == 409 and r.json()["title"] == "Pairs not offered", r.text
    assert r.json()["formats"] == ["circles"]


async def test_too_few_free_people_for_one_circle(svc: RunningService) -> None:
    cid, _ = await circle_cohort(svc, circle_people(tag())[:3])
    r = await svc.client.post(f"/cohorts/{cid}/circle-runs", headers=HR)
    assert r.status_code == 409 and r.json()["title"] == "Not enough participants"


async def test_bad_input_is_refused_with_field_errors(svc: RunningService) -> None:
    c = svc.client

    def fields(r: Any) -> set[str]:
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        return {e["field"] for e in r.json()["errors"]}

    assert "formats.0" in fields(await c.post("/cohorts", json=cohort_body(formats=["triads"]), headers=HR))
    assert "formats" in fields(await c.post("/cohorts", json=cohort_body(formats=[]), headers=HR))
    assert "formats" in fields(
        await c.post("/cohorts", json=cohort_body(formats=["circles", "circles"]), headers=HR)
    )
    body = cohort_body(formats=["pairs", "circles"])
    r = await c.post("/cohorts", json=body, headers=HR)
    assert r.status_code == 201 and r.json()["formats"] == ["pairs", "circles"]
    cid = r.json()["id"]
    policy = r.json()["policy"]
    bad = {**policy, "circle_min_size": 6, "circle_max_size": 5, "circle_senior_min_level": 3}
    got = fields(await c.put(f"/cohorts/{cid}/policy", json=bad, headers=HR))
    assert {"circle_max_size", "circle_senior_min_level"} <= got
    assert "circle_min_size" in fields(
        await c.put(f"/cohorts/{cid}/policy", json={**policy, "circle_min_size": 2}, headers=HR)
    )
    # A participant's profile: facilitator_eligible is HR's to set.
    t = tag()
    [p] = circle_people(t)[:1]
    assert (await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)).is_success
    r = await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)
    assert r.status_code == 201 and r.json()["facilitator_eligible"] is False
    pid = r.json()["id"]
    r = await c.patch(
        f"/cohorts/{cid}/participants/{pid}",
        json={"facilitator_eligible": True},
        headers=as_participant(p["employee_id"]),
    )
    assert fields(r) == {"facilitator_eligible"}
    r = await c.patch(f"/cohorts/{cid}/participants/{pid}", json={"facilitator_eligible": True}, headers=HR)
    assert r.status_code == 200 and r.json()["facilitator_eligible"] is True
    # Review bodies: unknown fields and missing ids.
    run = "00000000-0000-4000-8000-000000000001"
    assert "to_circle_id" in fields(
        await c.post(f"/circle-runs/{run}/move", json={"participant_id": pid}, headers=HR)
    )
    assert "force" in fields(
        await c.post(
            f"/circle-runs/{run}/swap",
            json={"participant_a": pid, "participant_b": pid, "force": "x"},
            headers=HR,
        )
    )
    assert (await c.get(f"/circle-runs/{run}", headers=HR)).json()["title"] == "Circle run not found"
    assert "reason" in fields(
        await c.post(
            f"/circles/{run}/decline", json={"reason": "x" * 1001}, headers=as_participant(p["employee_id"])
        )
    )
    assert "reason" in fields(await c.post(f"/circles/{run}/dissolve", json={"reason": ""}, headers=HR))


def test_the_csv_import_reads_facilitator_eligible() -> None:
    """The CSV's columns are the profile's fields: `facilitator_eligible` is an optional column."""
    rows = circle_people(tag())[:2]  # J01 (not eligible), S01 (eligible)
    parsed = parse_csv(csv_of(rows), cohort_regions=["EMEA", "AMER"])
    assert [p.facilitator_eligible for _, p in parsed.accepted] == [False, True]
    bad = csv_of([{**rows[1], "facilitator_eligible": "perhaps"}])
    assert [e.field for e in parse_csv(bad, cohort_regions=["EMEA", "AMER"]).rejected] == [
        "facilitator_eligible"
    ]


async def test_regional_hr_sees_the_circles_of_their_regions(svc: RunningService) -> None:
    c = svc.client
    t = tag()
    people = circle_people(t)
    cid, _ = await circle_cohort(svc, people)
    r = await c.post(f"/cohorts/{cid}/circle-runs", headers=HR)
    assert r.status_code == 201, r.text
    run = r.json()
    emea = auth("hr_regional", sub="hr-emea", regions=("EMEA",))
    seen = (await c.get(f"/circle-runs/{run['id']}", headers=emea)).json()
    assert all(any(m["region"] == "EMEA" for m in x["members"]) for x in seen["circles"])
    assert all(
        p["employee_id"] in {q["employee_id"] for q in people if q["region"] == "EMEA"}
        for p in seen["left_out"]
    )
    # Review and publishing are cohort-wide: every region of the cohort is needed.
    r = await c.post(f"/circle-runs/{run['id']}/publish", headers=emea)
    assert r.status_code == 403 and r.json()["missing_regions"] == ["AMER"]
