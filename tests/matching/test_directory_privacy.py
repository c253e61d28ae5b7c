"""The company directory under matching's data-protection rules (docs/privacy.md), against real
PostgreSQL and Kafka: an erasure removes a person's directory entries and every trace of them (other
entries naming them as manager, HRIS report rows, the flags of their pairs) in its one transaction; a
later SCIM-style write or HRIS row of them is refused and stores nothing; an export shows their
entries; the retention job purges leavers' and deleted entries after their periods and clears HRIS
reports, keeping what is recent."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bridge_matching import jobs
from bridge_matching.app import directory
from bridge_matching.app.hris_sync import PollResult
from bridge_matching.app.runtime import MatchingRuntime
from bridge_matching.db import directory as directory_db
from bridge_matching.db import privacy as privacy_db
from bridge_matching.domain.directory import DirectoryRecord, DirectoryRow, Source
from bridge_matching.domain.privacy import identity_of, scrub
from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.db.connection import connection, transaction
from bridge_shared.privacy.erased import ERASED_TEXT
from bridge_shared.scheduling.clock import FrozenClock
from tests.matching.api.support import cohort_body, person
from tests.service_harness import RunningService, auth, running_service
from tests.shared import privacy_scan

HR = auth("hr_admin", sub="hr-directory-privacy")
DPO = auth("privacy_officer", sub="dpo-directory")
START = datetime(2027, 1, 25, 9, 0, tzinfo=UTC)
HEADER = (
    "employee_id;display_name;email;department;manager_employee_id;region;seniority_level;termination_date"
)


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hris-inbox-privacy")


@pytest.fixture(scope="module")
async def svc(
    admin_dsn: str, bootstrap_servers: str, clock: FrozenClock, inbox: Path
) -> AsyncIterator[RunningService]:
    async with running_service(
        lambda s: create_app(s, clock=clock),
        MatchingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        expiry_interval_seconds=0,
        directory_leavers_interval_seconds=0,
        retention_interval_seconds=0,  # the retention job runs only when a test calls it
        hris_inbox_dir=inbox,
        hris_poll_seconds=0,  # the test polls
        hris_stable_seconds=60,
        outbox_idle_poll_seconds=0.5,
    ) as running:
        yield running


def rt_of(svc: RunningService) -> MatchingRuntime:
    runtime: MatchingRuntime = svc.runtime
    return runtime


def tag() -> str:
    return uuid.uuid4().hex[:6].upper()


def record(emp: str, **over: Any) -> DirectoryRecord:
    base = {"employee_id": emp, "display_name": f"Person {emp}", "email": f"{emp.lower()}@corp.example"}
    return DirectoryRecord.model_validate({**base, **over})


def record_of(p: dict[str, Any], **over: Any) -> DirectoryRecord:
    """The directory's record of an enrolled person (`person(...)`), as enrolled unless `over` says."""
    fields = {
        k: p.get(k)
        for k in (
            "employee_id",
            "display_name",
            "email",
            "department",
            "manager_employee_id",
            "region",
            "seniority_level",
        )
    }
    return DirectoryRecord.model_validate({**fields, **over})


async def write(svc: RunningService, rec: DirectoryRecord, source: Source = "scim") -> directory.Written:
    rt = rt_of(svc)
    async with transaction(rt.pool) as conn:
        return await directory.write_in(rt, conn, rec, source=source, now=rt.clock.now())


async def entries(svc: RunningService, employee_id: str) -> list[Any]:
    """Every stored entry of the employee id (deleted ones too)."""
    async with connection(rt_of(svc).pool) as conn:
        return await directory_db.entries_of(conn, employee_id)


async def outbox_mark(svc: RunningService) -> int:
    async with connection(rt_of(svc).pool) as conn:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


