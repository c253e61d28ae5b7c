"""Issue 19: the company directory's core (app/directory.py) against real PostgreSQL: joiners, movers
(fields HR owns flow into live enrolments; a pair that now breaks the management-chain rule is flagged,
never dissolved), leavers (deactivated, deleted, past the termination date), idempotent writes,
uniqueness and lookups. Events are read from the service's outbox, written in the write's transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bridge_matching import jobs
from bridge_matching.app import directory
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.domain.directory import DirectoryRecord, Source
from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.db.connection import connection, transaction
from bridge_shared.scheduling.clock import FrozenClock
from tests.matching.api.support import cohort_body, person
from tests.service_harness import RunningService, auth, running_service

HR = auth("hr_admin", sub="hr-directory")
START = datetime(2027, 1, 25, 9, 0, tzinfo=UTC)


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
        expiry_interval_seconds=0,
        directory_leavers_interval_seconds=0,  # the pass runs only when a test calls it
        outbox_idle_poll_seconds=0.5,
    ) as running:
        yield running


def rt_of(svc: RunningService) -> MatchingRuntime:
    runtime: MatchingRuntime = svc.runtime
    return runtime


def tag() -> str:
    return uuid.uuid4().hex[:6].upper()


def record_of(p: dict[str, Any], **over: Any) -> DirectoryRecord:
    """The directory's record of an enrolled person (`person(...)`), as enrolled unless `over` says."""
    fields = {
        "employee_id": p["employee_id"],
        "display_name": p["display_name"],
        "email": p["email"],
        "department": p["department"],
        "manager_employee_id": p.get("manager_employee_id"),
        "region": p["region"],
        "seniority_level": p["seniority_level"],
    }
    return DirectoryRecord.model_validate({**fields, **over})


def record(emp: str, **over: Any) -> DirectoryRecord:
    base = {"employee_id": emp, "display_name": f"Person {emp}", "email": f"{emp.lower()}@corp.example"}
    return DirectoryRecord.model_validate({**base, **over})


async def write(svc: RunningService, rec: DirectoryRecord, source: Source = "scim") -> directory.Written:
    rt = rt_of(svc)
    async with transaction(rt.pool) as conn:
        return await directory.write_in(rt, conn, rec, source=source, now=rt.clock.now())


async def outbox_mark(svc: RunningService) -> int:
    async with connection(rt_of(svc).pool) as conn:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


async def events_since(svc: RunningService, mark: int) -> list[tuple[str, dict[str, Any]]]:
    """(type without `com.bridge.matching.`, payload as stored) written after `mark`, in order."""
    async with connection(rt_of(svc).pool) as conn:
        rows = await conn.fetch("SELECT event_type, payload FROM outbox WHERE id > $1 ORDER BY id", mark)
    return [(r["event_type"].removeprefix("com.bridge.matching."), json.loads(r["payload"])) for r in rows]


