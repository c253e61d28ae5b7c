"""Scheduled HRIS delta files (issue 19, item 2), against real PostgreSQL and Kafka: files dropped in
the inbox folder are applied to the company directory once each (joiners, movers, leavers, with their
events), with a row-level report HR reads at /hris/files; files still being written wait, files that
cannot be read are recorded as failed."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from asyncpg.exceptions import ConnectionDoesNotExistError

from bridge_matching import jobs
from bridge_matching.app import directory, hris_sync
from bridge_matching.app.hris_sync import PollResult
from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.events import topics
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, auth, running_service, topic_prefix

ADMIN = auth("hr_admin")
HEADER = (
    "employee_id;display_name;email;department;manager_employee_id;region;seniority_level;termination_date"
)
MAX_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(datetime(2027, 1, 25, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hris-inbox")


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
        outbox_idle_poll_seconds=0.5,
        hris_inbox_dir=inbox,
        hris_poll_seconds=0,  # the test polls (jobs.hris_poll_once)
        hris_stable_seconds=60,
        hris_max_bytes=MAX_BYTES,
        hris_batch_rows=2,  # files of a few rows take several batches
    ) as running:
        yield running


def _ids() -> str:
    return uuid.uuid4().hex[:6].upper()


def drop(inbox: Path, clock: FrozenClock, name: str, content: str | bytes, *, age: float = 120.0) -> Path:
    """A file as a transfer leaves it (text in UTF-8), last modified `age` seconds before the service
    clock's now."""
    path = inbox / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    at = (clock.now() - timedelta(seconds=age)).timestamp()
    os.utime(path, (at, at))
    return path


async def poll(svc: RunningService, clock: FrozenClock) -> PollResult:
    """One poll, a minute after the last (a delivery's writes are stamped with the clock's now)."""
    clock.advance(timedelta(minutes=1))
    result = await jobs.hris_poll_once(svc.runtime)
    assert result is not None  # no other instance polls this schema
    return result


async def person_id(svc: RunningService, employee_id: str) -> str:
    total, entries = await directory.find(svc.runtime, employee_id=employee_id)
    assert total == 1, employee_id
    return str(entries[0].id)