async def events_since(svc: RunningService, mark: int) -> list[tuple[str, dict[str, Any]]]:
    async with connection(rt_of(svc).pool) as conn:
        rows = await conn.fetch("SELECT event_type, payload FROM outbox WHERE id > $1 ORDER BY id", mark)
    return [(r["event_type"].removeprefix("com.bridge.matching."), json.loads(r["payload"])) for r in rows]


async def flags(svc: RunningService, pair_ids: list[str]) -> dict[str, uuid.UUID | None]:
    """pair id -> the moved person of its flag."""
    async with connection(rt_of(svc).pool) as conn:
        rows = await conn.fetch(
            "SELECT pair_id, moved_person_id FROM pair_flags WHERE pair_id = ANY($1::uuid[])",
            [uuid.UUID(p) for p in pair_ids],
        )
    return {str(r["pair_id"]): r["moved_person_id"] for r in rows}


async def scan(admin_dsn: str, schema: str, needles: list[str]) -> list[str]:
    """Every text-like column of every table of `schema` that holds one of `needles`."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        assert len(await privacy_scan.text_columns(conn, [schema])) > 40  # the scan covers the schema
        return await privacy_scan.hits(conn, needles, [schema])
    finally:
        await conn.close()


async def cohort(
    svc: RunningService, people: list[dict[str, Any]], **policy: Any
) -> tuple[str, dict[str, str]]:
    """A cohort with `people` enrolled, in its matching phase: (cohort id, employee id -> participant id)."""
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


async def pair(svc: RunningService, cid: str, mentor: str, mentee: str) -> str:
    body = {"mentor_id": mentor, "mentee_id": mentee, "reason": "set up for the test"}
    r = await svc.client.post(f"/cohorts/{cid}/pairs", json=body, headers=HR)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def drop(inbox: Path, clock: FrozenClock, name: str, content: str) -> None:
    """A delta file as a transfer leaves it, last modified two minutes before the service clock's now."""
    path = inbox / name
    path.write_text(content, encoding="utf-8")
    at = (clock.now() - timedelta(seconds=120)).timestamp()
    os.utime(path, (at, at))


async def poll(svc: RunningService, clock: FrozenClock) -> PollResult:
    clock.advance(timedelta(minutes=1))
    result = await jobs.hris_poll_once(svc.runtime)
    assert result is not None
    return result


async def erase(svc: RunningService, employee_id: str) -> dict[str, Any]:
    r = await svc.client.post("/privacy/erasures", json={"employee_id": employee_id}, headers=DPO)
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


def test_who_the_person_is_includes_their_directory_entries() -> None:
    """An erasure looks for every spelling the enrolments and the entries hold; a first name alone is
    only a word of a name (redacted where people knew them), never an exact needle everywhere."""
    row = DirectoryRow(
        id=uuid.uuid4(),
        employee_id="E1",
        record=record(
            "E1",
            display_name="Ada King",
            email="ada.king@corp.example",
            given_name="Ada",
            family_name="Lovelace",
            user_name="ada@idp.example",
            external_id="00u1ada",
        ).model_dump(mode="json"),
        version=1,
        source="scim",
        created_at=START,
        updated_at=START,
        left_at=None,
        left_cause=None,
        deleted_at=None,
    )
    only_given = dataclasses.replace(row, record={**row.record, "family_name": None})
    who = identity_of("E1", [], [row, only_given])
    assert who.names == ("Ada King", "Ada Lovelace") and who.emails == ("ada.king@corp.example",)
    assert who.others == ("00u1ada", "ada@idp.example") and who.employee_ids == ("E1",)
    assert "Ada" not in who.exact().needles and "Ada" in who.needles
    assert scrub("ask ada@idp.example or 00u1ada", who.exact()) == "ask [erased] or [erased]"


