"""Privacy in matching (docs/privacy.md), against a real database and broker: erasure (every column of
the schema scanned afterwards, keys destroyed, events on the wire), the answers that complete it,
exports assembled from the other services' parts, re-enrolment refused, retention."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bridge_matching import jobs
from bridge_shared.contracts import privacy as contracts
from bridge_shared.events import topics
from bridge_shared.events.envelope import build_event
from bridge_shared.privacy.erased import ERASED_EMAIL, ERASED_NAME, ERASED_TEXT
from bridge_shared.scheduling.clock import FrozenClock
from tests.matching.api.support import (
    cohort_body,
    cohort_people,
    csv_of,
    person,
    read_events,
    wait_import,
    wait_run,
)
from tests.service_harness import RunningService, auth, publish_event
from tests.shared import privacy_scan
from tests.shared.events_for_tests import sealed_event

HR = auth("hr_admin", sub="hr-1")
DPO = auth("privacy_officer", sub="dpo-1")
EMEA_HR = auth("hr_regional", sub="hr-emea", regions=("EMEA", "AMER"))
SERVICE = auth("service", sub="svc")


def as_participant(emp: str) -> dict[str, str]:
    return auth("participant", sub=emp)


async def _phase(svc: RunningService, cid: str, to: str) -> None:
    r = await svc.client.post(f"/cohorts/{cid}/phase", json={"to_phase": to}, headers=HR)
    assert r.status_code == 200, r.text


async def _cohort(svc: RunningService, **over: Any) -> str:
    r = await svc.client.post("/cohorts", json=cohort_body(**over), headers=HR)
    assert r.status_code == 201, r.text
    cid: str = r.json()["id"]
    await _phase(svc, cid, "enrolling")
    return cid


async def _enrol(svc: RunningService, cid: str, body: dict[str, Any]) -> str:
    r = await svc.client.post(f"/cohorts/{cid}/participants", json=body, headers=HR)
    assert r.status_code in (200, 201), r.text
    pid: str = r.json()["id"]
    return pid


async def _scan(admin_dsn: str, schema: str, needles: list[str]) -> list[str]:
    """Every text-like column of every table of `schema` that holds one of `needles`."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        assert len(await privacy_scan.text_columns(conn, [schema])) > 40  # the scan covers the schema
        return await privacy_scan.hits(conn, needles, [schema])
    finally:
        await conn.close()


async def _keys(admin_dsn: str, pids: list[str]) -> dict[str, bytes | None]:
    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT subject, key FROM bridge_vault.subject_keys WHERE subject = ANY($1::text[])", pids
        )
    finally:
        await conn.close()
    return {r["subject"]: r["key"] for r in rows}


async def _proposals(svc: RunningService, cid: str) -> list[dict[str, Any]]:
    r = await svc.client.get(f"/cohorts/{cid}/proposals", headers=HR)
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()
    return out


