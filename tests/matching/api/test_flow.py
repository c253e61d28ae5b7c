"""The whole HR + participant flow against a real database and broker, events read back from the topics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bridge_matching import jobs
from bridge_shared.scheduling.clock import FrozenClock
from tests.matching.api.support import (
    cohort_body,
    cohort_people,
    count,
    csv_of,
    person,
    read_events,
    wait_import,
    wait_run,
)
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-1")


def as_participant(emp: str) -> dict[str, str]:
    return auth("participant", sub=emp)


async def _phase(svc: RunningService, cid: str, to: str) -> Any:
    return await svc.client.post(f"/cohorts/{cid}/phase", json={"to_phase": to}, headers=HR)


async def test_full_flow(
    svc: RunningService, clock: FrozenClock, bootstrap_servers: str, admin_dsn: str
) -> None:
    c = svc.client
    r = await c.post("/cohorts", json=cohort_body(), headers=HR)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["phase"] == "draft"

    # Illegal transition: draft cannot skip to matching.
    r = await _phase(svc, cid, "matching")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["allowed"] == ["enrolling"] and r.json()["current_phase"] == "draft"
    assert (await _phase(svc, cid, "enrolling")).status_code == 200

    # --- HRIS import with bad rows: row-level report ---
    people = cohort_people(6)
    bad = [
        person("XBAD1", "mentor", 2, email="not-an-email"),
        person("XBAD2", "mentee", 10, timezone="Mars/Olympus"),
        person("EM00", "mentor", 3),  # duplicate of a good row above -> rejected
        person("XBAD3", "mentee", 10, region="APAC"),  # not a cohort region
        person("XCYC1", "mentee", 10, manager="XCYC2"),
        person("XCYC2", "mentee", 11, manager="XCYC1"),
    ]
    text = csv_of(people + bad)
    r = await c.post(
        f"/cohorts/{cid}/imports", content=text.encode(), headers={**HR, "Content-Type": "text/csv"}
    )
    assert r.status_code == 202, r.text
    job = await wait_import(c, r.json()["id"], HR)
    assert job["status"] == "completed", job
    rep = job["report"]
    assert (rep["total"], rep["accepted"], rep["rejected"], rep["inserted"]) == (18, 12, 6, 12)
    by_emp = {e["employee_id"]: e for e in rep["errors"]}
    assert by_emp["XBAD1"]["field"] == "email" and by_emp["XBAD1"]["line"] == 14
    assert by_emp["XBAD2"]["field"] == "timezone"
    assert by_emp["XBAD3"]["field"] == "region"
    assert "duplicate" in by_emp["EM00"]["message"] and by_emp["EM00"]["line"] == 16
    assert {e["employee_id"] for e in rep["errors"] if e["field"] == "manager_employee_id"} == {
        "XCYC1",
        "XCYC2",
    }

    # Re-import: idempotent (nothing changes, no events).
    r = await c.post(
        f"/cohorts/{cid}/imports", content=text.encode(), headers={**HR, "Content-Type": "text/csv"}
    )
    rep2 = (await wait_import(c, r.json()["id"], HR))["report"]
    assert (rep2["inserted"], rep2["updated"], rep2["unchanged"]) == (0, 0, 12)

    # A changed row is updated; a bad row for a stored employee leaves them as they were.
    changed = [dict(p) for p in people]
    changed[1]["display_name"] = "Renamed Mentor"
    changed[2]["email"] = "broken@"
    r = await c.post(
        f"/cohorts/{cid}/imports",
        content=csv_of(changed).encode(),
        headers={**HR, "Content-Type": "text/csv"},
    )
    rep3 = (await wait_import(c, r.json()["id"], HR))["report"]
    assert (rep3["updated"], rep3["rejected"], rep3["unchanged"]) == (1, 1, 10)
    listed = (await c.get(f"/cohorts/{cid}/participants", headers=HR)).json()
    assert len(listed) == 12
    ids = {p["employee_id"]: p["id"] for p in listed}
    stored = {p["employee_id"]: p for p in listed}
    assert stored["EM01"]["display_name"] == "Renamed Mentor"
    assert stored["EM02"]["email"] == "em02@corp.example"  # the bad row did not touch it
    assert {t["kind"] for t in stored["EL00"]["skill_tags"]} == {"taxonomy", "free"}  # 'tiktok' is a free tag

    # --- matching: draft, review, re-solve keeps pins ---
    r = await c.post(f"/cohorts/{cid}/matching-runs", headers=HR)
    assert r.status_code == 409  # still enrolling
    assert (await _phase(svc, cid, "matching")).status_code == 200
    r = await c.post(f"/cohorts/{cid}/matching-runs", headers=HR)
    assert r.status_code == 202, r.text
    assert r.json()["status"] in ("queued", "running", "draft")
    assert r.headers["location"] == f"/matching-runs/{r.json()['id']}"
    run = await wait_run(c, r.json()["id"], HR)
    assert (
        run["status"] == "draft"
        and run["attempts"] == 1
        and run["finished_at"]
        and len(run["pairs"]) == 6
        and run["unmatched"] == []
    )
    assert all(p["explanation"] and "skills_mentor_to_mentee" in p["breakdown"] for p in run["pairs"])
    rid = run["id"]
    p1, p2, p3, p4 = run["pairs"][:4]
    r = await c.post(f"/matching-runs/{rid}/pairs/{p1['id']}/pin", headers=HR)
    assert r.status_code == 200
    r = await c.delete(f"/matching-runs/{rid}/pairs/{p2['id']}", headers=HR)
    assert r.status_code == 200
    r = await c.post(f"/matching-runs/{rid}/swap", json={"pair_a": p3["id"], "pair_b": p4["id"]}, headers=HR)
    assert r.status_code == 200, r.text
    swapped = {
        (p3["mentor_employee_id"], p4["mentee_employee_id"]),
        (p4["mentor_employee_id"], p3["mentee_employee_id"]),
    }
    r = await c.post(f"/matching-runs/{rid}/resolve?wait=true", headers=HR)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "draft"
    after = {(p["mentor_employee_id"], p["mentee_employee_id"]): p for p in r.json()["pairs"]}
    assert len(after) == 6
    assert after[(p1["mentor_employee_id"], p1["mentee_employee_id"])]["pinned"]
    assert swapped <= set(after) and all(after[s]["pinned"] for s in swapped)
    assert (p2["mentor_employee_id"], p2["mentee_employee_id"]) not in after  # removed stays out

    # --- publish: every draft pair becomes a proposal ---
    r = await c.post(f"/matching-runs/{rid}/publish", headers=HR)
    assert r.status_code == 200, r.text
    assert r.json()["proposals"] == 6
    assert (await c.post(f"/matching-runs/{rid}/publish", headers=HR)).status_code == 409
    proposals = (await c.get(f"/cohorts/{cid}/proposals", headers=HR)).json()
    emp = {v: k for k, v in ids.items()}
    pa, pb, pc, pd, pe, _pf = proposals

    # Both sides accept A -> pair formed; only the mentor accepts B; C and D are declined.
    for side in ("mentor", "mentee"):
        r = await c.post(f"/proposals/{pa['id']}/accept", headers=as_participant(emp[pa[f"{side}_id"]]))
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted" and r.json()["pair_id"]
    # A stranger cannot answer; HR cannot answer on someone's behalf.
    assert (await c.post(f"/proposals/{pb['id']}/accept", headers=as_participant("EM05x"))).status_code == 404
    assert (await c.post(f"/proposals/{pb['id']}/accept", headers=HR)).status_code == 403
    r = await c.post(f"/proposals/{pb['id']}/accept", headers=as_participant(emp[pb["mentor_id"]]))
    assert r.json()["status"] == "pending" and r.json()["mentor_response"] == "accepted"
    r = await c.post(
        f"/proposals/{pc['id']}/decline",
        json={"reason": "schedule clash"},
        headers=as_participant(emp[pc["mentee_id"]]),
    )
    assert r.json()["status"] == "declined" and r.json()["decline_reason"] == "schedule clash"
    r = await c.post(f"/proposals/{pd['id']}/decline", headers=as_participant(emp[pd["mentor_id"]]))
    assert r.json()["status"] == "declined"
    assert (
        await c.post(f"/proposals/{pd['id']}/accept", headers=as_participant(emp[pd["mentee_id"]]))
    ).status_code == 409
    pairs = (await c.get(f"/cohorts/{cid}/pairs", headers=HR)).json()
    assert [(p["mentor_id"], p["mentee_id"]) for p in pairs] == [(pa["mentor_id"], pa["mentee_id"])]

    # --- incremental rematch: accepted pair and open proposals untouched, declined pairs not re-proposed ---
    r = await c.post(f"/cohorts/{cid}/matching-runs?wait=true", headers=HR)
    assert r.status_code == 201, r.text
    rematch = r.json()
    assert rematch["status"] == "draft"
    got = {(p["mentor_id"], p["mentee_id"]) for p in rematch["pairs"]}
    assert got == {(pc["mentor_id"], pd["mentee_id"]), (pd["mentor_id"], pc["mentee_id"])}
    assert rematch["stats"]["kept_pairs"] == 4  # pair A and the open proposals B, E, F are fixed
    r = await c.post(f"/matching-runs/{rematch['id']}/publish", headers=HR)
    assert r.json()["proposals"] == 2
    pairs_after = (await c.get(f"/cohorts/{cid}/pairs", headers=HR)).json()
    assert pairs_after == pairs

    # --- expiry: the singleton job with the frozen clock ---
    assert await jobs.expire_once(svc.runtime) == 0
    clock.advance(timedelta(hours=49))
    assert await jobs.expire_once(svc.runtime) == 5  # B, E, F and the two rematch proposals
    assert await jobs.expire_once(svc.runtime) == 0  # idempotent
    r = await c.post(f"/proposals/{pb['id']}/accept", headers=as_participant(emp[pb["mentee_id"]]))
    assert r.status_code == 409 and r.json()["proposal_status"] == "expired"
    pending = (await c.get(f"/cohorts/{cid}/proposals", params={"status": "pending"}, headers=HR)).json()
    assert pending == []

    # --- HR overrides, audited ---
    r = await c.post(
        f"/cohorts/{cid}/pairs", json={"mentor_id": pb["mentor_id"], "mentee_id": pb["mentee_id"]}, headers=HR
    )
    assert r.status_code == 422  # a reason is mandatory
    r = await c.post(
        f"/cohorts/{cid}/pairs",
        headers=HR,
        json={
            "mentor_id": pb["mentor_id"],
            "mentee_id": pb["mentee_id"],
            "reason": "agreed offline with both",
        },
    )
    assert r.status_code == 201, r.text
    manual = r.json()
    assert manual["origin"] == "hr_override"
    r = await c.post(
        f"/cohorts/{cid}/pairs",
        headers=HR,
        json={"mentor_id": pb["mentor_id"], "mentee_id": pe["mentee_id"], "reason": "double booking attempt"},
    )
    assert r.status_code == 409  # pb's mentor is at capacity (1)
    r = await c.post(
        f"/cohorts/{cid}/pairs/{pairs[0]['id']}/dissolve", json={"reason": "team reorganisation"}, headers=HR
    )
    assert r.status_code == 200 and r.json()["status"] == "dissolved"
    audit = (await c.get(f"/cohorts/{cid}/audit", headers=HR)).json()
    actions = [a["action"] for a in audit]
    for action in (
        "draft.pin",
        "draft.remove",
        "draft.swap",
        "draft.resolve",
        "run.publish",
        "pair.create",
        "pair.dissolve",
    ):
        assert action in actions
    create = next(a for a in audit if a["action"] == "pair.create")
    assert create["reason"] == "agreed offline with both" and create["actor"] == "hr-1"
    assert create["details"]["hard_violations"] == ["forbidden"]  # B expired: HR overrode the exclusion

    # --- the events are on the topics ---
    events = await read_events(
        bootstrap_servers,
        cid,
        {
            "cohort.created": 1,
            "cohort.phase_changed": 2,
            "participant.enrolled": 12,
            "participant.updated": 1,
            "match.proposed": 8,
            "match.accepted": 3,
            "match.declined": 2,
            "match.expired": 5,
            "pair.formed": 2,
            "pair.dissolved": 1,
        },
        open_with=admin_dsn,  # personal fields are sealed on the wire (v2): open them as a consumer would
    )
    assert count(events, "participant.enrolled") == 12 and count(events, "participant.updated") == 1
    assert count(events, "match.proposed") == 8 and count(events, "match.expired") == 5
    assert count(events, "pair.formed") == 2 and count(events, "pair.dissolved") == 1
    formed = {p["proposal_id"]: p for t, p in events if t.endswith("pair.formed.v2")}
    assert formed[pa["id"]]["hr_contact_email"] == "hr@corp.example"
    assert formed[pa["id"]]["programme_end"] == "2027-07-30"
    assert formed[pa["id"]]["mentor"]["employee_id"] == emp[pa["mentor_id"]]
    assert formed[pa["id"]]["mentee"]["participant_id"] == pa["mentee_id"]
    assert formed[None]["origin"] == "hr_override"
    proposed = next(p for t, p in events if t.endswith("match.proposed.v2"))
    assert proposed["explanation"]["summary"] and proposed["expires_at"]


async def test_suggestions_and_partner_request(svc: RunningService) -> None:
    c = svc.client
    cid = (await c.post("/cohorts", json=cohort_body(), headers=HR)).json()["id"]
    await _phase(svc, cid, "enrolling")
    people = cohort_people(3, prefix="S")
    for p in people:
        assert (await c.post(f"/cohorts/{cid}/participants", json=p, headers=HR)).status_code == 201
    ids = {
        p["employee_id"]: p["id"] for p in (await c.get(f"/cohorts/{cid}/participants", headers=HR)).json()
    }
    me = ids["SL00"]
    assert (
        await c.get(f"/cohorts/{cid}/participants/{me}/suggestions", headers=as_participant("SL00"))
    ).status_code == 409  # not matching yet
    await _phase(svc, cid, "matching")
    r = await c.get(
        f"/cohorts/{cid}/participants/{me}/suggestions", params={"k": 2}, headers=as_participant("SL00")
    )
    assert r.status_code == 200, r.text
    sugg = r.json()
    assert len(sugg) == 2 and all(s["as_role"] == "mentor" and s["explanation"] for s in sugg)
    assert sugg[0]["score"] >= sugg[1]["score"]
    # Someone else's suggestions are not visible to a participant.
    assert (
        await c.get(f"/cohorts/{cid}/participants/{ids['SL01']}/suggestions", headers=as_participant("SL00"))
    ).status_code == 404
    # Request the top suggestion: a proposal the requester has already accepted.
    r = await c.post(
        f"/cohorts/{cid}/participants/{me}/requests",
        json={"partner_id": sugg[0]["participant_id"]},
        headers=as_participant("SL00"),
    )
    assert r.status_code == 201, r.text
    prop = r.json()
    assert prop["source"] == "participant_request" and prop["mentee_response"] == "accepted"
    # The partner is now taken: requesting them again is refused, and they drop out of suggestions.
    r = await c.post(
        f"/cohorts/{cid}/participants/{ids['SL01']}/requests",
        json={"partner_id": sugg[0]["participant_id"]},
        headers=as_participant("SL01"),
    )
    assert r.status_code == 409
    r = await c.get(f"/cohorts/{cid}/participants/{ids['SL01']}/suggestions", headers=as_participant("SL01"))
    assert sugg[0]["participant_id"] not in {s["participant_id"] for s in r.json()}
    # The mentor accepts -> pair formed.
    r = await c.post(f"/proposals/{prop['id']}/accept", headers=as_participant(sugg[0]["employee_id"]))
    assert r.json()["status"] == "accepted"
    # Their own proposals are visible to them.
    mine = (await c.get(f"/cohorts/{cid}/participants/{me}/proposals", headers=as_participant("SL00"))).json()
    assert [p["id"] for p in mine] == [prop["id"]]

    # Withdrawal dissolves the pair and frees the partner.
    r = await c.post(
        f"/cohorts/{cid}/participants/{me}/withdraw",
        json={"reason": "moved role"},
        headers=as_participant("SL00"),
    )
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert (await c.get(f"/cohorts/{cid}/pairs", headers=HR)).json() == []
