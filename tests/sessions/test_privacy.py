"""Privacy in sessions (issue 14) against the real PostgreSQL and broker: a person's erasure (their
relationship closes, every column of the schema is free of their name / e-mail / employee id, the
partner's data stays apart from redactions, the answer goes out once), their export (opened with the
vault keys), retention, and a pair.formed for an erased person."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bridge_sessions.app.retention import run_retention
from bridge_shared.contracts.matching import (
    MatchExplanationV2,
    PairDissolvedV2,
    PairFormedV2,
    ParticipantRefV2,
)
from bridge_shared.contracts.privacy import ErasureRequestedV1, ExportRequestedV1
from bridge_shared.events import topics
from bridge_shared.events.envelope import build_event
from bridge_shared.messaging.sources import owner_source
from bridge_shared.privacy.answers import join_parts
from bridge_shared.privacy.erased import ERASED_ID, ERASED_NAME, ERASED_TEXT
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService, auth, publish_event
from tests.sessions.conftest import AGREEMENT, START, Bus, Pair
from tests.shared import privacy_scan
from tests.shared.events_for_tests import erase_keys, sealed_event

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def answers(svc: RunningService, bootstrap_servers: str, admin_dsn: str) -> AsyncIterator[Bus]:
    """sessions' answers on bridge.sessions.privacy, opened as a consumer would."""
    b = Bus(bootstrap_servers, svc.settings.kafka_topic_prefix + topics.SESSIONS_PRIVACY, admin_dsn)
    await b.start()
    yield b
    await b.stop()


@pytest.fixture(autouse=True)
def _clock_back(clock: FrozenClock) -> Any:
    """The service's clock is shared with the other test files: put it back."""
    yield
    clock.set(START)