async def test_an_erasure_removes_the_entry_and_every_trace_of_the_person_in_one_go(
    svc: RunningService, clock: FrozenClock, inbox: Path, admin_dsn: str
) -> None:
    t = tag()
    emp = f"QE{t}"
    name, email = f"Quentin Erasable{t}", f"q.erasable.{t.lower()}@corp.example"
    user_name, external_id = f"quentin.{t.lower()}@idp.example", f"idp-{t}"
    me = person(emp, "mentor", 2, display_name=name, email=email)
    my_mentee, mentor2, mentee2 = (
        person(f"QL{t}", "mentee", 9),
        person(f"QM{t}", "mentor", 2),
        person(f"QK{t}", "mentee", 9),
    )
    cid, ids = await cohort(svc, [me, my_mentee, mentor2, mentee2], management_exclusion_depth=2)
    mine = await pair(svc, cid, ids[emp], ids[my_mentee["employee_id"]])
    theirs = await pair(svc, cid, ids[mentor2["employee_id"]], ids[mentee2["employee_id"]])

    # The directory: the person, with the identity provider's ids; their mentee, the second mentee
    # and someone not enrolled report to them.
    entry = await write(
        svc,
        record_of(me, user_name=user_name, external_id=external_id, given_name="Quentin", title="Lead"),
    )
    await write(svc, record_of(mentor2))
    # Their mentee now reports to them: their own pair is 1 level apart, flagged with the mentee as mover.
    mentee_entry = (await write(svc, record_of(my_mentee, manager_employee_id=emp))).entry
    await write(svc, record_of(mentee2, manager_employee_id=emp.lower()))
    report_of = await write(svc, record(f"QR{t}", manager_employee_id=emp))
    # They move under the second mentor: that pair is now 2 levels apart, flagged with them as mover.
    await write(
        svc,
        record_of(
            me,
            user_name=user_name,
            external_id=external_id,
            given_name="Quentin",
            title="Lead",
            manager_employee_id=mentor2["employee_id"],
        ),
    )
    assert await flags(svc, [mine, theirs]) == {mine: mentee_entry.id, theirs: entry.entry.id}
    # An HRIS file whose rejected row names them (a bad termination date).
    drop(
        inbox,
        clock,
        f"erasure-{t}.csv",
        f"{HEADER}\n{emp};{name};{email};Engineering;;EMEA;2;31/12/2027\n",
    )
    (delivery,) = (await poll(svc, clock)).finished
    assert delivery.report is not None and delivery.report["errors"][0]["employee_id"] == emp

    needles = [name, email, emp, user_name, external_id]
    assert await scan(admin_dsn, svc.settings.db_schema, needles)  # the scan finds them before

    erasure = await erase(svc, emp.lower())  # employee ids compare case-insensitively
    counts = erasure["services"]["matching"]["erased"]
    assert counts["directory_entries_deleted"] == 1
    assert counts["directory_references_removed"] == 3  # the two mentees' entries and the report's
    assert counts["pair_flags_deleted"] == 1  # the flag of their own pair
    assert counts["participants_anonymised"] == 1 and counts["pairs_dissolved"] == 1
    assert counts["texts_redacted"] >= 1  # the HRIS report
    assert erasure["status"] == "in_progress"  # enrolled: the other services are asked too

    # Nothing in the schema names them any more.
    assert await scan(admin_dsn, svc.settings.db_schema, needles) == []
    assert await entries(svc, emp) == []
    with pytest.raises(directory.DirectoryNotFound):
        await directory.get(rt_of(svc), entry.entry.id)
    # The others' entries keep no manager (a new version), the flag their move raised stays without
    # a mover, the flag of their own (now dissolved) pair is gone.
    after = await directory.get(rt_of(svc), report_of.entry.id)
    assert after.record.manager_employee_id is None and after.version == report_of.entry.version + 1
    assert await flags(svc, [mine, theirs]) == {theirs: None}
    r = await svc.client.get(f"/hris/files/{delivery.id}", headers=HR)
    [error] = r.json()["report"]["errors"]
    assert error["employee_id"] == ERASED_TEXT and error["line"] == 2


