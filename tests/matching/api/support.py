"""Helpers for the matching API tests: people, CSV, polling, reading events back from the topics."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from functools import partial
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from bridge_matching.domain.csv_import import to_csv
from bridge_shared.events import topics
from bridge_shared.events.envelope import open_event_payload, parse_attributes
from bridge_shared.privacy.vault import KeyVault
from tests.service_harness import topic_prefix

MATCHING_TOPICS = [
    topics.MATCHING_COHORT,
    topics.MATCHING_PARTICIPANT,
    topics.MATCHING_PROPOSAL,
    topics.MATCHING_PAIR,
]
WEEK = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


def person(
    emp: str,
    role: str,
    level: int,
    *,
    region: str = "EMEA",
    dept: str | None = None,
    manager: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "employee_id": emp,
        "role": role,
        "display_name": f"Person {emp}",
        "email": f"{emp.lower()}@corp.example",
        "seniority_level": level,
        "department": dept or ("Engineering" if role == "mentor" else "Finance"),
        "manager_employee_id": manager,
        "region": region,
        "languages": ["en"],
        "timezone": "Europe/London",
        "availability": WEEK,
        "skills_to_share": ["generative ai"] if role == "mentor" else ["strategy"],
        "skills_to_learn": ["strategy"] if role == "mentor" else ["generative ai", "tiktok"],
        **extra,
    }


def cohort_people(n_pairs: int = 6, prefix: str = "E") -> list[dict[str, Any]]:
    mentors = [person(f"{prefix}M{i:02d}", "mentor", 2 + i % 2) for i in range(n_pairs)]
    mentees = [person(f"{prefix}L{i:02d}", "mentee", 9 + i % 3) for i in range(n_pairs)]
    return mentors + mentees


def csv_of(rows: Iterable[dict[str, Any]]) -> str:
    return to_csv(rows)


def cohort_body(**over: Any) -> dict[str, Any]:
    body = {
        "name": f"Cohort {uuid.uuid4().hex[:6]}",
        "regions": ["EMEA", "AMER"],
        "hr_contact_email": "hr@corp.example",
        "programme_start": "2027-02-01",
        "programme_end": "2027-07-30",
        "skill_taxonomy": ["generative ai", "strategy"],
        "policy": {
            "weights": {"skills_mentor_to_mentee": 3, "cross_department": 1},
            "min_overlap_hours": 1,
            "region_mode": "any",
            "max_mentees_per_mentor": 1,
            "management_exclusion_depth": 2,
        },
    }
    body.update(over)
    return body


async def _wait(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], timeout: float, done: tuple[str, ...]
) -> dict[str, Any]:
    """Polls `path` until its status is one of `done`."""
    async with asyncio.timeout(timeout):
        while True:
            body: dict[str, Any] = (await client.get(path, headers=headers)).json()
            if body["status"] in done:
                return body
            await asyncio.sleep(0.05)


async def wait_import(
    client: httpx.AsyncClient, job_id: str, headers: dict[str, str], timeout: float = 60
) -> dict[str, Any]:
    return await _wait(client, f"/imports/{job_id}", headers, timeout, ("completed", "failed"))


async def wait_run(
    client: httpx.AsyncClient, run_id: str, headers: dict[str, str], timeout: float = 60
) -> dict[str, Any]:
    done = ("draft", "failed", "published", "superseded")  # anything but queued or running
    return await _wait(client, f"/matching-runs/{run_id}", headers, timeout, done)


# The version matching writes of each event family (v2 where personal fields are sealed).
LATEST = {
    "participant.enrolled": 2,
    "participant.updated": 2,
    "participant.withdrawn": 2,
    "match.proposed": 2,
    "match.declined": 2,
    "match.cancelled": 1,
    "pair.formed": 2,
    "pair.dissolved": 2,
}


def wire(kind: str) -> str:
    """The wire type suffix matching writes for a family: `.pair.formed.v2`."""
    return f".{kind}.v{LATEST.get(kind, 1)}"


async def read_events(
    bootstrap: str,
    cohort_id: str,
    expect: dict[str, int],
    timeout: float = 20.0,
    *,
    open_with: str | None = None,
    extra_topics: tuple[str, ...] = (),
) -> list[tuple[str, dict[str, Any]]]:
    """Reads the matching topics from the beginning until the cohort's events include `expect` (type suffix ->
    minimum count), e.g. {"pair.formed": 2}. Returns (type, payload) in topic order: the payload as on the
    wire (sealed fields sealed), or with `open_with` (a DSN that may read the key vault) opened as a
    consumer would."""
    vault = KeyVault(cache_seconds=0)
    conn = await asyncpg.connect(open_with) if open_with else None
    consumer = AIOKafkaConsumer(
        *(topic_prefix() + t for t in (*MATCHING_TOPICS, *extra_topics)),  # under this run's prefix
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[tuple[str, dict[str, Any]]] = []

    def done() -> bool:
        return all(sum(1 for t, _ in out if t.endswith(wire(k))) >= n for k, n in expect.items())

    try:
        async with asyncio.timeout(timeout):
            while not done():
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for r in records:
                        payload = json.loads(r.value)
                        if cohort_id not in (payload.get("cohort_id"), *payload.get("cohort_ids", [])):
                            continue
                        etype = dict(r.headers)["ce_type"].decode()
                        if conn is not None:
                            opened = await open_event_payload(
                                parse_attributes(r.headers), r.value, partial(vault.keys_for_opening, conn)
                            )
                            payload = opened.model_dump(mode="json")
                        out.append((etype, payload))
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
        if conn is not None:
            await conn.close()
    return out


def count(events: list[tuple[str, dict[str, Any]]], kind: str) -> int:
    return sum(1 for t, _ in events if t.endswith(wire(kind)))