@pytest.fixture
async def db(admin_dsn: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    conn = await asyncpg.connect(admin_dsn)
    yield conn
    await conn.close()


def _person(tag: str, first: str, *, pid: str | None = None) -> ParticipantRefV2:
    return ParticipantRefV2(
        participant_id=pid or f"P-{first}-{tag}",
        employee_id=f"E-{first.upper()}-{tag}",
        display_name=f"{first} {first[:2]}{tag}",
        email=f"{first.lower()}.{tag.lower()}@corp.example",
        region="emea",
        department="Engineering",
        seniority_level=3,
        timezone="Europe/Berlin",
    )


async def _form(
    svc: RunningService, admin_dsn: str, mentor: ParticipantRefV2, mentee: ParticipantRefV2
) -> str:
    """pair.formed v2 (sealed as matching's outbox would); returns its event id."""
    tag = uuid.uuid4().hex[:8]
    payload = PairFormedV2(
        pair_id=f"pair-{tag}",
        cohort_id=f"cohort-{tag}",
        mentor=mentor,
        mentee=mentee,
        explanation=MatchExplanationV2(score=0.8, breakdown={"skills": 0.8}, summary="good fit"),
        formed_at=START,
        programme_end=datetime(2025, 9, 30, tzinfo=UTC).date(),
        hr_contact_email="hr@bridge.example",
    )
    evt = await sealed_event(payload, source=owner_source(payload.topic), dsn=admin_dsn)
    await publish_event(svc, evt)
    return evt.id


async def _formed_pair(
    svc: RunningService, admin_dsn: str, mentor: ParticipantRefV2, mentee: ParticipantRefV2
) -> Pair:
    await _form(svc, admin_dsn, mentor, mentee)
    headers = auth("participant", sub=mentor.employee_id)
    async with asyncio.timeout(20):
        while True:
            rels = (await svc.client.get("/relationships", headers=headers)).json()
            if rels:
                return Pair(rels[0], mentor, mentee)  # type: ignore[arg-type]
            await asyncio.sleep(0.1)


@dataclass
class Story:
    """A relationship with everything sessions stores, the mentor ('Ottilie') to be erased."""

    pair: Pair
    mentor: ParticipantRefV2
    mentee: ParticipantRefV2
    held_by_mentee: str
    held_by_mentor: str
    cancelled: str
    upcoming: str
    mentor_goal: str
    mentee_goal: str

    def needles(self, who: ParticipantRefV2) -> list[str]:
        return [who.display_name, str(who.email), who.employee_id]


async def _ok(r: Any, code: int = 200) -> dict[str, Any]:
    assert r.status_code == code, r.text
    body: dict[str, Any] = r.json()
    return body


async def _story(svc: RunningService, admin_dsn: str, clock: FrozenClock) -> Story:
    clock.set(START)
    tag = uuid.uuid4().hex[:8].upper()
    mentor, mentee = _person(tag, "Ottilie"), _person(tag, "Barnaby")
    pair = await _formed_pair(svc, admin_dsn, mentor, mentee)
    c, base = svc.client, pair.base
    o_name, o_mail, o_emp = mentor.display_name, str(mentor.email), mentor.employee_id
    agreement = {
        **AGREEMENT,
        "start_date": "2024-09-02",  # half-way through by 2025-03-03, so the mid-point survey is open
        "mentor": {
            "learning_goals": [f"How {mentee.display_name} runs the board"],
            "success_metrics": ["Pitch to execs"],
            "offers": f"{o_name} shows AI tools",
        },
        "mentee": {"learning_goals": [f"Learn prompts from {o_name} ({o_mail})"], "success_metrics": ["One"]},
        "meeting_place": f"Desk of {o_name}",
        "rules_of_engagement": [f"{o_emp} books the room"],
    }
    v = (await _ok(await c.post(f"{base}/agreement", json=agreement, headers=pair.as_mentor), 201))["version"]
    await _ok(await c.post(f"{base}/agreement/versions/{v}/confirm", headers=pair.as_mentee))

    async def schedule(at: datetime, location: str) -> str:
        r = await c.post(
            f"{base}/sessions",
            headers=pair.as_mentor,
            json={"starts_at": at.isoformat(), "location": location},
        )
        return str((await _ok(r, 201))["id"])

    s1 = await schedule(START + timedelta(days=1), f"Room of {o_name}")
    s2 = await schedule(START + timedelta(days=2), "Teams")
    s3 = await schedule(START + timedelta(days=20), "Teams")
    s4 = await schedule(START + timedelta(days=40), f"{o_name}'s office")
    clock.set(START + timedelta(days=3))
    held = {
        "actual_duration_minutes": 50,
        "topics": [{"topic": f"Prompts with {o_name}", "direction": "mentor_to_mentee"}],
        "shared_notes": f"Barnaby: {o_name} showed prompts; write to {o_mail}",
        "action_items": [{"text": f"{o_name} sends the list", "owner": "mentor", "due": None}],
        "private_note": f"{o_name} seemed tired (Barnaby's own note)",
    }
    await _ok(await c.post(f"{base}/sessions/{s1}/held", headers=pair.as_mentee, json=held))
    await _ok(
        await c.put(
            f"{base}/sessions/{s1}/private-note",
            headers=pair.as_mentor,
            json={"body": f"Ottilie's own {o_emp}"},
        )
    )
    held2 = {
        "actual_duration_minutes": 40,
        "topics": [{"topic": "Stakeholders", "direction": "mentee_to_mentor"}],
        "shared_notes": f"Written by {o_name} herself",
        "private_note": "Ottilie private two",
    }
    await _ok(await c.post(f"{base}/sessions/{s2}/held", headers=pair.as_mentor, json=held2))
    await _ok(
        await c.post(
            f"{base}/sessions/{s3}/cancel", headers=pair.as_mentor, json={"reason": f"{o_name} is travelling"}
        )
    )
    g1 = await _ok(
        await c.post(
            f"{base}/goals",
            headers=pair.as_mentor,
            json={
                "title": f"{o_name} teaches AI",
                "description": f"mail {o_mail}",
                "success_measure": "demo",
            },
        ),
        201,
    )
    await _ok(
        await c.post(
            f"{base}/goals/{g1['id']}/check-ins", headers=pair.as_mentor, json={"rating": 3, "note": "ok"}
        ),
        201,
    )
    g2 = await _ok(
        await c.post(
            f"{base}/goals",
            headers=pair.as_mentee,
            json={"title": f"Work with {o_name} on prompts", "description": "Barnaby's own goal"},
        ),
        201,
    )
    await _ok(
        await c.post(
            f"{base}/sessions/{s1}/pulse",
            headers=pair.as_mentor,
            json={"rating": 4, "comment": "Ottilie liked it"},
        ),
        201,
    )
    await _ok(
        await c.post(
            f"{base}/sessions/{s1}/pulse",
            headers=pair.as_mentee,
            json={"rating": 5, "comment": f"{o_name} was great"},
        ),
        201,
    )
    survey = {"satisfaction": 5, "recommend_score": 9, "learned": f"AI from {o_name}", "taught": "Boards"}
    await _ok(await c.post(f"{base}/surveys/midpoint", headers=pair.as_mentee, json=survey), 201)
    await _ok(
        await c.post(
            f"{base}/surveys/midpoint",
            headers=pair.as_mentor,
            json={**survey, "learned": f"{o_name}'s own words", "comment": o_emp},
        ),
        201,
    )
    return Story(pair, mentor, mentee, s1, s2, s3, s4, str(g1["id"]), str(g2["id"]))


async def scan(db: asyncpg.Connection[Any], schema: str, needles: list[str]) -> list[str]:
    """Every text-like column of `schema` holding a needle (any case)."""
    assert len(await privacy_scan.text_columns(db, [schema])) > 20, "the scan must see the schema's columns"
    return await privacy_scan.hits(db, needles, [schema])


async def _handled(db: asyncpg.Connection[Any], schema: str, event_id: str) -> None:
    async with asyncio.timeout(20):
        while not await db.fetchval(f'SELECT count(*) FROM "{schema}".inbox WHERE event_id = $1', event_id):
            await asyncio.sleep(0.1)


async def test_erasure_leaves_no_trace_and_keeps_the_partner(
    svc: RunningService,
    bus: Bus,
    answers: Bus,
    clock: FrozenClock,
    admin_dsn: str,
    db: asyncpg.Connection[Any],
) -> None:
    story = await _story(svc, admin_dsn, clock)
    schema = svc.settings.db_schema
    o = story.mentor
    assert await scan(db, schema, story.needles(o)), "the story stores the person (the scan can fail)"

    clock.set(START + timedelta(days=4))
    await erase_keys([o.participant_id], dsn=admin_dsn)  # matching destroys the keys first
    erasure_id = f"erasure-{uuid.uuid4().hex[:8]}"
    request = ErasureRequestedV1(
        erasure_id=erasure_id,
        participant_ids=[o.participant_id, f"P-elsewhere-{uuid.uuid4().hex[:6]}"],
        requested_at=START + timedelta(days=4),
    )
    record = build_event(request, source=owner_source(request.topic))
    await publish_event(svc, record)

    done = (await answers.wait(erasure_id, "sessions.erasure.completed.v1"))[0]
    assert done.service == "sessions" and done.erasure_id == erasure_id
    erased = done.erased
    assert erased["relationships"] == 1 and erased["relationships_closed"] == 1
    assert erased["private_notes"] == 2 and erased["shared_notes"] == 1
    assert erased["feedback_texts"] == 2 and erased["goals"] == 1 and erased["texts_redacted"] >= 5

    assert await scan(db, schema, story.needles(o)) == []

    # pair.closed goes out; its sealed fields (both people's keys) read as erased
    rid = story.pair.id
    closed = (await bus.wait(rid, "sessions.pair.closed.v2"))[0]
    assert closed.outcome == "ended_early" and closed.reason == ERASED_TEXT and closed.closed_by is None
    cancelled = [
        e for e in await bus.wait(rid, "sessions.session.cancelled.v2", 2) if e.session_id == story.upcoming
    ]
    assert cancelled and cancelled[0].invite.ics == ERASED_TEXT

    # the partner's own data stays, minus the person's identifiers
    c, base, as_mentee = svc.client, story.pair.base, story.pair.as_mentee
    rel = (await c.get(base, headers=as_mentee)).json()
    assert rel["status"] == "closed" and rel["close_reason"] == "erasure"
    assert rel["mentor_name"] == ERASED_NAME and rel["mentee_name"] == story.mentee.display_name
    s1 = (await c.get(f"{base}/sessions/{story.held_by_mentee}", headers=as_mentee)).json()
    assert s1["my_private_note"] == f"{ERASED_TEXT} seemed tired (Barnaby's own note)"
    assert s1["shared_notes"] == f"Barnaby: {ERASED_TEXT} showed prompts; write to {ERASED_TEXT}"
    assert (
        s1["location"] == f"Room of {ERASED_TEXT}"
        and s1["topics"][0]["topic"] == f"Prompts with {ERASED_TEXT}"
    )
    s2 = (await c.get(f"{base}/sessions/{story.held_by_mentor}", headers=as_mentee)).json()
    assert s2["shared_notes"] is None
    s3 = (await c.get(f"{base}/sessions/{story.cancelled}", headers=as_mentee)).json()
    assert s3["cancel_reason"] == f"{ERASED_TEXT} is travelling" and s3["cancelled_by"] == ERASED_ID
    goals = {g["id"]: g for g in (await c.get(f"{base}/goals", headers=as_mentee)).json()}
    assert (
        goals[story.mentor_goal]["title"] == ERASED_TEXT and goals[story.mentor_goal]["description"] is None
    )
    assert [ci["rating"] for ci in goals[story.mentor_goal]["check_ins"]] == [3]
    assert goals[story.mentee_goal]["title"] == f"Work with {ERASED_TEXT} on prompts"
    assert goals[story.mentee_goal]["description"] == "Barnaby's own goal"
    feedback = (await c.get(f"{base}/feedback", headers=auth("hr_admin"))).json()
    theirs = [f for f in feedback if f["by_side"] == "mentor"]
    partner = [f for f in feedback if f["by_side"] == "mentee"]
    assert {f["rating"] for f in theirs} == {4, 5} and all(f["comment"] is None for f in theirs)
    assert all(f["learned"] is None for f in theirs)
    assert {f["comment"] for f in partner} == {f"{ERASED_TEXT} was great", None}
    assert {f["learned"] for f in partner} == {None, f"AI from {ERASED_TEXT}"}
    agreement = (await c.get(f"{base}/agreement", headers=as_mentee)).json()["active"]
    assert agreement["meeting_place"] == f"Desk of {ERASED_TEXT}"
    assert agreement["mentee"]["learning_goals"] == [f"Learn prompts from {ERASED_TEXT} ({ERASED_TEXT})"]
    # nobody can act as the erased person (their employee id is a placeholder)
    assert (await c.get(base, headers=auth("participant", sub=ERASED_ID))).status_code == 404
    assert (await c.get(base, headers=auth("participant", sub=o.employee_id))).status_code == 404

    # redelivery of the same record: the inbox makes it a no-op; a new request for the same person
    # (same key, so after it) confirms again and finds nothing more of theirs
    await publish_event(svc, record)
    again = ErasureRequestedV1(erasure_id=erasure_id, participant_ids=[o.participant_id], requested_at=START)
    await publish_event(svc, build_event(again, source=owner_source(again.topic)))
    both = await answers.wait(erasure_id, "sessions.erasure.completed.v1", 2)
    await asyncio.sleep(1)
    assert len(answers.of(erasure_id, "sessions.erasure.completed.v1")) == 2
    second = both[1].erased
    for kind in ("relationships", "relationships_closed", "private_notes", "shared_notes", "feedback_texts"):
        assert second[kind] == 0, (kind, second)
    assert second["goals"] == 0 and second["texts_redacted"] == 0 and second["actor_ids"] == 0
    assert len(bus.of(rid, "sessions.pair.closed.v2")) == 1
    assert await scan(db, schema, story.needles(o)) == []


async def test_erasure_of_an_unknown_person_confirms_zeros(svc: RunningService, answers: Bus) -> None:
    erasure_id = f"erasure-{uuid.uuid4().hex[:8]}"
    req = ErasureRequestedV1(
        erasure_id=erasure_id, participant_ids=[f"P-nobody-{uuid.uuid4().hex[:6]}"], requested_at=START
    )
    await publish_event(svc, build_event(req, source=owner_source(req.topic)))
    done = (await answers.wait(erasure_id, "sessions.erasure.completed.v1"))[0]
    assert done.erased and set(done.erased.values()) == {0}


async def test_export_holds_the_person_and_not_the_partners_private_words(
    svc: RunningService, answers: Bus, clock: FrozenClock, admin_dsn: str
) -> None:
    story = await _story(svc, admin_dsn, clock)
    o = story.mentor
    export_id = f"export-{uuid.uuid4().hex[:8]}"
    req = ExportRequestedV1(export_id=export_id, participant_ids=[o.participant_id], requested_at=START)
    await publish_event(svc, build_event(req, source=owner_source(req.topic)))
    parts = await answers.wait(export_id, "sessions.export.part.v1")
    assert parts[0].chunks == len(parts) == 1 and parts[0].participant_ids == [o.participant_id]
    data = join_parts([p.data for p in parts])  # opened with the person's key from the vault

    assert data["service"] == "sessions" and len(data["summary"]) >= 4
    assert any("1 mentoring relationship" in s for s in data["summary"])
    [rel] = data["relationships"]
    assert rel["role"] == "mentor" and rel["partner"] == {
        "display_name": story.mentee.display_name,
        "role": "mentee",
    }
    assert rel["you"]["email"] == str(o.email) and rel["status"] == "active"
    assert rel["started_at"].startswith("2025-03-03T09:00:00")
    assert [a["version"] for a in data["agreements"]] == [1] and data["agreements"][0]["drafted_by"] == "you"
    statuses = sorted(s["status"] for s in data["sessions"])
    assert statuses == ["cancelled", "held", "held", "scheduled"]
    assert {s["cancelled_by"] for s in data["sessions"] if s["status"] == "cancelled"} == {"you"}
    assert {n["written_by"] for n in data["shared_notes"]} == {"you", "partner"}
    assert sorted(n["body"] for n in data["private_notes"]) == sorted(
        [f"Ottilie's own {o.employee_id}", "Ottilie private two"]
    )
    assert [g["id"] for g in data["goals"]] == [story.mentor_goal] and data["goals"][0]["check_ins"]
    assert sorted(f["kind"] for f in data["feedback_given"]) == ["midpoint", "pulse"]
    assert {f["comment"] for f in data["feedback_given"]} == {"Ottilie liked it", o.employee_id}
    received = data["ratings_received"]
    assert sorted(f["rating"] for f in received) == [5, 5]
    assert all("comment" not in f and "learned" not in f for f in received)
    text = str(data)
    assert "seemed tired" not in text, "the partner's private note is theirs"
    assert "was great" not in text and "AI from" not in text, "the partner's feedback text is theirs"
    assert "Barnaby's own goal" not in text


async def test_retention_by_kind(
    svc: RunningService, clock: FrozenClock, admin_dsn: str, db: asyncpg.Connection[Any]
) -> None:
    story = await _story(svc, admin_dsn, clock)
    c, base, pair = svc.client, story.pair.base, story.pair
    closed_at = START + timedelta(days=5)
    clock.set(closed_at)
    await _ok(await c.post(f"{base}/close", headers=pair.as_mentee, json={"reason": "done"}))
    s1 = f"{base}/sessions/{story.held_by_mentee}"
    rt = svc.runtime
    schema = svc.settings.db_schema

    async def run(days: int) -> Any:
        ran, result = await run_retention(rt, FrozenClock(closed_at + timedelta(days=days)))
        assert ran and result is not None
        return result

    first = await run(300)  # nothing is due yet (feedback was given at day 3, closed at day 5)
    assert (await c.get(s1, headers=pair.as_mentee)).json()["my_private_note"] is not None
    assert first.relationships == 0
    await run(366)  # private notes (365 after closing) and feedback text (365 after submitting)
    assert (await c.get(s1, headers=pair.as_mentee)).json()["my_private_note"] is None
    assert (await c.get(s1, headers=pair.as_mentee)).json()["shared_notes"] is not None
    feedback = (await c.get(f"{base}/feedback", headers=auth("hr_admin"))).json()
    assert len(feedback) == 4 and all(f["comment"] is None and f["learned"] is None for f in feedback)
    assert sorted(f["rating"] for f in feedback) == [4, 5, 5, 5]
    await run(731)  # shared notes (730 after closing)
    session = (await c.get(s1, headers=pair.as_mentee)).json()
    assert session["shared_notes"] is None and session["action_items"] == []
    assert (await c.get(base, headers=auth("hr_admin"))).json()["mentor_name"] == story.mentor.display_name
    assert await scan(db, schema, story.needles(story.mentee))
    await run(1096)  # the relationship is anonymised (both people)
    rel = (await c.get(base, headers=auth("hr_admin"))).json()
    assert rel["mentor_name"] == ERASED_NAME and rel["mentee_name"] == ERASED_NAME
    assert rel["status"] == "closed" and rel["outcome"] == "ended_early"
    sessions = (await c.get(f"{base}/sessions", headers=auth("hr_admin"))).json()
    assert sorted(s["status"] for s in sessions) == ["cancelled", "cancelled", "held", "held"]
    assert await scan(db, schema, story.needles(story.mentor) + story.needles(story.mentee)) == []
    await run(1100)  # done once: not anonymised again
    assert await db.fetchval(
        f'SELECT anonymised_at FROM "{schema}".relationships WHERE id = $1', uuid.UUID(story.pair.id)
    ) == closed_at + timedelta(days=1096)


async def test_pair_formed_for_an_erased_person_opens_nothing(
    svc: RunningService, admin_dsn: str, db: asyncpg.Connection[Any]
) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    gone, partner = _person(tag, "Gone"), _person(tag, "Live")
    await erase_keys([gone.participant_id], dsn=admin_dsn)
    event_id = await _form(svc, admin_dsn, gone, partner)
    schema = svc.settings.db_schema
    await _handled(db, schema, event_id)
    assert not await db.fetchval(
        f'SELECT count(*) FROM "{schema}".relationships WHERE mentor_id = $1 OR mentee_id = $2',
        gone.participant_id,
        partner.participant_id,
    )
    assert (
        await svc.client.get("/relationships", headers=auth("participant", sub=partner.employee_id))
    ).json() == []


async def test_pair_dissolved_v2_opens_its_sealed_fields(
    svc: RunningService, bus: Bus, admin_dsn: str
) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    mentor, mentee = _person(tag, "Mira"), _person(tag, "Noah")
    pair = await _formed_pair(svc, admin_dsn, mentor, mentee)
    dissolved = PairDissolvedV2(
        pair_id=pair.rel["pair_id"],
        cohort_id=pair.rel["cohort_id"],
        mentor_id=mentor.participant_id,
        mentee_id=mentee.participant_id,
        reason="moved to another team",
        dissolved_by="E-HR-7",
    )
    await publish_event(
        svc, await sealed_event(dissolved, source=owner_source(dissolved.topic), dsn=admin_dsn)
    )
    closed = (await bus.wait(pair.id, "sessions.pair.closed.v2"))[0]
    assert closed.reason == "moved to another team" and closed.closed_by is None
    rel = (await svc.client.get(pair.base, headers=pair.as_mentor)).json()
    assert rel["status"] == "closed" and rel["close_reason"] == "moved to another team"