async def test_a_later_write_or_hris_row_of_an_erased_person_is_refused_and_stores_nothing(
    svc: RunningService, clock: FrozenClock, inbox: Path, admin_dsn: str
) -> None:
    t = tag()
    emp = f"PE{t}"
    rt = rt_of(svc)
    # Known only to the directory (never enrolled); someone reports to them.
    gone = await directory.create(rt, record(emp, user_name=f"pe.{t.lower()}"), source="scim")
    report_of = await write(svc, record(f"PR{t}", manager_employee_id=emp))

    mark = await outbox_mark(svc)
    erasure = await erase(svc, emp)
    # Matching alone held them: the erasure is complete at once, the other services are not asked.
    assert erasure["status"] == "completed" and erasure["completed_at"] is not None
    assert erasure["services"]["sessions"] is None
    assert erasure["services"]["matching"]["erased"]["directory_entries_deleted"] == 1
    assert [t for t, _ in await events_since(svc, mark)] == []  # no erasure.requested: nobody to ask
    r = await svc.client.post("/privacy/erasures", json={"employee_id": emp}, headers=DPO)
    assert r.status_code == 200 and r.json()["id"] == erasure["id"], r.text  # idempotent
    erased_version = (await directory.get(rt, report_of.entry.id)).version

    mark = await outbox_mark(svc)
    # SCIM create / replace and any other write of them: refused (SCIM maps PersonErased).
    with pytest.raises(directory.PersonErased) as refused:
        await directory.create(rt, record(emp), source="scim")
    assert refused.value.erased_on == "2027-01-25" and emp not in str(refused.value)
    with pytest.raises(directory.PersonErased):
        await write(svc, record(emp.swapcase()))
    with pytest.raises(directory.PersonErased):
        await directory.replace(rt, report_of.entry.id, record(emp), source="scim")
    with pytest.raises(directory.DirectoryNotFound):
        await directory.replace(rt, gone.id, record(emp, active=False), source="scim")
    # Someone else written with them as manager: stored with the manager "not known", so unchanged.
    again = await write(svc, record(f"PR{t}", manager_employee_id=emp))
    assert not again.created and again.entry.version == erased_version
    assert again.entry.record.manager_employee_id is None

    # An HRIS file: their row is refused without their id, so is their duplicate; the other row
    # (naming them as manager) changes nothing.
    drop(
        inbox,
        clock,
        f"refused-{t}.csv",
        "\n".join(
            [
                HEADER,
                f"{emp};Pat Erased{t};pe.{t.lower()}@corp.example;Sales;;EMEA;4;",
                f"PR{t};Person PR{t};pr{t.lower()}@corp.example;;{emp};;;",
                f"{emp.lower()};Pat Erased{t};pe.{t.lower()}@corp.example;Sales;;EMEA;4;",
            ]
        ),
    )
    (delivery,) = (await poll(svc, clock)).finished
    report = delivery.report
    assert report is not None
    assert {k: report[k] for k in ("total", "applied", "unchanged", "rejected", "joined")} == {
        "total": 3,
        "applied": 0,
        "unchanged": 1,
        "rejected": 2,
        "joined": 0,
    }
    assert [(e["line"], e["field"], e["employee_id"]) for e in report["errors"]] == [
        (2, "employee_id", None),
        (4, "employee_id", None),
    ]
    assert "erased on request on 2027-01-25" in report["errors"][0]["message"]

    assert await events_since(svc, mark) == []  # nothing was written about anyone
    assert await entries(svc, emp) == []
    needles = [emp, f"Pat Erased{t}", f"pe.{t.lower()}@corp.example", f"pe.{t.lower()}"]
    assert await scan(admin_dsn, svc.settings.db_schema, needles) == []


