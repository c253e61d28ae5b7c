"""What the circle tests (test_circles_*.py) share, no tests of its own: forming a circle as
matching's outbox would (circle.formed sealed under the members' keys), a bus on
bridge.sessions.circle, and helpers for the agreement and held sessions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest

from bridge_shared.contracts.circles import (
    CircleDissolvedV1,
    CircleExplanation,
    CircleFormedV1,
    CircleMember,
    Generation,
)
from bridge_shared.events import topics
from bridge_shared.events.registry import EventPayload
from bridge_shared.messaging.sources import owner_source
from tests.service_harness import RunningService, auth, publish_event
from tests.sessions.conftest import START, Bus
from tests.shared.events_for_tests import sealed_event

STARTED = "sessions.circle.started.v1"
DRAFTED = "sessions.circle.agreement_drafted.v1"
CONFIRMED = "sessions.circle.agreement_confirmed.v1"
SCHEDULED = "sessions.circle_session.scheduled.v1"
RESCHEDULED = "sessions.circle_session.rescheduled.v1"
CANCELLED = "sessions.circle_session.cancelled.v1"
HELD = "sessions.circle_session.held.v1"
AT_RISK = "sessions.circle.at_risk.v1"
RESOLVED = "sessions.circle.risk_resolved.v1"
CLOSED = "sessions.circle.closed.v1"

# Who is in a test circle: (tag, generation, seniority, time zone, region). The first is the facilitator.
DEFAULT_PEOPLE: tuple[tuple[str, Generation, int, str, str], ...] = (
    ("Fay", "senior", 10, "Europe/Berlin", "emea"),
    ("Jun", "junior", 2, "Asia/Tokyo", "apac"),
    ("Jo", "junior", 3, "Europe/London", "emea"),
    ("Sam", "senior", 9, "America/New_York", "amer"),
    ("Mid", "other", 6, "Europe/Paris", "emea"),
)


@pytest.fixture(scope="session")
async def circle_bus(svc: RunningService, bootstrap_servers: str, admin_dsn: str) -> AsyncIterator[Bus]:
    """Every event sessions publishes on bridge.sessions.circle, by circle id."""
    b = Bus(bootstrap_servers, svc.settings.kafka_topic_prefix + topics.SESSIONS_CIRCLE, admin_dsn)
    await b.start()
    yield b
    await b.stop()


@dataclass
class Circle:
    id: str
    cohort_id: str
    members: list[CircleMember]
    facilitator: CircleMember
    body: dict[str, Any] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)
    """Of the circle.formed records published."""

    @property
    def base(self) -> str:
        return f"/circles/{self.id}"

    def member(self, tag: str) -> CircleMember:
        return next(m for m in self.members if m.display_name.split()[0] == tag)

    def as_(self, tag: str) -> dict[str, str]:
        return auth("participant", sub=self.member(tag).employee_id)

    @property
    def as_facilitator(self) -> dict[str, str]:
        return auth("participant", sub=self.facilitator.employee_id)

    def pid(self, tag: str) -> str:
        return self.member(tag).participant_id


async def publish_sealed(svc: RunningService, payload: EventPayload, admin_dsn: str) -> str:
    """As matching's outbox would: personal fields sealed under keys from the vault. The event id."""
    evt = await sealed_event(payload, source=owner_source(payload.topic), dsn=admin_dsn)
    await publish_event(svc, evt)
    return evt.id


def formed_event(
    people: tuple[tuple[str, Generation, int, str, str], ...] = DEFAULT_PEOPLE,
    *,
    cohort_id: str | None = None,
    programme_end: date | None = date(2025, 9, 30),
    formed_at: datetime = START,
    language: str = "en",
) -> CircleFormedV1:
    tag = uuid.uuid4().hex[:8].upper()
    members = [
        CircleMember(
            participant_id=f"P-{name}-{tag}",
            employee_id=f"E-{name.upper()}-{tag}",
            display_name=f"{name} {tag}",
            email=f"{name.lower()}.{tag.lower()}@corp.example",
            region=region,
            department="Engineering" if i % 2 else "Sales",
            seniority_level=level,
            generation=generation,
            timezone=tz,
            locale="de" if name == "Jo" else "en",
        )
        for i, (name, generation, level, tz, region) in enumerate(people)
    ]
    return CircleFormedV1(
        circle_id=f"circle-{tag}",
        cohort_id=cohort_id or f"cohort-{tag}",
        member_ids=[m.participant_id for m in members],
        members=members,
        facilitator_id=members[0].participant_id,
        language=language,
        explanation=CircleExplanation(score=0.9, breakdown={"mix": 1.0}, summary="a good mix"),
        formed_at=formed_at,
        programme_end=programme_end,
        hr_contact_email="hr@bridge.example",
    )