async def test_erasure_removes_the_person_from_every_column_destroys_keys_and_completes(
    svc: RunningService, admin_dsn: str, bootstrap_servers: str
) -> None:
    c = svc.client
    tag = uuid.uuid4().hex[:4].upper()
    name, email = f"Zelda Quixote{tag}", f"zelda.q{tag.lower()}@corp.example"
    emp = f"Z{tag}M00"

    # --- cohort A: the person is a mentor; others request, block and report to them ---------------
    a = await _cohort(svc)
    people = cohort_people(3, prefix=f"Z{tag}")
    people[0] = {**people[0], "display_name": name, "email": email}
    people[4] = {**people[4], "requested_partners": [emp]}  # ZL01 asks for them
    people[5] = {**people[5], "blocked_partners": [emp], "manager_employee_id": emp}  # ZL02
    r = await c.post(
        f"/cohorts/{a}/imports",
        content=csv_of([*people, people[0]]),  # the duplicate row of the person: a row error naming them
        headers={**HR, "Content-Type": "text/csv"},
    )
    assert r.status_code == 202, r.text
    report = await wait_import(c, r.json()["id"], HR)
    assert report["status"] == "completed" and report["report"]["rejected"] == 1, report
    ids = {p["employee_id"]: p["id"] for p in (await c.get(f"/cohorts/{a}/participants", headers=HR)).json()}
    me_a = ids[emp]
    await _phase(svc, a, "matching")
    r = await c.post(f"/cohorts/{a}/matching-runs", params={"wait": "true"}, headers=HR)
    run = await wait_run(c, r.json()["id"], HR)
    assert run["status"] == "draft", run
    assert (await c.post(f"/matching-runs/{run['id']}/publish", headers=HR)).status_code == 200
    emp_of = {v: k for k, v in ids.items()}
    mine: dict[str, Any] | None = None
    others = []
    for prop in await _proposals(svc, a):
        if me_a in (prop["mentor_id"], prop["mentee_id"]):
            mine = prop
        else:
            others.append(prop)
    assert mine is not None and len(others) == 2, (mine, others)
    # The person accepted theirs, their partner has not answered: pending.
    r = await c.post(f"/proposals/{mine['id']}/accept", headers=as_participant(emp))
    assert r.status_code == 200, r.text
    # One pair is formed (then dissolved by HR naming the person), one proposal declined naming them.
    formed, declined = others
    for side in ("mentor_id", "mentee_id"):
        r = await c.post(f"/proposals/{formed['id']}/accept", headers=as_participant(emp_of[formed[side]]))
        assert r.status_code == 200, r.text
    r = await c.post(
        f"/proposals/{declined['id']}/decline",
        json={"reason": f"I would rather work with {name.split()[0]}"},
        headers=as_participant(emp_of[declined["mentee_id"]]),
    )
    assert r.status_code == 200, r.text
    pair_a = next(p for p in (await c.get(f"/cohorts/{a}/pairs", headers=HR)).json())
    r = await c.post(
        f"/cohorts/{a}/pairs/{pair_a['id']}/dissolve", json={"reason": f"both asked for {name}"}, headers=HR
    )
    assert r.status_code == 200, r.text

    # --- cohort B: the same person, in a pair formed by HR override (reason names them) ------------
    b = await _cohort(svc, regions=["EMEA"])
    me_b = await _enrol(svc, b, {**people[0], "capacity": 1})
    partner_b = await _enrol(svc, b, person(f"Z{tag}B01", "mentee", 10, requested_partners=[emp]))
    await _phase(svc, b, "matching")
    r = await c.post(
        f"/cohorts/{b}/pairs",
        json={"mentor_id": me_b, "mentee_id": partner_b, "reason": f"{emp} and {email} agreed"},
        headers=HR,
    )
    assert r.status_code == 201, r.text
    pair_b = r.json()["id"]

    needles = [name, email, emp]
    assert await _scan(admin_dsn, svc.settings.db_schema, needles)  # the scan finds them before

    # --- who may ask -------------------------------------------------------------------------------
    for headers in (EMEA_HR, as_participant(emp), SERVICE):
        r = await c.post("/privacy/erasures", json={"employee_id": emp}, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await c.post("/privacy/erasures", json={"employee_id": f"nobody-{tag}"}, headers=DPO)
    assert r.status_code == 404 and r.json()["title"] == "Person not found", r.text

    # --- the erasure -------------------------------------------------------------------------------
    r = await c.post("/privacy/erasures", json={"employee_id": emp}, headers=DPO)
    assert r.status_code == 202, r.text
    erasure = r.json()
    assert r.headers["location"] == f"/privacy/erasures/{erasure['id']}"
    assert erasure["status"] == "in_progress" and erasure["completed_at"] is None
    assert set(erasure["services"]) == {"matching", "sessions", "notifications", "reporting"}
    assert erasure["services"]["sessions"] is None
    counts = erasure["services"]["matching"]["erased"]
    assert counts["keys_destroyed"] == 2 and counts["participants_anonymised"] == 2
    assert counts["pairs_dissolved"] == 1 and counts["proposals_cancelled"] == 1
    assert counts["references_removed"] == 3  # ZL01, ZL02 in A; the partner in B
    assert counts["texts_redacted"] >= 5

    # No text, document, array or bytea column of the schema names them any more.
    assert await _scan(admin_dsn, svc.settings.db_schema, needles) == []

    # Their rows stay for counts, anonymised; the others no longer point at them.
    for cid, pid in ((a, me_a), (b, me_b)):
        row = (await c.get(f"/cohorts/{cid}/participants/{pid}", headers=HR)).json()
        assert row["display_name"] == ERASED_NAME and row["email"] == ERASED_EMAIL
        assert row["employee_id"] == f"erased-{pid}" and row["status"] == "withdrawn"
    zl02 = (await c.get(f"/cohorts/{a}/participants/{ids[f'Z{tag}L02']}", headers=HR)).json()
    assert zl02["manager_employee_id"] is None and zl02["blocked_partners"] == []
    pair = (await c.get(f"/cohorts/{b}/pairs/{pair_b}", headers=HR)).json()
    assert pair["status"] == "dissolved"
    assert (await c.get(f"/proposals/{mine['id']}", headers=HR)).json()["status"] == "cancelled"

    # Their keys are destroyed (tombstones stay).
    keys = await _keys(admin_dsn, [me_a, me_b])
    assert set(keys) == {me_a, me_b} and all(k is None for k in keys.values())

    # On the wire: the request (participant ids only) and the dissolution; nothing personal in plain.
    events = await read_events(
        bootstrap_servers,
        b,
        {"pair.dissolved": 1, "erasure.requested": 1},
        open_with=admin_dsn,
        extra_topics=(topics.MATCHING_PRIVACY,),
    )
    requested = [p for t, p in events if t.endswith(".erasure.requested.v1")]
    assert len(requested) == 1 and sorted(requested[0]["participant_ids"]) == sorted([me_a, me_b])
    assert sorted(requested[0]["cohort_ids"]) == sorted([a, b])
    dissolved = next(p for t, p in events if t.endswith(".pair.dissolved.v2"))
    assert dissolved["pair_id"] == pair_b and dissolved["reason"] == ERASED_TEXT
    # Every event about them, from before the erasure too, now opens as the placeholders.
    enrolled = [
        p for t, p in events if t.endswith(".participant.enrolled.v2") and p["participant_id"] == me_b
    ]
    assert enrolled and enrolled[0]["profile"]["display_name"] == ERASED_NAME
    raw = await read_events(
        bootstrap_servers, a, {"participant.enrolled": 6}, extra_topics=(topics.MATCHING_PRIVACY,)
    )
    raw += await read_events(
        bootstrap_servers, b, {"pair.dissolved": 1}, extra_topics=(topics.MATCHING_PRIVACY,)
    )
    wire = json.dumps([p for _, p in raw]).casefold()
    assert all(n.casefold() not in wire for n in needles)

    # --- idempotent: the same person again is the same erasure --------------------------------------
    r = await c.post("/privacy/erasures", json={"employee_id": emp}, headers=HR)
    assert r.status_code == 200 and r.json()["id"] == erasure["id"], r.text
    assert r.headers["location"] == f"/privacy/erasures/{erasure['id']}"

    # --- re-enrolment is refused, by hand and by import ---------------------------------------------
    cohort_c = await _cohort(svc)
    r = await c.post(f"/cohorts/{cohort_c}/participants", json=people[0], headers=HR)
    assert r.status_code == 409 and "erased on request on 2027-01-25" in r.json()["detail"], r.text
    # Employee ids compare case-insensitively: the same person spelt in the other case is refused too.
    respelt = {**people[0], "employee_id": people[0]["employee_id"].swapcase()}
    r = await c.post(f"/cohorts/{cohort_c}/participants", json=respelt, headers=HR)
    assert r.status_code == 409 and "erased on request on 2027-01-25" in r.json()["detail"], r.text
    r = await c.post("/privacy/erasures", json={"employee_id": emp.swapcase()}, headers=HR)
    assert r.status_code == 200 and r.json()["id"] == erasure["id"], r.text
    r = await c.post(
        f"/cohorts/{cohort_c}/imports",
        content=csv_of([people[0], people[1]]),
        headers={**HR, "Content-Type": "text/csv"},
    )
    job = await wait_import(c, r.json()["id"], HR)
    assert job["report"]["accepted"] == 1 and job["report"]["rejected"] == 1, job
    [error] = job["report"]["errors"]
    assert "erased on request on 2027-01-25" in error["message"] and error["employee_id"] is None
    assert await _scan(admin_dsn, svc.settings.db_schema, needles) == []

    # --- the three answers complete it ---------------------------------------------------------------
    for reader in (SERVICE, HR):
        r = await c.get(f"/privacy/erasures/{erasure['id']}", headers=reader)
        assert r.status_code == 200 and r.json()["status"] == "in_progress", r.text
    assert (await c.get(f"/privacy/erasures/{erasure['id']}", headers=EMEA_HR)).status_code == 403
    assert (await c.get(f"/privacy/erasures/{uuid.uuid4()}", headers=DPO)).status_code == 404
    now = datetime(2027, 1, 25, 9, 5, tzinfo=UTC)
    answers = [
        (contracts.SessionsErasureCompletedV1, "sessions", {"relationships": 1}),
        (contracts.NotificationsErasureCompletedV1, "notifications", {"recipients": 2}),
        (contracts.ReportingErasureCompletedV1, "reporting", {"participants": 2}),
    ]
    for i, (model, service, erased) in enumerate(answers):
        evt = build_event(
            model(erasure_id=erasure["id"], completed_at=now, erased=erased), source=f"/bridge/{service}"
        )
        await publish_event(svc, evt)
        if i == 0:
            await publish_event(svc, evt)  # a redelivery changes nothing
    status = await _eventually(c, f"/privacy/erasures/{erasure['id']}", lambda b: b["status"] == "completed")
    assert status["services"]["sessions"]["erased"] == {"relationships": 1}
    assert status["services"]["reporting"]["erased"] == {"participants": 2}
    assert status["completed_at"] is not None
    listed = (await c.get("/privacy/erasures", headers=DPO)).json()
    assert erasure["id"] in {e["id"] for e in listed}


async def _eventually(
    c: Any, path: str, done: Any, headers: dict[str, str] = DPO, timeout: float = 30.0
) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            r = await c.get(path, headers=headers)
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            if done(body):
                return body
            await asyncio.sleep(0.2)


async def test_export_is_assembled_from_every_service_and_deleted_by_erasure(
    svc: RunningService, admin_dsn: str
) -> None:
    c = svc.client
    tag = uuid.uuid4().hex[:4].upper()
    cid = await _cohort(svc)
    mentor = person(f"Y{tag}M", "mentor", 2, display_name="Yusuf <b>Bold</b>")
    mentee = person(f"Y{tag}L", "mentee", 10)
    me = await _enrol(svc, cid, mentor)
    partner = await _enrol(svc, cid, mentee)
    await _phase(svc, cid, "matching")
    r = await c.post(
        f"/cohorts/{cid}/pairs", json={"mentor_id": me, "mentee_id": partner, "reason": "agreed"}, headers=HR
    )
    assert r.status_code == 201, r.text

    # Who may ask for whom.
    for headers in (EMEA_HR, SERVICE, as_participant(mentor["employee_id"])):
        r = await c.post("/privacy/exports", json={"employee_id": mentor["employee_id"]}, headers=headers)
        assert r.status_code == 403, r.text
    assert (await c.post("/me/privacy/exports", headers=HR)).status_code == 403
    r = await c.post("/privacy/exports", json={"employee_id": f"nobody-{tag}"}, headers=DPO)
    assert r.status_code == 404

    r = await c.post("/privacy/exports", json={"employee_id": mentor["employee_id"]}, headers=DPO)
    assert r.status_code == 202, r.text
    export_id = r.json()["id"]
    assert r.headers["location"] == f"/privacy/exports/{export_id}"
    r = await c.get(f"/privacy/exports/{export_id}", headers=HR)
    assert r.json() == {"export_id": export_id, "status": "pending", "answered": ["matching"]}
    assert (await c.get(f"/privacy/exports/{export_id}/summary", headers=HR)).status_code == 409

    # The parts, sealed under the person's keys as each service's outbox writes them.
    parts = [
        (
            contracts.SessionsExportPartV1,
            1,
            2,
            {"service": "sessions", "sessions": [{"n": 1}], "summary": ["2 sessions"]},
        ),
        (contracts.SessionsExportPartV1, 2, 2, {"sessions": [{"n": 2}]}),
        (
            contracts.NotificationsExportPartV1,
            1,
            1,
            {"service": "notifications", "summary": ["<script>x</script>"]},
        ),
        (contracts.ReportingExportPartV1, 1, 1, {"service": "reporting", "summary": ["counted in 1 cohort"]}),
    ]
    for model, chunk, chunks, data in parts:
        payload = model(export_id=export_id, participant_ids=[me], chunk=chunk, chunks=chunks, data=data)
        service = model.model_fields["service"].default
        evt = await sealed_event(payload, source=f"/bridge/{service}", dsn=admin_dsn)
        assert b"2 sessions" not in evt.value and b"<script>" not in evt.value  # sealed on the wire
        await publish_event(svc, evt)
        if chunk == 1 and chunks == 2:  # one part alone leaves sessions unanswered
            await asyncio.sleep(0.5)
    doc = await _eventually(c, f"/privacy/exports/{export_id}", lambda b: b["status"] == "complete")
    assert doc["export_id"] == export_id and doc["generated_at"]
    assert doc["person"]["employee_id"] == mentor["employee_id"] and doc["person"]["participant_ids"] == [me]
    assert set(doc["services"]) == {"matching", "sessions", "notifications", "reporting"}
    assert doc["services"]["sessions"]["sessions"] == [{"n": 1}, {"n": 2}]  # the two parts joined
    section = doc["services"]["matching"]
    assert section["service"] == "matching" and section["summary"]
    assert [e["id"] for e in section["enrolments"]] == [me]
    assert section["pairs"][0]["partner_name"] == mentee["display_name"]
    assert section["pairs"][0]["my_role"] == "mentor"
    assert any(e["action"] == "pair.create" for e in section["audit_entries"])
    assert "email" not in json.dumps(section["pairs"])  # the partner's e-mail is not theirs to see

    r = await c.get(f"/privacy/exports/{export_id}/summary", headers=DPO)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "&lt;script&gt;" in r.text and "<script>" not in r.text
    assert "Yusuf &lt;b&gt;Bold&lt;/b&gt;" in r.text and "2 sessions" in r.text

    # The person themself.
    r = await c.post("/me/privacy/exports", headers=as_participant(mentor["employee_id"]))
    assert r.status_code == 202, r.text
    mine = r.json()["id"]
    assert r.headers["location"] == f"/me/privacy/exports/{mine}"
    r = await c.get(f"/me/privacy/exports/{mine}", headers=as_participant(mentor["employee_id"]))
    assert r.status_code == 200 and r.json()["status"] == "pending"
    r = await c.get(f"/me/privacy/exports/{mine}/summary", headers=as_participant(mentor["employee_id"]))
    assert r.status_code == 409
    # Someone else's export is not there for another participant; HR reads it under /privacy.
    assert (
        await c.get(f"/me/privacy/exports/{mine}", headers=as_participant(mentee["employee_id"]))
    ).status_code == 404
    assert (
        await c.get(f"/me/privacy/exports/{export_id}", headers=as_participant(mentee["employee_id"]))
    ).status_code == 404
    assert (
        await c.get(f"/privacy/exports/{mine}", headers=as_participant(mentor["employee_id"]))
    ).status_code == 403
    assert (await c.get(f"/privacy/exports/{mine}", headers=SERVICE)).status_code == 403
    assert (await c.get(f"/me/privacy/exports/{mine}", headers=HR)).status_code == 403

    # Exports are personal data: the person's erasure deletes them.
    r = await c.post("/privacy/erasures", json={"employee_id": mentor["employee_id"]}, headers=HR)
    assert r.status_code == 202, r.text
    for eid in (export_id, mine):
        assert (await c.get(f"/privacy/exports/{eid}", headers=DPO)).status_code == 404
    r = await c.post("/me/privacy/exports", headers=as_participant(mentor["employee_id"]))
    assert r.status_code == 404 and "erased on request" in r.json()["detail"]


async def test_a_run_that_read_an_erased_person_fails_instead_of_storing_them(
    svc: RunningService, admin_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A matching run solves from a snapshot taken before the erasure: its draft (explanations naming
    the person) must not be stored after it."""
    from bridge_matching.domain import matching

    c = svc.client
    tag = uuid.uuid4().hex[:4].upper()
    cid = await _cohort(svc)
    people = cohort_people(2, prefix=f"R{tag}")
    for p in people:
        await _enrol(svc, cid, p)
    await _phase(svc, cid, "matching")
    solving, release = threading.Event(), threading.Event()
    real_solve = matching.solve

    def slow_solve(*args: Any, **kwargs: Any) -> Any:
        solving.set()
        release.wait(30)
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(matching, "solve", slow_solve)
    r = await c.post(f"/cohorts/{cid}/matching-runs", headers=HR)
    assert r.status_code == 202, r.text
    assert await asyncio.to_thread(solving.wait, 30)
    r = await c.post("/privacy/erasures", json={"employee_id": people[0]["employee_id"]}, headers=DPO)
    assert r.status_code == 202, r.text
    release.set()
    [listed] = (await c.get(f"/cohorts/{cid}/matching-runs", headers=HR)).json()
    run = await wait_run(c, listed["id"], HR)
    assert run["status"] == "failed" and "erased on request" in run["error"], run
    needles = [people[0]["display_name"], people[0]["email"], people[0]["employee_id"]]
    assert await _scan(admin_dsn, svc.settings.db_schema, needles) == []


async def test_retention_deletes_and_anonymises_old_data(
    svc: RunningService, clock: FrozenClock, admin_dsn: str
) -> None:
    """Runs last in this module: it moves the module's clock forward (and back)."""
    c = svc.client
    tag = uuid.uuid4().hex[:4].upper()
    cid = await _cohort(svc)
    leaver = person(f"W{tag}M", "mentor", 2, display_name=f"Wanda Leaver{tag}")
    stayer = person(f"W{tag}L", "mentee", 10, requested_partners=[leaver["employee_id"]])
    r = await c.post(
        f"/cohorts/{cid}/imports",
        content=csv_of([leaver, stayer, leaver]),
        headers={**HR, "Content-Type": "text/csv"},
    )
    job = await wait_import(c, r.json()["id"], HR)
    assert job["report"]["rejected"] == 1
    ids = {
        p["employee_id"]: p["id"] for p in (await c.get(f"/cohorts/{cid}/participants", headers=HR)).json()
    }
    await _phase(svc, cid, "matching")
    r = await c.post(
        f"/cohorts/{cid}/pairs",
        json={
            "mentor_id": ids[leaver["employee_id"]],
            "mentee_id": ids[stayer["employee_id"]],
            "reason": "agreed by both",
        },
        headers=HR,
    )
    assert r.status_code == 201, r.text
    r = await c.post(
        f"/cohorts/{cid}/participants/{ids[leaver['employee_id']]}/withdraw",
        json={"reason": "moving to a new job"},
        headers=as_participant(leaver["employee_id"]),
    )
    assert r.status_code == 200, r.text
    export = await c.post("/privacy/exports", json={"employee_id": stayer["employee_id"]}, headers=DPO)
    assert export.status_code == 202

    start = clock.now()
    try:
        # Nothing is old yet.
        counts = await jobs.retention_once(svc.runtime)
        assert counts["withdrawn_anonymised"] == 0 and counts["exports_deleted"] == 0
        clock.advance(timedelta(days=31))  # exports (30 days)
        counts = await jobs.retention_once(svc.runtime)
        assert counts["exports_deleted"] >= 1 and counts["import_reports_cleared"] == 0
        assert (await c.get(f"/privacy/exports/{export.json()['id']}", headers=DPO)).status_code == 404
        clock.advance(timedelta(days=60))  # import reports (90 days)
        counts = await jobs.retention_once(svc.runtime)
        assert counts["import_reports_cleared"] >= 1 and counts["withdrawn_anonymised"] == 0
        job = (await c.get(f"/imports/{job['id']}", headers=HR)).json()
        assert job["report"] is None and job["status"] == "completed"
        clock.advance(timedelta(days=280))  # withdrawn participants (365 days)
        counts = await jobs.retention_once(svc.runtime)
        assert counts["withdrawn_anonymised"] >= 1 and counts["audit_entries_deleted"] == 0
        gone = (await c.get(f"/cohorts/{cid}/participants/{ids[leaver['employee_id']]}", headers=HR)).json()
        assert gone["display_name"] == ERASED_NAME and gone["withdrawn_reason"] is None
        kept = (await c.get(f"/cohorts/{cid}/participants/{ids[stayer['employee_id']]}", headers=HR)).json()
        assert kept["requested_partners"] == [] and kept["display_name"] == stayer["display_name"]
        needles = [leaver["display_name"], leaver["email"], leaver["employee_id"]]
        assert await _scan(admin_dsn, svc.settings.db_schema, needles) == []
        assert len((await c.get(f"/cohorts/{cid}/audit", headers=HR)).json()) >= 1
        clock.advance(timedelta(days=400))  # audit entries (730 days)
        counts = await jobs.retention_once(svc.runtime)
        assert counts["audit_entries_deleted"] >= 1
        assert (await c.get(f"/cohorts/{cid}/audit", headers=HR)).json() == []
        again = await jobs.retention_once(svc.runtime)  # idempotent: nothing left to do
        assert again["withdrawn_anonymised"] == 0 and again["audit_entries_deleted"] == 0
    finally:
        clock.set(start)
