"""Privacy of circles (docs/privacy.md): erasing a member removes them from the circle and leaves no
column of the schema holding their name, e-mail or employee id (their ideas and learning topics read
as erased, every other text is redacted) while the circle goes on; erasing the facilitator ends the
circle; an export holds the person's circles with their own words only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import icalendar
import pytest

from bridge_shared.contracts.circles import CircleFormedV1
from bridge_shared.contracts.privacy import ErasureRequestedV1, ExportRequestedV1
from bridge_shared.events import topics
from bridge_shared.events.envelope import build_event
from bridge_shared.messaging.sources import owner_source
from bridge_shared.privacy.answers import join_parts
from bridge_shared.privacy.erased import ERASED_TEXT
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, auth, publish_event
from tests.sessions.conftest import START, Bus
from tests.sessions.test_circles_support import (
    AGREEMENT,
    CLOSED,
    SCHEDULED,
    Circle,
    circle_bus,
    form_circle,
    formed_event,
    log_session,
)
from tests.shared import privacy_scan
from tests.shared.events_for_tests import erase_keys

pytestmark = pytest.mark.integration
__all__ = ["circle_bus"]  # the fixture, used by name


@pytest.fixture(scope="module")
async def answers(svc: RunningService, bootstrap_servers: str, admin_dsn: str) -> AsyncIterator[Bus]:
    b = Bus(bootstrap_servers, svc.settings.kafka_topic_prefix + topics.SESSIONS_PRIVACY, admin_dsn)
    await b.start()
    yield b
    await b.stop()


@pytest.fixture(autouse=True)
def _clock_back(clock: FrozenClock) -> Any:
    clock.set(START)
    yield
    clock.set(START)


@pytest.fixture
async def db(admin_dsn: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    conn = await asyncpg.connect(admin_dsn)
    yield conn
    await conn.close()


SURNAMES = {
    "Fay": "Fairweather",
    "Jun": "Ottoline",
    "Jo": "Brackenbury",
    "Sam": "Quennell",
    "Mid": "Pemberton",
}


def named_event() -> CircleFormedV1:
    """A circle whose members have names of their own (not one shared tag), so each person's needles
    are theirs alone."""
    event = formed_event()
    tag = uuid.uuid4().hex[:6]
    members = [
        m.model_copy(
            update={"display_name": f"{m.display_name.split()[0]} {SURNAMES[m.display_name.split()[0]]}{tag}"}
        )
        for m in event.members
    ]
    return event.model_copy(update={"members": members})


def needles(c: Circle, tag: str) -> list[str]:
    m = c.member(tag)
    return [m.display_name, str(m.email), m.employee_id]


async def _ok(r: Any, code: int = 200) -> dict[str, Any]:
    assert r.status_code == code, r.text
    body: dict[str, Any] = r.json()
    return body


async def story(svc: RunningService, admin_dsn: str, clock: FrozenClock) -> Circle:
    """A circle with everything sessions stores, naming Jun (to be erased) in its texts."""
    c = await form_circle(svc, admin_dsn, named_event())
    jun = c.member("Jun")
    name, mail, emp = jun.display_name, str(jun.email), jun.employee_id
    agreement = {
        **AGREEMENT,
        "shared_goals": [f"Learn reels from {name}", "Promote one product"],
        "rules_of_engagement": f"{emp} keeps the time; write to {mail}",
        "personal_goals": [
            {"participant_id": c.pid("Jun"), "goal": "Understand budgets"},
            {"participant_id": c.pid("Sam"), "goal": f"Post weekly like {name}"},
        ],
    }
    v = (
        await _ok(await svc.client.post(f"{c.base}/agreement", json=agreement, headers=c.as_facilitator), 201)
    )["version"]
    await _ok(
        await svc.client.post(
            f"{c.base}/agreement/versions/{v}/confirm",
            json={"personal_goal": "Budgets, really"},
            headers=c.as_("Jun"),
        )
    )
    for t in ("Jo", "Sam", "Mid"):
        await _ok(await svc.client.post(f"{c.base}/agreement/versions/{v}/confirm", headers=c.as_(t)))
    url = f"{c.base}/sessions"
    await _ok(
        await svc.client.post(
            url,
            json={"starts_at": (START + timedelta(days=20)).isoformat(), "location": f"Desk of {name}"},
            headers=c.as_("Jun"),
        ),
        201,
    )
    cancelled = await _ok(
        await svc.client.post(
            url, json={"starts_at": (START + timedelta(days=9)).isoformat()}, headers=c.as_("Jo")
        ),
        201,
    )
    await _ok(
        await svc.client.post(
            f"{url}/{cancelled['id']}/cancel", json={"reason": f"{name} is away"}, headers=c.as_("Jo")
        )
    )
    clock.set(START + timedelta(days=3))
    await log_session(
        svc,
        c,
        START + timedelta(days=2),
        ideas=[("Jun", "A reel series about the product"), ("Sam", f"A stand, with {name} filming")],
        learning=[
            ("Jun", "Sam", "Editing reels"),
            ("Fay", "Jun", "How budgets work"),
            ("Sam", "Jo", "Pricing"),
        ],
        activity_id="promote-everyday-product",
    )
    return c


async def erase(svc: RunningService, answers: Bus, admin_dsn: str, participant_id: str) -> dict[str, int]:
    await erase_keys([participant_id], dsn=admin_dsn)  # matching destroys the keys first
    erasure_id = f"erasure-{uuid.uuid4().hex[:8]}"
    req = ErasureRequestedV1(erasure_id=erasure_id, participant_ids=[participant_id], requested_at=START)
    await publish_event(svc, build_event(req, source=owner_source(req.topic)))
    done = (await answers.wait(erasure_id, "sessions.erasure.completed.v1"))[0]
    erased: dict[str, int] = done.erased
    return erased


async def test_erasing_a_member_leaves_no_trace_and_the_circle_goes_on(
    svc: RunningService,
    circle_bus: Bus,
    answers: Bus,
    clock: FrozenClock,
    admin_dsn: str,
    db: asyncpg.Connection[Any],
) -> None:
    c = await story(svc, admin_dsn, clock)
    schema = svc.settings.db_schema
    assert await privacy_scan.hits(db, needles(c, "Jun"), [schema]), "the story stores the person"
    erased = await erase(svc, answers, admin_dsn, c.pid("Jun"))
    assert erased["circles"] == 1 and erased["circles_closed"] == 0
    assert erased["circle_ideas"] == 1 and erased["circle_learning"] == 2 and erased["circle_goals"] == 1
    assert erased["texts_redacted"] >= 5
    assert await privacy_scan.hits(db, needles(c, "Jun"), [schema]) == []

    circle = await _ok(await svc.client.get(c.base, headers=c.as_facilitator))
    assert circle["status"] == "active" and c.pid("Jun") not in [
        m["participant_id"] for m in circle["members"]
    ]
    assert (await svc.client.get(c.base, headers=c.as_("Jun"))).status_code == 404, "nobody is them now"
    sessions = (await svc.client.get(f"{c.base}/sessions", headers=c.as_("Sam"))).json()
    [held] = [s for s in sessions if s["status"] == "held"]
    ideas = {i["participant_id"]: i["text"] for i in held["ideas"]}
    assert (
        ideas[c.pid("Jun")] == ERASED_TEXT and ideas[c.pid("Sam")] == f"A stand, with {ERASED_TEXT} filming"
    )
    topics_ = [(f["from_id"], f["topic"]) for f in held["learning"]]
    assert topics_ == [(c.pid("Jun"), ERASED_TEXT), (c.pid("Fay"), ERASED_TEXT), (c.pid("Sam"), "Pricing")]
    view = await _ok(await svc.client.get(f"{c.base}/agreement", headers=c.as_("Sam")))
    parts = {p["participant_id"]: p["personal_goal"] for p in view["active"]["members"]}
    assert parts[c.pid("Jun")] is None and parts[c.pid("Sam")] == f"Post weekly like {ERASED_TEXT}"

    # The circle goes on without them: the next invite names the four others.
    r = await svc.client.post(
        f"{c.base}/sessions",
        json={"starts_at": (START + timedelta(days=30)).isoformat()},
        headers=c.as_("Jo"),
    )
    sid = (await _ok(r, 201))["id"]
    scheduled = next(e for e in await circle_bus.wait(c.id, SCHEDULED, 3) if e.session_id == sid)
    assert c.pid("Jun") not in scheduled.member_ids and len(scheduled.member_ids) == 4
    [ev] = icalendar.Calendar.from_ical(scheduled.invite.ics).walk("VEVENT")
    assert str(c.member("Jun").email) not in scheduled.invite.ics and len(ev.get("attendee")) == 4


async def test_erasing_the_facilitator_ends_the_circle(
    svc: RunningService, circle_bus: Bus, answers: Bus, admin_dsn: str, db: asyncpg.Connection[Any]
) -> None:
    c = await form_circle(svc, admin_dsn, named_event())
    await _ok(
        await svc.client.post(
            f"{c.base}/sessions",
            json={"starts_at": (START + timedelta(days=8)).isoformat()},
            headers=c.as_("Jo"),
        ),
        201,
    )
    erased = await erase(svc, answers, admin_dsn, c.facilitator.participant_id)
    assert erased["circles"] == 1 and erased["circles_closed"] == 1
    [closed] = await circle_bus.wait(c.id, CLOSED)
    assert closed.outcome == "ended_early"
    circle = await _ok(await svc.client.get(c.base, headers=c.as_("Jo")))
    assert circle["status"] == "closed" and circle["close_reason"] == "erasure"
    assert await privacy_scan.hits(db, needles(c, "Fay"), [svc.settings.db_schema]) == []


async def test_export_holds_the_persons_circles_and_their_own_words_only(
    svc: RunningService, answers: Bus, clock: FrozenClock, admin_dsn: str
) -> None:
    c = await story(svc, admin_dsn, clock)
    export_id = f"export-{uuid.uuid4().hex[:8]}"
    req = ExportRequestedV1(export_id=export_id, participant_ids=[c.pid("Sam")], requested_at=START)
    await publish_event(svc, build_event(req, source=owner_source(req.topic)))
    parts = await answers.wait(export_id, "sessions.export.part.v1")
    data = join_parts([p.data for p in parts])
    assert any("1 mentoring circle" in s for s in data["summary"])
    [circle] = data["circles"]
    assert (
        circle["circle_id"] == c.id and circle["role"] == "member" and circle["you"]["generation"] == "senior"
    )
    assert circle["you"]["email"] == str(c.member("Sam").email)
    assert {m["display_name"] for m in circle["members"]} == {
        c.member(t).display_name for t in ("Fay", "Jun", "Jo", "Mid")
    }
    [agreement] = data["circle_agreements"]
    assert agreement["your_personal_goal"] == f"Post weekly like {c.member('Jun').display_name}"
    assert sorted(s["status"] for s in data["circle_sessions"]) == ["cancelled", "held", "scheduled"]
    assert [s["you_attended"] for s in data["circle_sessions"] if s["status"] == "held"] == [True]
    assert [i["text"] for i in data["circle_ideas"]] == [
        f"A stand, with {c.member('Jun').display_name} filming"
    ]
    assert sorted((f["you"], f["topic"]) for f in data["circle_learning"]) == [
        ("learnt", "Editing reels"),
        ("taught", "Pricing"),
    ]
    text = str(data)
    assert "Budgets, really" not in text and "A reel series" not in text, "other members' words are theirs"
    assert (await svc.client.get("/circles", headers=auth("participant", sub="erased"))).json() == []