def of(events: list[tuple[str, dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    return [p for t, p in events if t.rsplit(".", 1)[0] == kind]


async def cohort(
    svc: RunningService, people: list[dict[str, Any]], **policy: Any
) -> tuple[str, dict[str, str]]:
    """A cohort in matching with `people` enrolled: (cohort id, employee id -> participant id)."""
    c = svc.client
    body = cohort_body()
    body["policy"] = {**body["policy"], **policy}
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


async def override(svc: RunningService, cid: str, mentor: str, mentee: str) -> dict[str, Any]:
    body = {"mentor_id": mentor, "mentee_id": mentee, "reason": "set up for the test"}
    r = await svc.client.post(f"/cohorts/{cid}/pairs", json=body, headers=HR)
    assert r.status_code == 201, r.text
    pair: dict[str, Any] = r.json()
    return pair


async def participant(svc: RunningService, cid: str, pid: str) -> dict[str, Any]:
    r = await svc.client.get(f"/cohorts/{cid}/participants/{pid}", headers=HR)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_joiner_is_stored_as_written_and_announced_once(svc: RunningService) -> None:
    t = tag()
    rec = record(
        f"J{t}",
        user_name=f"j{t}@corp.example",
        external_id=f"idp-{t}",
        department="Sales",
        region="EMEA",
        title="Analyst",
        start_date=date(2027, 2, 1),
        locale="de",
        timezone="Europe/Berlin",
    )
    mark = await outbox_mark(svc)
    written = await write(svc, rec)
    assert written.created and written.change.joined and written.entry.version == 1
    assert written.entry.record == rec and written.entry.source == "scim" and written.entry.left_at is None
    joined = of(await events_since(svc, mark), "person.joined")
    assert joined == [
        {
            "person_id": str(written.entry.id),
            "department": "Sales",
            "region": "EMEA",
            "start_date": "2027-02-01",
            "source": "scim",
            "joined_at": "2027-01-25T09:00:00Z",
        }
    ]
    got = await directory.get(rt_of(svc), written.entry.id)
    assert got.record == rec and got.version == 1  # the record round-trips exactly

    # The same record again: nothing changes, nothing is sent.
    mark = await outbox_mark(svc)
    again = await write(svc, rec, source="hris_file")
    assert not again.created and again.change == directory.Change(joined=False, moved=(), left=None)
    assert again.entry.version == 1 and again.entry.source == "scim"
    assert await events_since(svc, mark) == []


async def test_a_mover_updates_every_live_enrolment(svc: RunningService) -> None:
    t = tag()
    me = person(f"MV{t}", "mentee", 9)
    other = person(f"MO{t}", "mentor", 2)
    cid, ids = await cohort(svc, [me, other])
    cid2, ids2 = await cohort(svc, [me])
    pid, pid2 = ids[me["employee_id"]], ids2[me["employee_id"]]
    mark = await outbox_mark(svc)
    created = await write(svc, record_of(me, title="Analyst"), source="hris_file")
    # Known as enrolled: no enrolment changes.
    assert [t for t, _ in await events_since(svc, mark)] == ["person.joined.v1"]

    mark = await outbox_mark(svc)
    moved = await write(svc, record_of(me, title="Analyst", department="Sales", display_name="Pat Doe"))
    assert moved.change.moved == ("department", "name") and moved.entry.version == 2
    events = await events_since(svc, mark)
    assert sorted(p["participant_id"] for p in of(events, "participant.updated")) == sorted([pid, pid2])
    assert [t for t, _ in events][-1] == "person.moved.v1"  # after the enrolments it names
    [person_moved] = of(events, "person.moved")
    assert person_moved["person_id"] == str(created.entry.id)
    assert person_moved["changed"] == ["department", "name"]
    assert (person_moved["department"], person_moved["previous_department"]) == ("Sales", "Finance")
    assert sorted(person_moved["participant_ids"]) == sorted([pid, pid2])
    assert person_moved["source"] == "scim" and person_moved["region"] == "EMEA"
    for c, p in ((cid, pid), (cid2, pid2)):
        row = await participant(svc, c, p)
        assert (row["department"], row["display_name"]) == ("Sales", "Pat Doe")
        assert row["languages"] == ["en"] and row["role"] == "mentee"  # the participant's own stay theirs
    assert (await participant(svc, cid, ids[other["employee_id"]]))["department"] == "Engineering"

    # A field that does not flow: a new version and person.moved, no enrolment touched.
    mark = await outbox_mark(svc)
    titled = await write(svc, record_of(me, title="Lead", department="Sales", display_name="Pat Doe"))
    assert titled.entry.version == 3
    events = await events_since(svc, mark)
    assert [t for t, _ in events] == ["person.moved.v1"] and events[0][1]["changed"] == ["title"]

    # Seniority flows although person.moved does not name it.
    mark = await outbox_mark(svc)
    senior = record_of(me, title="Lead", department="Sales", display_name="Pat Doe", seniority_level=10)
    await write(svc, senior)
    events = await events_since(svc, mark)
    assert [t for t, _ in events] == ["participant.updated.v2", "participant.updated.v2"]
    assert (await participant(svc, cid, pid))["seniority_level"] == 10

    # A withdrawn enrolment is not live: it keeps what it had.
    r = await svc.client.post(f"/cohorts/{cid2}/participants/{pid2}/withdraw", json={}, headers=HR)
    assert r.status_code == 200
    mark = await outbox_mark(svc)
    await write(svc, senior.model_copy(update={"department": "Legal"}))
    events = await events_since(svc, mark)
    assert [p["participant_id"] for p in of(events, "participant.updated")] == [pid]
    assert (await participant(svc, cid2, pid2))["department"] == "Sales"


async def test_enrolments_made_before_the_directory_knew_the_person_take_its_fields(
    svc: RunningService,
) -> None:
    t = tag()
    me = person(f"PB{t}", "mentee", 9)
    cid, ids = await cohort(svc, [me])
    mark = await outbox_mark(svc)
    await write(svc, record_of(me, department="Legal", email=f"new.{t.lower()}@corp.example"))
    events = await events_since(svc, mark)
    assert [t for t, _ in events] == ["person.joined.v1", "participant.updated.v2"]
    row = await participant(svc, cid, ids[me["employee_id"]])
    assert (row["department"], row["email"]) == ("Legal", f"new.{t.lower()}@corp.example")


async def test_a_move_that_breaks_the_management_chain_flags_the_pair_once_and_keeps_it(
    svc: RunningService,
) -> None:
    t = tag()
    mentor, mentee = person(f"CM{t}", "mentor", 2), person(f"CL{t}", "mentee", 9)
    mentor2, mentee2 = person(f"CN{t}", "mentor", 2), person(f"CK{t}", "mentee", 9, manager=f"CY{t}")
    cid, ids = await cohort(svc, [mentor, mentee, mentor2, mentee2], management_exclusion_depth=2)
    pair = await override(svc, cid, ids[mentor["employee_id"]], ids[mentee["employee_id"]])
    pair2 = await override(svc, cid, ids[mentor2["employee_id"]], ids[mentee2["employee_id"]])
    # The directory: X reports to the mentor; Y (the second mentee's manager) to nobody yet.
    for rec in (
        record_of(mentor),
        record_of(mentee),
        record(f"CX{t}", manager_employee_id=mentor["employee_id"].lower()),
        record_of(mentor2),
        record_of(mentee2),
        record(f"CY{t}", region="EMEA"),
        record(f"CZ{t}"),
    ):
        await write(svc, rec)

    # The mentee now reports to X, who reports to the mentor: the mentor is 2 levels above.
    mark = await outbox_mark(svc)
    moved = await write(svc, record_of(mentee, manager_employee_id=f"CX{t}"))
    events = await events_since(svc, mark)
    assert [t for t, _ in events] == ["participant.updated.v2", "person.moved.v1", "pair.flagged.v1"]
    [flag] = of(events, "pair.flagged")
    assert flag["pair_id"] == pair["id"] and flag["cohort_id"] == cid
    assert (flag["mentor_id"], flag["mentee_id"]) == (pair["mentor_id"], pair["mentee_id"])
    assert flag["moved_person_id"] == str(moved.entry.id) and flag["rule"] == "management_chain"
    assert flag["hr_contact_email"] == "hr@corp.example"
    assert "the mentor is now 2 levels above the mentee" in flag["reason"]
    assert t not in flag["reason"] and "Person" not in flag["reason"]  # names no one
    r = await svc.client.get(f"/cohorts/{cid}/pairs/{pair['id']}", headers=HR)
    assert r.json()["status"] == "formed"  # flagged to HR, not dissolved
    audit = (await svc.client.get(f"/cohorts/{cid}/audit", headers=HR)).json()
    flags = [a for a in audit if a["action"] == "pair.flag"]
    assert len(flags) == 1 and flags[0]["actor"] == "directory:scim"
    assert flags[0]["details"]["pair_id"] == pair["id"]

    # The same state again (away and back, or a change elsewhere): not flagged a second time.
    mark = await outbox_mark(svc)
    await write(svc, record_of(mentee, manager_employee_id=f"CX{t}", title="Analyst"))
    await write(svc, record_of(mentee, manager_employee_id=f"CZ{t}", title="Analyst"))
    await write(svc, record_of(mentee, manager_employee_id=f"CX{t}", title="Analyst"))
    assert of(await events_since(svc, mark), "pair.flagged") == []

    # Someone who is in no pair moves: Y, the second mentee's manager, now reports to its mentor.
    mark = await outbox_mark(svc)
    y = await write(svc, record(f"CY{t}", region="EMEA", manager_employee_id=mentor2["employee_id"]))
    [flag2] = of(await events_since(svc, mark), "pair.flagged")
    assert flag2["pair_id"] == pair2["id"] and flag2["moved_person_id"] == str(y.entry.id)
    assert "the mentor is now 2 levels above the mentee" in flag2["reason"]
    listed = {
        p["id"]: p["status"] for p in (await svc.client.get(f"/cohorts/{cid}/pairs", headers=HR)).json()
    }
    assert listed == {pair["id"]: "formed", pair2["id"]: "formed"}


async def test_no_flag_when_the_cohort_excludes_fewer_levels(svc: RunningService) -> None:
    t = tag()
    mentor, mentee = person(f"DM{t}", "mentor", 2), person(f"DL{t}", "mentee", 9)
    cid, ids = await cohort(svc, [mentor, mentee], management_exclusion_depth=1)
    await override(svc, cid, ids[mentor["employee_id"]], ids[mentee["employee_id"]])
    await write(svc, record(f"DX{t}", manager_employee_id=mentor["employee_id"]))
    await write(svc, record_of(mentee))
    mark = await outbox_mark(svc)
    await write(svc, record_of(mentee, manager_employee_id=f"DX{t}"))  # 2 levels: allowed at depth 1
    assert of(await events_since(svc, mark), "pair.flagged") == []
    await write(svc, record_of(mentee, manager_employee_id=mentor["employee_id"]))  # 1 level: not
    assert len(of(await events_since(svc, mark), "pair.flagged")) == 1


async def test_a_leaver_is_withdrawn_everywhere_and_their_pairs_and_proposals_end(
    svc: RunningService,
) -> None:
    t = tag()
    leaver = person(f"LV{t}", "mentor", 2, capacity=2)
    partner, requester = person(f"LP{t}", "mentee", 9), person(f"LR{t}", "mentee", 9)
    cid, ids = await cohort(svc, [leaver, partner, requester], max_mentees_per_mentor=2)
    lid = ids[leaver["employee_id"]]
    pair = await override(svc, cid, lid, ids[partner["employee_id"]])
    r = await svc.client.post(
        f"/cohorts/{cid}/participants/{ids[requester['employee_id']]}/requests",
        json={"partner_id": lid},
        headers=auth("participant", sub=requester["employee_id"]),
    )
    assert r.status_code == 201, r.text
    proposal = r.json()
    entry = (await write(svc, record_of(leaver))).entry

    mark = await outbox_mark(svc)
    left = await write(svc, record_of(leaver, active=False))
    assert left.change.left == "deactivated" and not left.change.moved
    assert left.entry.left_cause == "deactivated" and left.entry.left_at == START
    events = await events_since(svc, mark)
    assert [t for t, _ in events] == [
        "participant.withdrawn.v2",
        "match.cancelled.v1",
        "pair.dissolved.v2",
        "person.left.v1",
    ]
    [cancelled] = of(events, "match.cancelled")
    assert cancelled["proposal_id"] == proposal["id"] and cancelled["left_participant_id"] == lid
    [dissolved] = of(events, "pair.dissolved")
    assert dissolved["pair_id"] == pair["id"] and dissolved["left_participant_id"] == lid
    [gone] = of(events, "person.left")
    assert gone == {
        "person_id": str(entry.id),
        "participant_ids": [lid],
        "cause": "deactivated",
        "left_on": "2027-01-25",
        "source": "scim",
        "left_at": "2027-01-25T09:00:00Z",
    }
    row = await participant(svc, cid, lid)
    assert row["status"] == "withdrawn" and row["withdrawn_reason"] == "left the company"
    r = await svc.client.get(f"/cohorts/{cid}/pairs/{pair['id']}", headers=HR)
    assert r.json()["status"] == "dissolved" and r.json()["dissolved_reason"] == "left the company"
    r = await svc.client.get(f"/proposals/{proposal['id']}", headers=HR)
    assert r.json()["status"] == "cancelled"
    audit = (await svc.client.get(f"/cohorts/{cid}/audit", headers=HR)).json()
    assert [a["details"]["participant_id"] for a in audit if a["action"] == "participant.left"] == [lid]

    # The entry stays for HR, as a leaver; writing it again changes nothing more.
    kept = await directory.get(rt_of(svc), entry.id)
    assert kept.left_cause == "deactivated" and kept.record.active is False
    mark = await outbox_mark(svc)
    await write(svc, record_of(leaver, active=False))
    assert await events_since(svc, mark) == []
    # A leaver cannot be enrolled again (from the directory's word).
    r = await svc.client.post(f"/cohorts/{cid}/participants", json=leaver, headers=HR)
    assert r.status_code == 409 and r.json()["title"] in ("Person left", "Enrolment closed")


async def test_a_deleted_person_leaves_and_is_gone(svc: RunningService) -> None:
    t = tag()
    me = person(f"DE{t}", "mentee", 9)
    cid, ids = await cohort(svc, [me])
    entry = (await write(svc, record_of(me, user_name=f"de{t}"))).entry
    rt = rt_of(svc)
    mark = await outbox_mark(svc)
    await directory.delete(rt, entry.id, source="scim")
    [gone] = of(await events_since(svc, mark), "person.left")
    assert gone["cause"] == "deleted" and gone["participant_ids"] == [ids[me["employee_id"]]]
    assert (await participant(svc, cid, ids[me["employee_id"]]))["status"] == "withdrawn"
    with pytest.raises(directory.DirectoryNotFound):
        await directory.get(rt, entry.id)
    with pytest.raises(directory.DirectoryNotFound):
        await directory.delete(rt, entry.id, source="scim")
    assert await directory.find(rt, employee_id=me["employee_id"]) == (0, [])
    # Its ids are free again: the same person provisioned again is a new entry, and a joiner.
    mark = await outbox_mark(svc)
    again = await directory.create(rt, record_of(me, user_name=f"DE{t}"), source="scim")
    assert again.id != entry.id and again.version == 1
    assert len(of(await events_since(svc, mark), "person.joined")) == 1

    # Deleting someone who had already left sends nothing more.
    left = await directory.replace(rt, again.id, record_of(me, active=False), source="scim")
    assert left.left_cause == "deactivated"
    mark = await outbox_mark(svc)
    await directory.delete(rt, again.id, source="scim")
    assert await events_since(svc, mark) == []


async def test_a_termination_date_that_passes_makes_the_person_leave_without_a_write(
    svc: RunningService, clock: FrozenClock
) -> None:
    t = tag()
    me = person(f"TD{t}", "mentee", 9)
    cid, ids = await cohort(svc, [me])
    entry = (await write(svc, record_of(me, termination_date=date(2027, 1, 28)), source="hris_file")).entry
    assert entry.left_at is None
    rt = rt_of(svc)
    assert await directory.leave_due(rt, clock.now().date()) == 0
    assert await jobs.leavers_once(rt) == 0
    try:
        clock.advance(timedelta(days=3))  # 2027-01-28 09:00: the day has come
        mark = await outbox_mark(svc)
        assert await jobs.leavers_once(rt) == 1
        events = await events_since(svc, mark)
        [gone] = of(events, "person.left")
        assert gone["cause"] == "terminated" and gone["source"] == "scheduler"
        assert gone["left_on"] == "2027-01-28" and gone["participant_ids"] == [ids[me["employee_id"]]]
        assert (await participant(svc, cid, ids[me["employee_id"]]))["withdrawn_reason"] == "left the company"
        got = await directory.get(rt, entry.id)
        assert got.left_cause == "terminated" and got.version == entry.version + 1
        assert got.source == "scheduler" and got.record == entry.record
        # Once: the next pass finds nobody.
        assert await jobs.leavers_once(rt) == 0
        assert await directory.leave_due(rt, clock.now().date()) == 0
    finally:
        clock.set(START)


async def test_a_termination_date_already_past_when_written_is_a_leaver(svc: RunningService) -> None:
    t = tag()
    me = person(f"TP{t}", "mentee", 9)
    await cohort(svc, [me])
    await write(svc, record_of(me))
    mark = await outbox_mark(svc)
    written = await write(svc, record_of(me, termination_date=date(2027, 1, 20)), source="hris_file")
    assert written.change.left == "terminated"
    [gone] = of(await events_since(svc, mark), "person.left")
    assert gone["left_on"] == "2027-01-20" and gone["source"] == "hris_file"
    # A new entry for someone already gone: stored as a leaver; their enrolments end too.
    other = person(f"TQ{t}", "mentee", 9)
    cid2, ids2 = await cohort(svc, [other])
    mark = await outbox_mark(svc)
    new = await write(svc, record_of(other, active=False))
    assert new.created and new.entry.left_cause == "deactivated" and not new.change.joined
    events = await events_since(svc, mark)
    assert of(events, "person.joined") == [] and len(of(events, "person.left")) == 1
    assert (await participant(svc, cid2, ids2[other["employee_id"]]))["status"] == "withdrawn"
    # Nobody enrolled: stored, nothing sent.
    mark = await outbox_mark(svc)
    quiet = await write(svc, record(f"TR{t}", active=False))
    assert quiet.entry.left_cause == "deactivated" and await events_since(svc, mark) == []
    # Rehired: a joiner again.
    mark = await outbox_mark(svc)
    back = await write(svc, record(f"TR{t}"))
    assert back.change.joined and back.entry.left_at is None and back.entry.version == 2
    assert len(of(await events_since(svc, mark), "person.joined")) == 1


async def test_uniqueness_versions_and_missing_entries(svc: RunningService) -> None:
    t = tag()
    rt = rt_of(svc)
    a = await directory.create(rt, record(f"UA{t}", user_name=f"ua{t}", external_id=f"x-{t}"), source="scim")
    with pytest.raises(directory.DirectoryConflict) as e:
        await directory.create(rt, record(f"ua{t}"), source="scim")
    assert e.value.field == "employee_id"
    with pytest.raises(directory.DirectoryConflict) as e:
        await directory.create(rt, record(f"UB{t}", user_name=f"UA{t}"), source="scim")
    assert e.value.field == "user_name"
    with pytest.raises(directory.DirectoryConflict) as e:
        await directory.create(rt, record(f"UB{t}", external_id=f"x-{t}"), source="scim")
    assert e.value.field == "external_id"
    b = await directory.create(rt, record(f"UB{t}", external_id=f"X-{t}"), source="scim")  # exact: another id
    with pytest.raises(directory.DirectoryConflict) as e:
        await write(svc, record(f"UB{t}", external_id=f"X-{t}", user_name=f"UA{t}"))
    assert e.value.field == "user_name"
    with pytest.raises(directory.DirectoryConflict) as e:
        await directory.replace(rt, b.id, record(f"UA{t}"), source="scim")
    assert e.value.field == "employee_id"

    with pytest.raises(directory.VersionMismatch):
        await directory.replace(rt, a.id, record(f"UA{t}", title="x"), source="scim", if_version=2)
    replaced = await directory.replace(
        rt, a.id, record(f"UA{t}", user_name=f"ua{t}", title="x"), source="hris_file", if_version=1
    )
    assert replaced.version == 2 and replaced.source == "hris_file" and replaced.record.title == "x"
    # Replacing with the same record changes nothing (the version stays).
    same = await directory.replace(rt, a.id, replaced.record, source="scim", if_version=2)
    assert same.version == 2 and same.source == "hris_file"
    with pytest.raises(directory.DirectoryNotFound):
        await directory.replace(rt, uuid.uuid4(), record(f"UC{t}"), source="scim")
    with pytest.raises(directory.DirectoryNotFound):
        await directory.get(rt, uuid.uuid4())
    # A record naming the person as their own manager is refused before anything is stored.
    with pytest.raises(ValueError, match="themself"):
        record(f"UD{t}", manager_employee_id=f"ud{t}")


async def test_find_filters_and_pages(svc: RunningService) -> None:
    t = tag()
    rt = rt_of(svc)
    made = [
        await directory.create(
            rt, record(f"F{i}{t}", user_name=f"F{i}{t}@corp", external_id=f"f{i}-{t}"), source="scim"
        )
        for i in range(5)
    ]
    assert await directory.find(rt, employee_id=f"f2{t}".lower()) == (1, [made[2]])
    assert await directory.find(rt, user_name=f"f3{t}@CORP".upper()) == (1, [made[3]])
    assert await directory.find(rt, external_id=f"f4-{t}") == (1, [made[4]])
    assert await directory.find(rt, external_id=f"F4-{t}") == (0, [])
    assert await directory.find(rt, user_name=f"F1{t}@corp", employee_id=f"F2{t}") == (0, [])
    total, everyone = await directory.find(rt, count=10_000)
    assert total == len(everyone) >= 5
    ours = [e.id for e in everyone if e.record.employee_id.endswith(t)]
    assert ours == [e.id for e in made]  # by creation
    first_total, first = await directory.find(rt, start_index=1, count=2)
    _, second = await directory.find(rt, start_index=3, count=2)
    assert first_total == total and [e.id for e in first + second] == [e.id for e in everyone[:4]]
    assert await directory.find(rt, count=0) == (total, [])
