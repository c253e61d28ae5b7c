"""A sessions service running in-process against the real PostgreSQL and broker, with a frozen
clock and the periodic health scheduler off (tests run ticks by hand); a bus that collects every
event sessions publishes, by relationship; helpers to feed matching's events."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from bridge_sessions.main import create_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts.matching import CohortCreatedV1, MatchExplanation, PairFormedV1, ParticipantRef
from bridge_shared.events import topics
from bridge_shared.events.envelope import build_event, open_event_payload, parse_attributes
from bridge_shared.events.registry import EventPayload
from bridge_shared.messaging.sources import owner_source
from bridge_shared.privacy.sealing import Keys
from bridge_shared.privacy.vault import VAULT
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, auth, publish_event, running_service

pytestmark = pytest.mark.integration
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="session")
async def svc(admin_dsn: str, bootstrap_servers: str, clock: FrozenClock) -> AsyncIterator[RunningService]:
    async with running_service(
        lambda s: create_app(s, clock=clock),
        SessionsSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        health_check_enabled=False,
        retention_enabled=False,
        outbox_idle_poll_seconds=0.5,
    ) as running:
        yield running


class Bus:
    """Every event on a topic (bridge.sessions.relationship by default), decoded as a consumer would
    (sealed fields opened with keys from the vault, reached through `dsn`), grouped by key."""

    def __init__(self, bootstrap: str, topic: str, dsn: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.dsn = dsn
        self.by_key: dict[str, list[tuple[str, EventPayload]]] = defaultdict(list)
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=f"bus-{uuid.uuid4().hex}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2)

        async def keys_for(subjects: set[str]) -> Keys:
            async with pool.acquire() as conn:
                return await VAULT.keys_for_opening(conn, subjects)

        async def pump() -> None:
            try:
                while True:
                    batch = await consumer.getmany(timeout_ms=100)
                    got = False
                    for records in batch.values():
                        for rec in records:
                            attrs = parse_attributes(list(rec.headers or ()))
                            payload = await open_event_payload(attrs, rec.value, keys_for)
                            self.by_key[rec.key.decode()].append((attrs.type.split(".", 2)[2], payload))
                            got = True
                    if got:
                        async with self._changed:
                            self._changed.notify_all()
            finally:
                await consumer.stop()
                await pool.close()

        self._task = asyncio.create_task(pump())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def types(self, key: str) -> list[str]:
        """Short types, e.g. 'sessions.agreement.drafted.v1'."""
        return [t for t, _ in self.by_key.get(str(key), [])]

    def of(self, key: str, short_type: str) -> list[Any]:
        return [p for t, p in self.by_key.get(str(key), []) if t == short_type]

    async def wait(self, key: str, short_type: str, count: int = 1, timeout: float = 15.0) -> list[Any]:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.of(key, short_type)) >= count)
        return self.of(key, short_type)


@pytest.fixture(scope="session")
async def bus(svc: RunningService, bootstrap_servers: str, admin_dsn: str) -> AsyncIterator[Bus]:
    b = Bus(bootstrap_servers, svc.settings.kafka_topic_prefix + topics.SESSIONS_RELATIONSHIP, admin_dsn)
    await b.start()
    yield b
    await b.stop()


async def publish(svc: RunningService, payload: EventPayload) -> None:
    await publish_event(svc, build_event(payload, source=owner_source(payload.topic)))


def person(tag: str, *, tz: str, region: str = "emea", seniority: int = 3) -> ParticipantRef:
    return ParticipantRef(
        participant_id=f"P-{tag}",
        employee_id=f"E-{tag}",
        display_name=f"Person {tag}",
        email=f"{tag.lower()}@bridge.example",
        region=region,
        department="Engineering",
        seniority_level=seniority,
        timezone=tz,
    )


class Pair:
    def __init__(self, rel: dict[str, Any], mentor: ParticipantRef, mentee: ParticipantRef) -> None:
        self.rel = rel
        self.id: str = rel["id"]
        self.mentor, self.mentee = mentor, mentee
        self.base = f"/relationships/{self.id}"

    @property
    def as_mentor(self) -> dict[str, str]:
        return auth("participant", sub=self.mentor.employee_id)

    @property
    def as_mentee(self) -> dict[str, str]:
        return auth("participant", sub=self.mentee.employee_id)


async def form_pair(
    svc: RunningService,
    *,
    mentor_tz: str = "Europe/Berlin",
    mentee_tz: str = "Europe/London",
    region: str = "emea",
    cohort_id: str | None = None,
    programme_end: date | None = date(2025, 9, 30),
    formed_at: datetime = START,
    times: int = 1,
) -> Pair:
    """Publishes pair.formed (`times` times) and waits for sessions to open the relationship."""
    tag = uuid.uuid4().hex[:8].upper()
    mentor = person(f"M{tag}", tz=mentor_tz, region=region, seniority=2)
    mentee = person(f"L{tag}", tz=mentee_tz, region=region, seniority=9)
    payload = PairFormedV1(
        pair_id=f"pair-{tag}",
        cohort_id=cohort_id or f"cohort-{tag}",
        mentor=mentor,
        mentee=mentee,
        explanation=MatchExplanation(score=0.8, breakdown={"skills": 0.8}, summary="good fit"),
        formed_at=formed_at,
        programme_end=programme_end,
        hr_contact_email="hr@bridge.example",
    )
    for _ in range(times):
        await publish(svc, payload)
    headers = auth("participant", sub=mentor.employee_id)
    async with asyncio.timeout(20):
        while True:
            r = await svc.client.get("/relationships", headers=headers)
            rels = [x for x in r.json() if x["pair_id"] == payload.pair_id]
            if rels:
                return Pair(rels[0], mentor, mentee)
            await asyncio.sleep(0.1)


async def create_cohort(svc: RunningService, cohort_id: str, threshold: int) -> None:
    await publish(
        svc,
        CohortCreatedV1(
            cohort_id=cohort_id,
            name="Test cohort",
            regions=["emea"],
            hr_contact_email="hr@bridge.example",
            inactivity_threshold_days=threshold,
        ),
    )


AGREEMENT = {
    "mentor": {
        "learning_goals": ["How the board thinks about risk"],
        "success_metrics": ["Can pitch to execs"],
        "offers": "Generative AI in daily work",
    },
    "mentee": {"learning_goals": ["Use AI tools hands-on"], "success_metrics": ["Ships one AI workflow"]},
    "cadence_days": 14,
    "meeting_mode": "video",
    "meeting_place": "Teams",
    "rules_of_engagement": ["Chatham House", "Either can say no"],
    "start_date": "2025-03-03",
    "end_date": "2025-09-01",
}


async def activate_agreement(svc: RunningService, pair: Pair, **changes: Any) -> dict[str, Any]:
    r = await svc.client.post(f"{pair.base}/agreement", json={**AGREEMENT, **changes}, headers=pair.as_mentor)
    assert r.status_code == 201, r.text
    v = r.json()["version"]
    r = await svc.client.post(f"{pair.base}/agreement/versions/{v}/confirm", headers=pair.as_mentee)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def hold_session(
    svc: RunningService, pair: Pair, starts_at: datetime, topics: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """Logs a session that already happened (POST .../sessions/log: no invite)."""
    topics = topics or [("AI prompts", "mentor_to_mentee"), ("Stakeholders", "mentee_to_mentor")]
    r = await svc.client.post(
        f"{pair.base}/sessions/log",
        headers=pair.as_mentee,
        json={
            "starts_at": starts_at.isoformat(),
            "actual_duration_minutes": 55,
            "topics": [{"topic": t, "direction": d} for t, d in topics],
        },
    )
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result