async def form_circle(
    svc: RunningService, admin_dsn: str, event: CircleFormedV1 | None = None, *, times: int = 1
) -> Circle:
    """Publishes circle.formed (`times` times) and waits for sessions to open the circle."""
    event = event or formed_event()
    ids = [await publish_sealed(svc, event, admin_dsn) for _ in range(times)]
    facilitator = next(m for m in event.members if m.participant_id == event.facilitator_id)
    headers = auth("participant", sub=facilitator.employee_id)
    async with asyncio.timeout(20):
        while True:
            r = await svc.client.get(f"/circles/{event.circle_id}", headers=headers)
            if r.status_code == 200:
                return Circle(
                    event.circle_id, event.cohort_id, list(event.members), facilitator, r.json(), ids
                )
            await asyncio.sleep(0.1)


async def handled(svc: RunningService, event_ids: list[str]) -> None:
    """Waits until sessions has handled (inbox) every one of these events."""
    async with asyncio.timeout(20):
        while await svc.runtime.pool.fetchval(
            "SELECT count(*) FROM inbox WHERE event_id = ANY($1::text[])", event_ids
        ) < len(event_ids):
            await asyncio.sleep(0.1)


async def dissolve(svc: RunningService, admin_dsn: str, c: Circle, reason: str = "HR dissolved it") -> None:
    payload = CircleDissolvedV1(
        circle_id=c.id,
        cohort_id=c.cohort_id,
        member_ids=[m.participant_id for m in c.members],
        reason=reason,
        dissolved_at=START,
    )
    await publish_sealed(svc, payload, admin_dsn)


AGREEMENT: dict[str, Any] = {
    "shared_goals": ["Promote one product together", "Everyone teaches once"],
    "cadence_days": 14,
    "rules_of_engagement": "Chatham House; every voice counts",
    "end_date": "2025-09-01",
}


async def activate_agreement(svc: RunningService, c: Circle, **changes: Any) -> dict[str, Any]:
    r = await svc.client.post(f"{c.base}/agreement", json={**AGREEMENT, **changes}, headers=c.as_facilitator)
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    body: dict[str, Any] = {}
    for m in c.members:
        if m is c.facilitator:
            continue
        r = await svc.client.post(
            f"{c.base}/agreement/versions/{version}/confirm",
            headers=auth("participant", sub=m.employee_id),
        )
        assert r.status_code == 200, r.text
        body = r.json()
    return body


async def log_session(
    svc: RunningService,
    c: Circle,
    starts_at: datetime,
    *,
    attended: list[str] | None = None,
    ideas: Sequence[tuple[str, str]] = (),
    learning: Sequence[tuple[str, str, str]] = (),
    activity_id: str | None = None,
) -> dict[str, Any]:
    """The facilitator logs a session that already happened (POST .../sessions/log); members by tag."""
    tags = [m.display_name.split()[0] for m in c.members]
    body: dict[str, Any] = {
        "starts_at": starts_at.isoformat(),
        "duration_minutes": 60,
        "attended_ids": [c.pid(t) for t in (attended if attended is not None else tags)],
        "ideas": [{"participant_id": c.pid(t), "text": text} for t, text in ideas],
        "learning": [{"from_id": c.pid(f), "to_id": c.pid(t), "topic": topic} for f, t, topic in learning],
    }
    if activity_id is not None:
        body["activity_id"] = activity_id
    r = await svc.client.post(f"{c.base}/sessions/log", headers=c.as_facilitator, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result