async def test_an_export_shows_the_directory_entries_and_hris_rows_about_the_person(
    svc: RunningService, clock: FrozenClock, inbox: Path
) -> None:
    t = tag()
    rt = rt_of(svc)
    # Known only to the directory: an entry deleted by the identity provider, then a new one.
    emp = f"XE{t}"
    old = await directory.create(rt, record(emp, title="Intern"), source="scim")
    await directory.delete(rt, old.id, source="scim")
    new = await directory.create(rt, record(emp, title="Analyst", region="EMEA"), source="scim")
    drop(inbox, clock, f"export-{t}.csv", f"{HEADER}\n{emp};Person {emp};x@corp.example;;;;;2027-13-01\n")
    (delivery,) = (await poll(svc, clock)).finished

    r = await svc.client.post("/privacy/exports", json={"employee_id": emp}, headers=DPO)
    assert r.status_code == 202, r.text
    # The other services know people by participant id only: matching's section is the document.
    doc = (await svc.client.get(f"/privacy/exports/{r.json()['id']}", headers=DPO)).json()
    assert doc["status"] == "complete", doc
    assert doc["person"] == {
        "employee_id": emp,
        "display_name": f"Person {emp}",
        "email": f"{emp.lower()}@corp.example",
        "participant_ids": [],
    }
    section = doc["services"]["matching"]
    assert [(e["id"], e["status"], e["record"]["title"]) for e in section["directory"]] == [
        (str(old.id), "deleted", "Intern"),
        (str(new.id), "live", "Analyst"),
    ]
    assert section["directory"][1]["record"]["employee_id"] == emp and section["directory"][1]["version"] == 1
    [row] = section["hris_rejected_rows"]
    assert (row["file_id"], row["line"], row["field"]) == (str(delivery.id), 2, "termination_date")
    assert any("2 company directory entries" in s for s in section["summary"])
    assert doc["services"]["sessions"] == {"service": "sessions", "summary": []}
    summary = await svc.client.get(f"/privacy/exports/{r.json()['id']}/summary", headers=DPO)
    assert summary.status_code == 200 and "2 company directory entries" in summary.text

    # Enrolled too: matching's section (stored at request time) holds the entry beside the enrolment.
    me = person(f"YE{t}", "mentee", 9)
    _, ids = await cohort(svc, [me])
    entry = (await write(svc, record_of(me, title="Analyst"))).entry
    r = await svc.client.post("/privacy/exports", json={"employee_id": me["employee_id"]}, headers=DPO)
    assert r.status_code == 202, r.text
    async with connection(rt.pool) as conn:
        stored = await privacy_db.get_export(conn, uuid.UUID(r.json()["id"]))
    assert stored is not None and stored.participant_ids == [uuid.UUID(ids[me["employee_id"]])]
    [shown] = stored.matching_section["directory"]
    assert (shown["id"], shown["status"], shown["record"]["title"]) == (str(entry.id), "live", "Analyst")

    # The erasure takes every entry of theirs, the deleted one too.
    erasure = await erase(svc, emp)
    assert erasure["services"]["matching"]["erased"]["directory_entries_deleted"] == 2
    assert await entries(svc, emp) == []


