"""Automatic rematch (policy `auto_rematch`, `auto_rematch_approval`), against a real database and broker.

A decline or an expiry in a cohort with auto_rematch on queues a matching run (origin auto_rematch) in
the transaction of the decline or the expiry: the runs list shows it as soon as the decline has
answered. With approval none its draft goes out as proposals without any HR call; with hr it waits.
Every wait here polls the API; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx

from bridge_matching import jobs
from bridge_shared.scheduling.clock import FrozenClock
from tests.matching.api.support import cohort_body, count, person, read_events, wait_run
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-1")
POLICY = cohort_body()["policy"]


def as_participant(emp: str) -> dict[str, str]:
    return auth("participant", sub=emp)


def people(prefix: str) -> list[dict[str, Any]]:
    """Three mentors and two mentees (one mentee each): the first run leaves one mentor free."""
    return [person(f"{prefix}M{i}", "mentor", 2 + i % 2) for i in range(3)] + [
        person(f"{prefix}L{i}", "mentee", 9 + i) for i in range(2)
    ]


async def published_cohort(c: httpx.AsyncClient, prefix: str, **policy: Any) -> tuple[str, dict[str, str]]:
    """A cohort in matching with `policy` whose first (HR) run is published: two pending proposals and a
    free mentor. Returns (cohort id, employee id by participant id)."""
    r = await c.post("/cohorts", json=cohort_body(policy={**POLICY, **policy}), headers=HR)
    assert r.status_code == 201, r.text
    cid: str = r.json()["id"]
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "enrolling"}, headers=HR)
    ).status_code == 200
    emp = {}
    for p in people(prefix):
        r = await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)
        assert r.status_code == 201, r.text
        emp[r.json()["id"]] = p["employee_id"]
    assert (
        await c.post(f"/cohorts/{cid}/phase", json={"to_phase": "matching"}, headers=HR)
    ).status_code == 200
    r = await c.post(f"/cohorts/{cid}/matching-runs?wait=true", headers=HR)
    assert r.status_code == 201 and r.json()["status"] == "draft", r.text
    assert r.json()["origin"] == "hr" and r.json()["reason"] is None
    assert len(r.json()["pairs"]) == 2 and len(r.json()["unmatched"]) == 1
    r = await c.post(f"/matching-runs/{r.json()['id']}/publish", headers=HR)
    assert r.status_code == 200 and r.json()["proposals"] == 2, r.text
    return cid, emp


async def pending(c: httpx.AsyncClient, cid: str) -> list[dict[str, Any]]:
    r = await c.get(f"/cohorts/{cid}/proposals", params={"status": "pending"}, headers=HR)
    assert r.status_code == 200, r.text
    body: list[dict[str, Any]] = r.json()
    return body


async def runs_of(c: httpx.AsyncClient, cid: str) -> list[dict[str, Any]]:
    r = await c.get(f"/cohorts/{cid}/matching-runs", headers=HR)
    assert r.status_code == 200, r.text
    body: list[dict[str, Any]] = r.json()
    return body


async def decline(c: httpx.AsyncClient, proposal: dict[str, Any], emp: dict[str, str]) -> dict[str, Any]:
    r = await c.post(
        f"/proposals/{proposal['id']}/decline",
        json={"reason": "not a fit"},
        headers=as_participant(emp[proposal["mentee_id"]]),
    )
    assert r.status_code == 200 and r.json()["status"] == "declined", r.text
    body: dict[str, Any] = r.json()
    return body


async def test_policy_options_default_off_validated_stored_and_published(
    svc: RunningService, bootstrap_servers: str
) -> None:
    c = svc.client
    cid = (await c.post("/cohorts", json=cohort_body(), headers=HR)).json()["id"]
    policy = (await c.get(f"/cohorts/{cid}/policy", headers=HR)).json()
    assert policy["auto_rematch"] is False and policy["auto_rematch_approval"] == "hr"
    for bad in ({"auto_rematch_approval": "manager"}, {"auto_rematch": "sometimes"}):
        r = await c.put(f"/cohorts/{cid}/policy", json=bad, headers=HR)
        assert r.status_code == 422, (bad, r.text)
    r = await c.put(
        f"/cohorts/{cid}/policy", json={"auto_rematch": True, "auto_rematch_approval": "none"}, headers=HR
    )
    assert r.status_code == 200, r.text
    policy = (await c.get(f"/cohorts/{cid}/policy", headers=HR)).json()
    assert policy["auto_rematch"] is True and policy["auto_rematch_approval"] == "none"
    assert (await c.get(f"/cohorts/{cid}", headers=HR)).json()["policy"]["auto_rematch"] is True
    events = await read_events(bootstrap_servers, cid, {"cohort.policy_updated": 1})
    [(_, updated)] = [e for e in events if e[0].endswith(".cohort.policy_updated.v1")]
    assert updated["policy"]["auto_rematch"] is True
    assert updated["policy"]["auto_rematch_approval"] == "none"


async def test_decline_without_auto_rematch_queues_nothing(svc: RunningService) -> None:
    c = svc.client
    cid, emp = await published_cohort(c, "OFF")
    [first, _] = await pending(c, cid)
    await decline(c, first, emp)
    # The queueing would be in the decline's transaction: right after its answer, nothing is there.
    runs = await runs_of(c, cid)
    assert [(r["origin"], r["status"]) for r in runs] == [("hr", "published")]
    audit = (await c.get(f"/cohorts/{cid}/audit", headers=HR)).json()
    assert not [a for a in audit if a["actor"] == "auto-rematch"]


async def test_decline_with_approval_none_proposes_the_freed_person_again_without_hr(
    svc: RunningService, bootstrap_servers: str
) -> None:
    c = svc.client
    cid, emp = await published_cohort(c, "NONE", auto_rematch=True, auto_rematch_approval="none")
    [declined, kept] = await pending(c, cid)
    await decline(c, declined, emp)

    # Queued in the decline's transaction: already listed when the decline has answered.
    runs = await runs_of(c, cid)  # (the frozen clock gives every run one created_at: order by origin)
    assert sorted(r["origin"] for r in runs) == ["auto_rematch", "hr"]
    [auto] = [r for r in runs if r["origin"] == "auto_rematch"]
    assert auto["reason"] == f"automatic rematch: proposal {declined['id']} was declined"

    # No HR call from here: the freed mentee gets a new proposal, with the mentor the first run left free.
    freed = declined["mentee_id"]
    async with asyncio.timeout(60):
        while True:
            mine = [p for p in await pending(c, cid) if p["mentee_id"] == freed]
            if mine:
                break
            await asyncio.sleep(0.05)
    [again] = mine
    paired = {declined["mentor_id"], kept["mentor_id"]}
    assert again["mentor_id"] not in paired and again["run_id"] == auto["id"]
    assert again["source"] == "matching_run" and again["explanation"]

    run = (await c.get(f"/matching-runs/{auto['id']}", headers=HR)).json()
    assert run["status"] == "published" and run["origin"] == "auto_rematch" and run["published_at"]
    assert run["attempts"] == 1 and run["failed_attempts"] == []
    audit = (await c.get(f"/cohorts/{cid}/audit", headers=HR)).json()
    queued = next(a for a in audit if a["action"] == "run.auto_queued")
    assert queued["actor"] == "auto-rematch" and queued["details"]["run_id"] == auto["id"]
    assert queued["details"]["trigger"] == "declined" and queued["details"]["proposal_ids"] == [
        declined["id"]
    ]
    assert queued["details"]["approval"] == "none"
    published = [a for a in audit if a["action"] == "run.publish" and a["details"]["run_id"] == auto["id"]]
    assert [(a["actor"], a["details"]["proposals"], a["details"]["automatic"]) for a in published] == [
        ("auto-rematch", 1, True)
    ]
    # The proposal went out the normal way: match.proposed on the proposal topic.
    events = await read_events(bootstrap_servers, cid, {"match.proposed": 3, "match.declined": 1})
    assert count(events, "match.proposed") == 3


async def test_decline_with_approval_hr_leaves_an_automatic_draft_for_hr(svc: RunningService) -> None:
    c = svc.client
    cid, emp = await published_cohort(c, "HRA", auto_rematch=True)  # approval defaults to hr
    [declined, _] = await pending(c, cid)
    await decline(c, declined, emp)
    runs = await runs_of(c, cid)
    assert sorted(r["origin"] for r in runs) == ["auto_rematch", "hr"]
    [auto] = [r for r in runs if r["origin"] == "auto_rematch"]
    run = await wait_run(c, auto["id"], HR)
    assert run["status"] == "draft" and run["origin"] == "auto_rematch" and run["published_at"] is None
    assert run["reason"] == f"automatic rematch: proposal {declined['id']} was declined"
    [pair] = run["pairs"]
    assert pair["mentee_id"] == declined["mentee_id"] and pair["mentor_id"] != declined["mentor_id"]
    # Nothing went out: the freed mentee has no new proposal until HR publishes.
    assert [p for p in await pending(c, cid) if p["mentee_id"] == declined["mentee_id"]] == []
    audit = (await c.get(f"/cohorts/{cid}/audit", headers=HR)).json()
    drafted = next(a for a in audit if a["action"] == "run.auto_draft")
    assert drafted["actor"] == "auto-rematch" and drafted["details"] == {
        "run_id": run["id"],
        "pairs": 1,
        "approval": "hr",
    }
    assert not [a for a in audit if a["action"] == "run.publish" and a["details"]["run_id"] == run["id"]]

    # HR publishes it through the normal path.
    r = await c.post(f"/matching-runs/{run['id']}/publish", headers=HR)
    assert r.status_code == 200 and r.json()["proposals"] == 1, r.text
    assert [p["mentee_id"] for p in await pending(c, cid)].count(declined["mentee_id"]) == 1


async def test_an_active_run_or_a_draft_under_hr_review_is_reused_not_doubled(svc: RunningService) -> None:
    c = svc.client
    cid, emp = await published_cohort(c, "BUSY", auto_rematch=True, auto_rematch_approval="none")
    first, second = await pending(c, cid)

    # A run is running (its instance holds a valid lease): the decline queues nothing more.
    busy = uuid.uuid4()
    now = svc.runtime.clock.now()
    await svc.runtime.pool.execute(
        """INSERT INTO matching_runs (id, cohort_id, status, created_by, created_at, updated_at,
                                      lease_owner, lease_expires_at, attempts)
           VALUES ($1, $2, 'running', 'hr-1', $3, $3, 'other-host:1:busy', $4, 1)""",
        busy,
        uuid.UUID(cid),
        now,
        now + timedelta(days=1),
    )
    await decline(c, first, emp)
    runs = await runs_of(c, cid)
    assert sorted((r["origin"], r["status"]) for r in runs) == [("hr", "published"), ("hr", "running")]
    await svc.runtime.pool.execute("UPDATE matching_runs SET status = 'failed' WHERE id = $1", busy)

    # HR is reviewing a draft of their own: an automatic run would supersede it, so none is queued; the
    # audit log says why.
    r = await c.post(f"/cohorts/{cid}/matching-runs?wait=true", headers=HR)
    assert r.status_code == 201 and r.json()["status"] == "draft", r.text
    draft = r.json()
    await decline(c, second, emp)
    runs = await runs_of(c, cid)
    assert sorted((r["origin"], r["status"]) for r in runs) == [
        ("hr", "draft"),
        ("hr", "failed"),
        ("hr", "published"),
    ]
    assert (await c.get(f"/matching-runs/{draft['id']}", headers=HR)).json()["status"] == "draft"
    audit = (await c.get(f"/cohorts/{cid}/audit", headers=HR)).json()
    [deferred] = [a for a in audit if a["action"] == "run.auto_rematch_deferred"]
    assert deferred["actor"] == "auto-rematch" and deferred["details"]["draft_run_id"] == draft["id"]
    assert deferred["details"]["proposal_ids"] == [second["id"]]
    assert not [a for a in audit if a["action"] == "run.auto_queued"]


async def test_expiry_queues_an_automatic_run_in_the_expiry_transaction(
    svc: RunningService, clock: FrozenClock
) -> None:
    """Last in this module: the clock moves past every open proposal's expiry."""
    c = svc.client
    cid, _ = await published_cohort(c, "EXP", auto_rematch=True)
    expiring = await pending(c, cid)
    assert len(expiring) == 2
    clock.advance(timedelta(hours=49))
    assert await jobs.expire_once(svc.runtime) >= 2
    runs = await runs_of(c, cid)  # queued in the expiry's transaction: there when the tick returns
    assert sorted(r["origin"] for r in runs) == ["auto_rematch", "hr"]
    [auto] = [r for r in runs if r["origin"] == "auto_rematch"]
    ids = sorted(p["id"] for p in expiring)
    assert auto["reason"] is not None and auto["reason"].startswith(
        "automatic rematch: 2 proposals were expired"
    )
    run = await wait_run(c, auto["id"], HR)
    assert run["status"] == "draft" and len(run["pairs"]) == 2  # expired pairs are not proposed again
    before = {(p["mentor_id"], p["mentee_id"]) for p in expiring}
    assert not before & {(p["mentor_id"], p["mentee_id"]) for p in run["pairs"]}
    audit = (await c.get(f"/cohorts/{cid}/audit", headers=HR)).json()
    queued = next(a for a in audit if a["action"] == "run.auto_queued")
    assert queued["details"]["trigger"] == "expired" and sorted(queued["details"]["proposal_ids"]) == ids
    assert await pending(c, cid) == []  # approval hr: nothing went out