async def person_events(
    bootstrap: str, person_ids: set[str], expect: dict[str, int], timeout: float = 20.0
) -> list[tuple[str, dict[str, Any]]]:
    """The person topic's events about `person_ids` until `expect` (type suffix -> minimum count),
    as (type, payload) in topic order."""
    consumer = AIOKafkaConsumer(
        topic_prefix() + topics.MATCHING_PERSON,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[tuple[str, dict[str, Any]]] = []

    def done() -> bool:
        return all(sum(1 for t, _ in out if t.endswith(f".{k}.v1")) >= n for k, n in expect.items())

    try:
        async with asyncio.timeout(timeout):
            while not done():
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for r in records:
                        payload = json.loads(r.value)
                        if payload.get("person_id") in person_ids:
                            out.append((dict(r.headers)["ce_type"].decode(), payload))
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return out


async def test_a_file_of_joiners_is_applied_once_with_its_report(
    svc: RunningService, clock: FrozenClock, inbox: Path, bootstrap_servers: str
) -> None:
    p = _ids()
    text = "\n".join(
        [
            # participant-owned columns (role, languages) are in the file and ignored
            HEADER + ";role;languages",
            f"{p}M1;Mia Manager;m1.{p}@corp.example;Engineering;;EMEA;3;;mentor;en",
            f"{p}E1;Eli Employee;e1.{p}@corp.example;Engineering;{p}M1;EMEA;9;;mentee;en",
            f"{p}E2;Eve Example;e2.{p}@corp.example;Finance;{p}M1;AMER;8;2027-12-31;mentee;en",
            f"{p}E3;Bad Address;not-an-address;Finance;;EMEA;8;;mentee;en",
            f"{p}E4;Bad Date;e4.{p}@corp.example;Finance;;EMEA;8;31/12/2027;mentee;en",
        ]
    )
    drop(inbox, clock, f"joiners-{p}.csv", "\ufeff" + text + "\r\n")

    result = await poll(svc, clock)

    assert [r.name for r in result.finished] == [f"joiners-{p}.csv"] and result.waiting == []
    row = result.finished[0]
    assert row.status == "processed" and row.error is None and row.report is not None
    report = row.report
    assert {
        k: report[k] for k in ("total", "applied", "unchanged", "rejected", "joined", "moved", "left")
    } == {
        "total": 5,
        "applied": 3,
        "unchanged": 0,
        "rejected": 2,
        "joined": 3,
        "moved": 0,
        "left": 0,
    }
    assert [(e["line"], e["field"], e["employee_id"]) for e in report["errors"]] == [
        (5, "email", f"{p}E3"),
        (6, "termination_date", f"{p}E4"),
    ]
    assert report["delimiter"] == "semicolon"

    # the directory has the good rows, with the fields HR owns
    total, entries = await directory.find(svc.runtime, employee_id=f"{p}e1")
    assert total == 1
    e1 = entries[0]
    assert e1.source == "hris_file" and e1.left_at is None
    assert (e1.record.display_name, e1.record.manager_employee_id, e1.record.seniority_level) == (
        "Eli Employee",
        f"{p}M1",
        9,
    )
    assert (await directory.find(svc.runtime, employee_id=f"{p}E3"))[0] == 0

    # the file moved to processed/; polling again finds nothing to do
    assert not (inbox / f"joiners-{p}.csv").exists()
    assert (inbox / "processed" / f"joiners-{p}.csv").read_text(encoding="utf-8").startswith("\ufeff")
    again = await poll(svc, clock)
    assert again.finished == [] and again.already == []

    ids = {await person_id(svc, f"{p}{e}") for e in ("M1", "E1", "E2")}
    events = await person_events(bootstrap_servers, ids, {"person.joined": 3})
    joined = [e for t, e in events if t.endswith(".person.joined.v1")]
    assert {e["person_id"] for e in joined} == ids
    assert all(e["source"] == "hris_file" for e in joined)

    # HR reads the delivery: the list (newest first, no rejected rows in it) and the full report
    listed = (await svc.client.get("/hris/files", headers=ADMIN)).json()
    assert listed[0]["id"] == str(row.id) and "errors" not in listed[0]["report"]
    assert listed[0]["report"]["rejected"] == 2
    one = await svc.client.get(f"/hris/files/{row.id}", headers=ADMIN)
    assert one.status_code == 200
    body = one.json()
    assert (body["name"], body["status"], body["sha256"]) == (f"joiners-{p}.csv", "processed", row.sha256)
    assert body["report"]["errors"][0] == {
        "line": 5,
        "field": "email",
        "message": report["errors"][0]["message"],
        "employee_id": f"{p}E3",
    }


async def test_the_same_file_again_is_not_processed_and_a_changed_one_is(
    svc: RunningService, clock: FrozenClock, inbox: Path, bootstrap_servers: str
) -> None:
    p = _ids()
    first = "\n".join(
        [
            HEADER,
            f"{p}M1;Mo;m1.{p}@corp.example;Eng;;EMEA;3;",
            f"{p}E1;Em;e1.{p}@corp.example;Eng;{p}M1;EMEA;9;",
        ]
    )
    name = f"daily-{p}.csv"
    drop(inbox, clock, name, first)
    assert [r.name for r in (await poll(svc, clock)).finished] == [name]

    # delivered again, same name and content: recorded before, not applied again (and tidied away)
    drop(inbox, clock, name, first)
    result = await poll(svc, clock)
    assert result.finished == [] and result.already == [name]
    assert not (inbox / name).exists()
    listed = (await svc.client.get("/hris/files", params={"limit": 500}, headers=ADMIN)).json()
    assert [f["name"] for f in listed].count(name) == 1

    # the same rows under another name: a new delivery whose rows change nothing
    drop(inbox, clock, f"again-{p}.csv", first)
    (same,) = (await poll(svc, clock)).finished
    assert same.report is not None
    assert (same.report["applied"], same.report["unchanged"], same.report["joined"]) == (0, 2, 0)

    # the same name with changed content: a new delivery; a new manager makes a mover
    changed = first + f"\n{p}M2;Max;m2.{p}@corp.example;Eng;;EMEA;3;"
    changed = changed.replace(f"Eng;{p}M1;EMEA;9", f"Eng;{p}M2;EMEA;9")
    drop(inbox, clock, name, changed)
    (moved,) = (await poll(svc, clock)).finished
    assert moved.name == name and moved.report is not None
    assert {k: moved.report[k] for k in ("applied", "unchanged", "joined", "moved", "left")} == {
        "applied": 2,
        "unchanged": 1,
        "joined": 1,
        "moved": 1,
        "left": 0,
    }
    assert (inbox / "processed" / f"daily-{p}.{moved.sha256[:12]}.csv").exists()  # the name was taken
    e1 = await person_id(svc, f"{p}E1")
    events = await person_events(bootstrap_servers, {e1}, {"person.joined": 1, "person.moved": 1})
    (moved_event,) = [e for t, e in events if t.endswith(".person.moved.v1")]
    assert moved_event["changed"] == ["manager"] and moved_event["source"] == "hris_file"


async def test_a_termination_date_in_the_past_makes_a_leaver(
    svc: RunningService, clock: FrozenClock, inbox: Path, bootstrap_servers: str
) -> None:
    p = _ids()
    drop(
        inbox,
        clock,
        f"a-{p}.csv",
        "\n".join([HEADER, f"{p}E1;Lee;e1.{p}@corp.example;Eng;;EMEA;9;2027-12-31"]),
    )
    await poll(svc, clock)
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()
    drop(
        inbox,
        clock,
        f"b-{p}.csv",
        "\n".join([HEADER, f"{p}E1;Lee;e1.{p}@corp.example;Eng;;EMEA;9;{yesterday}"]),
    )
    (row,) = (await poll(svc, clock)).finished
    assert row.report is not None and (row.report["applied"], row.report["left"]) == (1, 1)

    _, (entry,) = await directory.find(svc.runtime, employee_id=f"{p}E1")
    assert entry.left_cause == "terminated" and entry.left_at is not None
    events = await person_events(bootstrap_servers, {str(entry.id)}, {"person.joined": 1, "person.left": 1})
    (left,) = [e for t, e in events if t.endswith(".person.left.v1")]
    assert (left["cause"], left["left_on"], left["source"]) == ("terminated", yesterday, "hris_file")


async def test_a_file_still_being_written_waits_until_it_is_stable(
    svc: RunningService, clock: FrozenClock, inbox: Path
) -> None:
    p = _ids()
    name = f"late-{p}.csv"
    clock.advance(timedelta(minutes=1))
    drop(inbox, clock, name, "\n".join([HEADER, f"{p}E1;Al;e1.{p}@corp.example;Eng;;EMEA;9;"]), age=5)
    drop(inbox, clock, f".{name}", HEADER)  # a transfer tool's temporary name: never taken
    drop(inbox, clock, f"{name}.part", HEADER)  # not the pattern

    result = await jobs.hris_poll_once(svc.runtime)  # modified 5 s before the poll: too recent
    assert result is not None and result.finished == [] and result.waiting == [name]
    assert (await directory.find(svc.runtime, employee_id=f"{p}E1"))[0] == 0
    assert (inbox / name).exists()

    clock.advance(timedelta(seconds=60))  # a minute without a change: stable
    result = await jobs.hris_poll_once(svc.runtime)
    assert result is not None and [r.name for r in result.finished] == [name]
    assert (await directory.find(svc.runtime, employee_id=f"{p}E1"))[0] == 1
    assert (inbox / f".{name}").exists() and (inbox / f"{name}.part").exists()
    (inbox / f".{name}").unlink()
    (inbox / f"{name}.part").unlink()


def _fail_once_at(monkeypatch: pytest.MonkeyPatch, employee_id: str, exc: Exception) -> None:
    """The directory write of `employee_id` raises `exc` once (a connection lost mid-file, a bug)."""
    real = hris_sync.write_in
    failed: list[str] = []

    async def write_in(rt: Any, conn: Any, record: Any, **kw: Any) -> Any:
        if record.employee_id == employee_id and not failed:
            failed.append(employee_id)
            raise exc
        return await real(rt, conn, record, **kw)

    monkeypatch.setattr(hris_sync, "write_in", write_in)


async def test_a_poll_that_stops_part_way_is_resumed_after_the_rows_it_wrote(
    svc: RunningService, clock: FrozenClock, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = _ids()
    rows = [f"{p}E{i};P{i};e{i}.{p}@corp.example;Eng;;EMEA;9;" for i in range(1, 6)]
    name = f"resume-{p}.csv"
    drop(inbox, clock, name, "\n".join([HEADER, *rows]))
    _fail_once_at(monkeypatch, f"{p}E4", ConnectionDoesNotExistError("connection was closed"))

    with pytest.raises(ConnectionDoesNotExistError):  # transient: the poll ends, the loop retries
        await poll(svc, clock)
    # the first batch (2 rows) is written; the second was rolled back; the file stays in the inbox
    assert [(await directory.find(svc.runtime, employee_id=f"{p}E{i}"))[0] for i in range(1, 6)] == [
        1,
        1,
        0,
        0,
        0,
    ]
    listed = (await svc.client.get("/hris/files", headers=ADMIN)).json()
    assert (listed[0]["name"], listed[0]["status"], listed[0]["rows_done"]) == (name, "processing", 2)
    assert (inbox / name).exists()

    (row,) = (await poll(svc, clock)).finished  # the next poll resumes after the rows written
    assert row.status == "processed" and row.rows_done == 5 and row.report is not None
    # each row written once: none of the first batch's rows counted again as unchanged
    assert (row.report["applied"], row.report["unchanged"], row.report["joined"]) == (5, 0, 5)
    assert [(await directory.find(svc.runtime, employee_id=f"{p}E{i}"))[0] for i in range(1, 6)] == [1] * 5
    assert (inbox / "processed" / name).exists()


async def test_a_write_that_fails_fails_the_delivery_and_says_what_was_written(
    svc: RunningService, clock: FrozenClock, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = _ids()
    rows = [f"{p}E{i};P{i};e{i}.{p}@corp.example;Eng;;EMEA;9;" for i in range(1, 6)]
    name = f"bug-{p}.csv"
    drop(inbox, clock, name, "\n".join([HEADER, *rows]))
    _fail_once_at(monkeypatch, f"{p}E3", RuntimeError("a bug"))

    (row,) = (await poll(svc, clock)).finished
    assert row.status == "failed" and row.error is not None
    assert "RuntimeError: a bug" in row.error and "2 of 5 valid rows were written first" in row.error
    assert row.report is not None and (row.report["applied"], row.report["joined"]) == (2, 2)
    assert (inbox / "failed" / name).exists()
    assert (await poll(svc, clock)).finished == []  # a failed delivery is not retried


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("employee_id;display_name\nE1;Al\n", "missing required column(s): email"),
        ("employee_id,display_name,email\n".encode("utf-16"), "UTF-16"),
        (b"employee_id,display_name,email\nE1,Al\xe9,al@corp.example\n", "not UTF-8"),
        ("employee_id,display_name,email\n" + "E1,Al,al@corp.example\n" * 4000, f"the limit is {MAX_BYTES}"),
    ],
)
async def test_a_file_that_cannot_be_read_is_recorded_as_failed(
    svc: RunningService, clock: FrozenClock, inbox: Path, content: str | bytes, says: str
) -> None:
    name = f"broken-{_ids()}.csv"
    drop(inbox, clock, name, content)
    (row,) = (await poll(svc, clock)).finished
    assert row.status == "failed" and row.report is None and row.error is not None and says in row.error
    assert (inbox / "failed" / name).exists()
    body = (await svc.client.get(f"/hris/files/{row.id}", headers=ADMIN)).json()
    assert body["status"] == "failed" and says in body["error"]
    assert (await poll(svc, clock)).finished == []  # recorded: not tried again


async def test_reports_are_for_global_hr_readers(svc: RunningService) -> None:
    regional = auth("hr_regional", regions=("EMEA", "AMER", "APAC"))
    r = await svc.client.get("/hris/files", headers=regional)
    assert r.status_code == 403 and "regional" in r.json()["detail"]
    assert (await svc.client.get("/hris/files", headers=auth("participant", sub="E1"))).status_code == 403
    assert (await svc.client.get("/hris/files", headers=auth("service"))).status_code == 200
    missing = await svc.client.get(f"/hris/files/{uuid.uuid4()}", headers=ADMIN)
    assert missing.status_code == 404