async def test_retention_purges_leavers_and_deleted_entries_after_their_periods_and_clears_hris_reports(
    svc: RunningService, clock: FrozenClock, inbox: Path
) -> None:
    """Runs last in this module: it moves the module's clock forward (and back)."""
    t = tag()
    rt = rt_of(svc)
    start = clock.now()
    # A mover whose pair flag outlives them: the mentee reports to A, A moves under the mentor.
    mentor, mentee = person(f"RM{t}", "mentor", 2), person(f"RL{t}", "mentee", 9)
    cid, ids = await cohort(svc, [mentor, mentee], management_exclusion_depth=2)
    flagged = await pair(svc, cid, ids[mentor["employee_id"]], ids[mentee["employee_id"]])
    await write(svc, record_of(mentor))
    await write(svc, record(f"RA{t}"))
    await write(svc, record_of(mentee, manager_employee_id=f"RA{t}"))
    a = (await write(svc, record(f"RA{t}", manager_employee_id=mentor["employee_id"]))).entry
    assert await flags(svc, [flagged]) == {flagged: a.id}
    # A leaves now; B later; C stays; D is deleted by the identity provider now.
    await write(svc, record(f"RA{t}", manager_employee_id=mentor["employee_id"], active=False))
    await write(svc, record(f"RB{t}"))
    await write(svc, record(f"RC{t}"))
    d = await directory.create(rt, record(f"RD{t}"), source="scim")
    await directory.delete(rt, d.id, source="scim")
    # An HRIS delivery with a rejected row naming someone.
    text = f"{HEADER}\nRF{t};Person RF{t};not-an-address;;;;;\n"
    drop(inbox, clock, f"retention-{t}.csv", text)
    (delivery,) = (await poll(svc, clock)).finished
    assert delivery.report is not None and delivery.report["errors"][0]["employee_id"] == f"RF{t}"

    async def kept(*letters: str) -> set[str]:
        return {x for x in letters if await entries(svc, f"R{x}{t}")}

    try:
        counts = await jobs.retention_once(rt)
        # Deleted entries go at the next run; leavers stay for their period.
        assert counts["directory_deleted_purged"] >= 1
        assert await kept("A", "B", "C", "D") == {"A", "B", "C"}

        clock.advance(timedelta(days=60))
        await write(svc, record(f"RB{t}", active=False))  # B leaves 60 days after A
        counts = await jobs.retention_once(rt)
        assert counts["directory_leavers_purged"] == 0 and counts["hris_reports_cleared"] == 0
        assert await kept("A", "B", "C") == {"A", "B", "C"}

        clock.advance(timedelta(days=31))  # A left 91 days ago, B 31 days ago; the report is 91 days old
        counts = await jobs.retention_once(rt)
        assert counts["directory_leavers_purged"] >= 1 and counts["hris_reports_cleared"] >= 1
        assert await kept("A", "B", "C") == {"B", "C"}
        assert await flags(svc, [flagged]) == {flagged: None}  # the flag stays, its mover is unknown
        body = (await svc.client.get(f"/hris/files/{delivery.id}", headers=HR)).json()
        assert body["report"]["errors"] == [] and body["report"]["errors_cleared"] is True
        assert (body["report"]["total"], body["report"]["rejected"]) == (1, 1)  # the counts stay
        # The delivery itself stays: the same file again is still not applied twice.
        drop(inbox, clock, f"retention-{t}.csv", text)
        again = await poll(svc, clock)
        assert again.finished == [] and again.already == [f"retention-{t}.csv"]

        # The flagged pair ends: its flag has no purpose left and goes with the leavers' period.
        r = await svc.client.post(
            f"/cohorts/{cid}/pairs/{flagged}/dissolve", json={"reason": "HR decided"}, headers=HR
        )
        assert r.status_code == 200, r.text

        clock.advance(timedelta(days=60))  # B left 91 days ago; the pair ended 60 days ago
        counts = await jobs.retention_once(rt)
        assert counts["directory_leavers_purged"] >= 1 and counts["pair_flags_deleted"] == 0
        assert await kept("B", "C") == {"C"}
        assert await flags(svc, [flagged]) == {flagged: None}
        # A leaver written again by the identity provider is a new entry (stored as left).
        back = await write(svc, record(f"RA{t}", active=False))
        assert back.created and back.entry.id != a.id and back.entry.left_cause == "deactivated"

        clock.advance(timedelta(days=31))  # the pair ended 91 days ago
        counts = await jobs.retention_once(rt)
        assert counts["pair_flags_deleted"] >= 1 and await flags(svc, [flagged]) == {}
        assert await kept("A", "C") == {"A", "C"}  # the new leaver (31 days) and the live person

        last = await jobs.retention_once(rt)  # nothing left that is due
        assert last["directory_leavers_purged"] == 0 and last["hris_reports_cleared"] == 0
        assert last["directory_deleted_purged"] == 0 and last["pair_flags_deleted"] == 0
    finally:
        clock.set(start)
