"""Relationship health scheduler: each condition is signalled once when it starts and resolved
when it ends; state lives in the database, so a restarted or second instance does not repeat a
signal; concurrent ticks from two instances signal once. The clock is a FrozenClock - no sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from asgi_lifespan import LifespanManager

from bridge_sessions.app.health import TickResult, health_tick, run_health_tick
from bridge_sessions.main import create_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared.db.pool import create_pool
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService
from tests.sessions.conftest import (
    AGREEMENT,
    START,
    Bus,
    Pair,
    activate_agreement,
    create_cohort,
    form_pair,
    hold_session,
)

pytestmark = pytest.mark.integration
AT_RISK = "sessions.pair.at_risk.v1"
RESOLVED = "sessions.pair.risk_resolved.v1"
ENDING_SOON = "sessions.relationship.ending_soon.v1"
SURVEY_OPENED = "sessions.survey.opened.v1"
SURVEY = {"satisfaction": 4, "recommend_score": 8, "learned": "Prompting", "taught": "Reading a P&L"}


async def tick(svc: RunningService, clock: FrozenClock, at: datetime) -> TickResult:
    clock.set(at)
    ran, result = await run_health_tick(svc.runtime)
    assert ran and result is not None
    return result


async def close_and_drain(svc: RunningService, bus: Bus, pair: Pair) -> None:
    """Ends the relationship and waits for its pair.closed: every event on a relationship is keyed by
    it and relayed in order, so once pair.closed is on the bus, all that came before it is too."""
    r = await svc.client.post(f"{pair.base}/close", json={"reason": "drain"}, headers=pair.as_mentor)
    assert r.status_code == 200, r.text
    await bus.wait(pair.id, "sessions.pair.closed.v2")


def reasons(bus: Bus, rid: str, short_type: str) -> list[str]:
    return [e.reason for e in bus.of(rid, short_type)]


@asynccontextmanager
async def second_instance(svc: RunningService, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """Another sessions instance on the same database schema (as a second pod would be)."""
    assert isinstance(svc.settings, SessionsSettings)
    app = create_app(svc.settings, clock=clock)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        yield app.state.runtime


async def test_inactivity_uses_cohort_threshold_signalled_once_and_resolved(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    await create_cohort(svc, "cohort-fast-10d", threshold=10)
    async with asyncio.timeout(15):
        while not await svc.runtime.pool.fetchval(
            "SELECT 1 FROM cohorts WHERE cohort_id = 'cohort-fast-10d'"
        ):
            await asyncio.sleep(0.1)
    fast = await form_pair(svc, cohort_id="cohort-fast-10d")
    default = await form_pair(svc)  # cohort never announced: falls back to the 21-day setting

    await tick(svc, clock, START + timedelta(days=9, hours=23))
    await tick(svc, clock, START + timedelta(days=10))
    await tick(svc, clock, START + timedelta(days=11))
    await tick(svc, clock, START + timedelta(days=12))
    signalled = await bus.wait(fast.id, AT_RISK)
    assert signalled[0].reason == "inactive" and signalled[0].metric == 10.0
    assert signalled[0].detected_at == START + timedelta(days=10)
    assert "threshold 10 days" in signalled[0].detail and signalled[0].hr_contact_email == "hr@bridge.example"
    assert "inactive" not in reasons(bus, default.id, AT_RISK)
    rel = (await svc.client.get(fast.base, headers=fast.as_mentor)).json()
    assert rel["open_risks"] == ["inactive"]

    clock.set(START + timedelta(days=13))
    await hold_session(svc, fast, START + timedelta(days=12, hours=3))
    await tick(svc, clock, START + timedelta(days=13))
    await tick(svc, clock, START + timedelta(days=14))
    resolved = await bus.wait(fast.id, RESOLVED)
    assert resolved[0].reason == "inactive" and resolved[0].resolved_at == START + timedelta(days=13)
    quiet = await tick(svc, clock, START + timedelta(days=22))  # 9.9 days after the held session
    assert (fast.id, "inactive") not in quiet.signalled
    assert (default.id, "inactive") in quiet.signalled  # 21 days passed for the default pair
    again = await tick(svc, clock, START + timedelta(days=22, hours=3))
    last = await tick(svc, clock, START + timedelta(days=22, hours=4))
    # 10 days after the held session, a new spell of inactivity: a second signal, once
    assert (fast.id, "inactive") in again.signalled and (fast.id, "inactive") not in last.signalled
    health = (await svc.client.get(f"{fast.base}/health", headers=fast.as_mentee)).json()
    resolved_flags = [(s["reason"], s["resolved_at"] is not None) for s in health["signals"]]
    assert resolved_flags == [("inactive", True), ("inactive", False)]
    await close_and_drain(svc, bus, fast)
    await close_and_drain(svc, bus, default)
    assert reasons(bus, fast.id, AT_RISK) == ["inactive", "inactive"]
    assert reasons(bus, fast.id, RESOLVED) == ["inactive", "inactive"]  # the second at closure
    assert reasons(bus, default.id, AT_RISK) == ["inactive"]


async def test_cadence_slipping_against_the_agreement(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    clock.set(START)
    await create_cohort(svc, "cohort-relaxed-90d", threshold=90)
    async with asyncio.timeout(15):
        while not await svc.runtime.pool.fetchval(
            "SELECT 1 FROM cohorts WHERE cohort_id = 'cohort-relaxed-90d'"
        ):
            await asyncio.sleep(0.1)
    pair = await form_pair(svc, cohort_id="cohort-relaxed-90d")
    await activate_agreement(svc, pair)  # every 14 days from 2025-03-03
    await tick(svc, clock, datetime(2025, 3, 30, tzinfo=UTC))  # 1 expected, 0 held: within slack
    await tick(svc, clock, datetime(2025, 3, 31, tzinfo=UTC))  # 2 expected, 0 held
    await tick(svc, clock, datetime(2025, 4, 1, tzinfo=UTC))
    event = (await bus.wait(pair.id, AT_RISK))[0]
    assert event.reason == "cadence_slipping" and event.metric == 2.0
    assert "0 sessions held since 2025-03-03, 2 expected" in event.detail
    clock.set(datetime(2025, 4, 2, 12, tzinfo=UTC))
    await hold_session(svc, pair, datetime(2025, 4, 1, 9, tzinfo=UTC))
    await tick(svc, clock, datetime(2025, 4, 2, 12, tzinfo=UTC))  # 2 expected, 1 held: within slack
    assert (await bus.wait(pair.id, RESOLVED))[0].reason == "cadence_slipping"
    assert reasons(bus, pair.id, AT_RISK) == ["cadence_slipping"]


async def test_one_directional_exchange_by_balance_index(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    clock.set(START)
    pair = await form_pair(svc)
    one_way = [("Career advice", "mentee_to_mentor"), ("Promotion case", "mentee_to_mentor")]
    clock.set(START + timedelta(days=20))
    for day in (1, 5, 9):  # the leader advising the junior, three times over
        await hold_session(svc, pair, START + timedelta(days=day), one_way)
    await tick(svc, clock, START + timedelta(days=20))
    await tick(svc, clock, START + timedelta(days=20, hours=1))
    event = (await bus.wait(pair.id, AT_RISK))[0]
    assert event.reason == "one_directional" and event.metric == 0.0
    assert "mostly mentee_to_mentor" in event.detail
    health = (await svc.client.get(f"{pair.base}/health", headers=pair.as_mentor)).json()
    assert health["balance_index"] == 0.0 and health["topics_mentee_to_mentor"] == 6
    two_way = [("GenAI for reports", "mentor_to_mentee"), ("Social listening", "mentor_to_mentee")]
    clock.set(START + timedelta(days=30))
    for day in (14, 18):
        await hold_session(svc, pair, START + timedelta(days=day), two_way)
    await tick(svc, clock, START + timedelta(days=30))  # a=4, b=6 over the last 5 -> 0.8
    assert (await bus.wait(pair.id, RESOLVED))[0].reason == "one_directional"
    health = (await svc.client.get(f"{pair.base}/health", headers=pair.as_mentor)).json()
    assert health["balance_index"] == pytest.approx(0.8)
    assert reasons(bus, pair.id, AT_RISK) == ["one_directional"]


async def test_ending_soon_once_then_completed_at_end_date(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    clock.set(START)
    pair = await form_pair(svc)
    await activate_agreement(svc, pair, end_date="2025-09-01", cadence_days=60)
    later = (
        await svc.client.post(
            f"{pair.base}/sessions", headers=pair.as_mentor, json={"starts_at": "2025-09-10T09:00:00Z"}
        )
    ).json()
    quiet = await tick(svc, clock, datetime(2025, 8, 17, 23, tzinfo=UTC))  # 15 days left
    assert (pair.id, "ending_soon") not in quiet.signalled
    for day in (18, 19, 25):
        await tick(svc, clock, datetime(2025, 8, day, 1, tzinfo=UTC))
    soon = await bus.wait(pair.id, "sessions.relationship.ending_soon.v1")
    assert soon[0].end_date == date(2025, 9, 1) and soon[0].days_left == 14
    await tick(svc, clock, datetime(2025, 9, 1, 23, tzinfo=UTC))  # the end date itself: still open
    assert (await svc.client.get(pair.base, headers=pair.as_mentor)).json()["status"] == "active"
    result = await tick(svc, clock, datetime(2025, 9, 2, 0, 5, tzinfo=UTC))
    assert pair.id in result.closed
    await tick(svc, clock, datetime(2025, 9, 3, tzinfo=UTC))
    closed = await bus.wait(pair.id, "sessions.pair.closed.v2")  # all earlier events of the pair are in
    assert len(closed) == 1 and closed[0].outcome == "completed" and closed[0].closed_by is None
    assert closed[0].closing_survey_due == date(2025, 9, 16)
    cancelled = (await bus.wait(pair.id, "sessions.session.cancelled.v2"))[0]
    assert cancelled.session_id == later["id"] and cancelled.invite.method == "CANCEL"
    assert sorted(reasons(bus, pair.id, AT_RISK)) == sorted(reasons(bus, pair.id, RESOLVED)), (
        "open risks are resolved at closure"
    )
    assert len(bus.of(pair.id, "sessions.relationship.ending_soon.v1")) == 1


async def test_second_instance_after_restart_and_concurrent_ticks_signal_once(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    """A second full sessions instance (own pool, same schema, as a second pod or a restarted one):
    it does not repeat what the first signalled (state is in the database), and when both tick at
    the same moment, a condition is still signalled once."""
    clock.set(START)
    earlier, later = await form_pair(svc), await form_pair(svc, formed_at=START + timedelta(days=5))
    await tick(svc, clock, START + timedelta(days=22))
    await bus.wait(earlier.id, AT_RISK)
    async with second_instance(svc, clock) as rt_b:
        ran, _ = await run_health_tick(rt_b)  # "after a restart": only the database remembers
        assert ran
        clock.set(START + timedelta(days=27))  # now `later` is inactive too
        outcomes = []
        for _ in range(5):
            outcomes += await asyncio.gather(run_health_tick(svc.runtime), run_health_tick(rt_b))
    assert any(ran for ran, _ in outcomes)
    await close_and_drain(svc, bus, earlier)
    await close_and_drain(svc, bus, later)
    assert reasons(bus, earlier.id, AT_RISK) == ["inactive"]
    assert reasons(bus, later.id, AT_RISK) == ["inactive"]


async def test_unique_rows_hold_even_when_ticks_overlap_without_the_lock(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    """Two pools ("instances") run the tick body at once, bypassing the advisory lock: the second
    blocks on the first's uncommitted signal row, then finds it and signals nothing."""
    clock.set(START)
    pair = await form_pair(svc)
    clock.set(START + timedelta(days=26))
    assert isinstance(svc.settings, SessionsSettings)
    settings, outbox = svc.settings, svc.runtime.outbox
    pools = [await create_pool(settings.database_url, schema=settings.db_schema) for _ in range(2)]
    try:
        async with pools[0].acquire() as c1, pools[1].acquire() as c2:
            t1, t2 = c1.transaction(), c2.transaction()
            await t1.start()
            await t2.start()
            first = await health_tick(c1, clock, settings, outbox)
            second = asyncio.create_task(health_tick(c2, clock, settings, outbox))
            pid2 = c2.get_server_pid()
            async with asyncio.timeout(10):  # wait until the second is blocked on the first's row
                while not await svc.runtime.pool.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted", pid2
                ):
                    await asyncio.sleep(0.02)
            await t1.commit()
            result2 = await second
            await t2.commit()
    finally:
        for p in pools:
            await p.close()
    assert (pair.id, "inactive") in first.signalled
    assert (pair.id, "inactive") not in result2.signalled
    open_rows = await svc.runtime.pool.fetchval(
        "SELECT count(*) FROM health_signals WHERE relationship_id = $1 AND resolved_at IS NULL",
        pair.rel["id"],
    )
    assert open_rows == 1
    await close_and_drain(svc, bus, pair)
    assert reasons(bus, pair.id, AT_RISK) == ["inactive"]


async def test_holding_a_session_resolves_the_inactivity_risk_at_once_without_a_tick(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    pair = await form_pair(svc)
    await tick(svc, clock, START + timedelta(days=22))  # 21-day default threshold passed
    await bus.wait(pair.id, AT_RISK)
    rel = (await svc.client.get(pair.base, headers=pair.as_mentor)).json()
    assert rel["open_risks"] == ["inactive"]

    clock.set(START + timedelta(days=23))
    await hold_session(svc, pair, START + timedelta(days=22, hours=12))  # no scheduler tick after this
    rel = (await svc.client.get(pair.base, headers=pair.as_mentor)).json()
    assert rel["open_risks"] == []
    resolved = await bus.wait(pair.id, RESOLVED)
    assert resolved[0].reason == "inactive"
    assert resolved[0].resolved_at == START + timedelta(days=23)


async def amend(svc: RunningService, pair: Pair, **changes: object) -> None:
    """The next version of the agreement, drafted by the mentee and confirmed by the mentor."""
    r = await svc.client.post(f"{pair.base}/agreement", json={**AGREEMENT, **changes}, headers=pair.as_mentee)
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    r = await svc.client.post(f"{pair.base}/agreement/versions/{version}/confirm", headers=pair.as_mentor)
    assert r.status_code == 200 and r.json()["active"]["version"] == version, r.text


async def test_midpoint_survey_opens_at_the_midpoint_announced_once(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    clock.set(START)
    pair = await form_pair(svc)
    # 2025-03-03 to 2025-09-01 is 182 days: the midpoint is 2025-06-02
    await activate_agreement(svc, pair, start_date="2025-03-03", end_date="2025-09-01", cadence_days=60)
    clock.set(datetime(2025, 6, 1, 23, 59, tzinfo=UTC))
    early = await svc.client.post(f"{pair.base}/surveys/midpoint", headers=pair.as_mentor, json=SURVEY)
    assert early.status_code == 409
    assert early.headers["content-type"].startswith("application/problem+json")
    problem = early.json()
    assert problem["title"] == "Survey not open" and problem["opens_on"] == "2025-06-02"
    assert "opens on 2025-06-02 (00:00 UTC)" in problem["detail"], problem
    assert "between 2025-03-03 and 2025-09-01 (the agreement in force)" in problem["detail"], problem

    quiet = await tick(svc, clock, datetime(2025, 6, 1, 23, 59, tzinfo=UTC))
    assert (pair.id, "midpoint_survey") not in quiet.signalled
    opened = await tick(svc, clock, datetime(2025, 6, 2, 0, 5, tzinfo=UTC))
    assert (pair.id, "midpoint_survey") in opened.signalled
    for at in (datetime(2025, 6, 2, 0, 10), datetime(2025, 6, 3), datetime(2025, 7, 1)):
        later = await tick(svc, clock, at.replace(tzinfo=UTC))
        assert (pair.id, "midpoint_survey") not in later.signalled

    event = (await bus.wait(pair.id, SURVEY_OPENED))[0]
    assert event.kind == "midpoint" and event.opened_at == datetime(2025, 6, 2, 0, 5, tzinfo=UTC)
    assert event.due == date(2025, 6, 16), "14 days after it opened, before the end date"
    assert event.survey_path == f"{pair.base}/surveys/midpoint"
    assert (event.mentor_id, event.mentee_id) == (pair.mentor.participant_id, pair.mentee.participant_id)
    assert event.pair_id == pair.rel["pair_id"] and event.cohort_id == pair.rel["cohort_id"]

    clock.set(datetime(2025, 7, 1, 9, tzinfo=UTC))
    r = await svc.client.post(event.survey_path, headers=pair.as_mentor, json=SURVEY)
    assert r.status_code == 201, r.text
    # Announced open, it stays open even when an amendment moves the midpoint past today.
    await amend(svc, pair, start_date="2025-06-01", end_date="2026-05-31")
    r = await svc.client.post(event.survey_path, headers=pair.as_mentee, json=SURVEY)
    assert r.status_code == 201, r.text
    rel = (await svc.client.get(pair.base, headers=pair.as_mentor)).json()
    assert "midpoint_survey" not in rel["open_risks"]
    health = (await svc.client.get(f"{pair.base}/health", headers=pair.as_mentor)).json()
    assert "midpoint_survey" not in health["open_risks"]
    assert [s["reason"] for s in health["signals"]].count("midpoint_survey") == 1

    await tick(svc, clock, datetime(2025, 7, 2, tzinfo=UTC))
    # A later, different event on the same key: once it is on the bus, all before it are too.
    await close_and_drain(svc, bus, pair)
    assert len(bus.of(pair.id, SURVEY_OPENED)) == 1
    kinds = [e.kind for e in await bus.wait(pair.id, "sessions.feedback.submitted.v1", 2)]
    assert kinds == ["midpoint", "midpoint"]


async def test_midpoint_survey_without_an_agreement_uses_the_start_and_planned_end(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    clock.set(START)
    planned = await form_pair(svc, programme_end=date(2025, 5, 3))  # 2025-03-03 + 61 // 2 = 2025-04-02
    open_ended = await form_pair(svc, programme_end=None)
    clock.set(datetime(2025, 4, 1, 12, tzinfo=UTC))
    r = await svc.client.post(f"{planned.base}/surveys/midpoint", headers=planned.as_mentee, json=SURVEY)
    assert r.status_code == 409 and r.json()["opens_on"] == "2025-04-02"
    assert "(the start and the planned end)" in r.json()["detail"]
    r = await svc.client.post(
        f"{open_ended.base}/surveys/midpoint", headers=open_ended.as_mentee, json=SURVEY
    )
    assert r.status_code == 409 and "no agreement in force and no planned end date" in r.json()["detail"]
    assert "opens_on" not in r.json()

    result = await tick(svc, clock, datetime(2025, 4, 2, 0, 1, tzinfo=UTC))
    assert (planned.id, "midpoint_survey") in result.signalled
    assert (open_ended.id, "midpoint_survey") not in result.signalled
    event = (await bus.wait(planned.id, SURVEY_OPENED))[0]
    assert event.due == date(2025, 4, 16)
    clock.set(datetime(2025, 4, 2, 8, tzinfo=UTC))
    r = await svc.client.post(f"{planned.base}/surveys/midpoint", headers=planned.as_mentee, json=SURVEY)
    assert r.status_code == 201, r.text
    far = await tick(svc, clock, datetime(2025, 4, 30, tzinfo=UTC))
    assert (open_ended.id, "midpoint_survey") not in far.signalled, "no end: it never opens by itself"
    await close_and_drain(svc, bus, planned)
    await close_and_drain(svc, bus, open_ended)
    assert len(bus.of(planned.id, SURVEY_OPENED)) == 1
    assert bus.of(open_ended.id, SURVEY_OPENED) == []
    r = await svc.client.post(f"{planned.base}/surveys/midpoint", headers=planned.as_mentor, json=SURVEY)
    assert r.status_code == 409 and "closed when the relationship ended" in r.json()["detail"]


async def test_ending_soon_fires_again_when_an_amendment_moves_the_end_date(
    svc: RunningService, bus: Bus, clock: FrozenClock
) -> None:
    """`signalled` announced 2025-09-01 before its end moved; `moved` had its end moved before that
    date was due: neither hears of 2025-09-01 again, both hear of 2025-11-03 once."""
    clock.set(START)
    signalled, moved = await form_pair(svc), await form_pair(svc)
    for pair in (signalled, moved):
        await activate_agreement(svc, pair, end_date="2025-09-01", cadence_days=60)
    clock.set(datetime(2025, 8, 1, 9, tzinfo=UTC))
    await amend(svc, moved, end_date="2025-11-03")

    first = await tick(svc, clock, datetime(2025, 8, 18, 1, tzinfo=UTC))  # 14 days before 2025-09-01
    assert (signalled.id, "ending_soon") in first.signalled
    assert (moved.id, "ending_soon") not in first.signalled, "not for an end date no longer in force"
    assert (await bus.wait(signalled.id, ENDING_SOON))[0].end_date == date(2025, 9, 1)
    clock.set(datetime(2025, 8, 20, 9, tzinfo=UTC))
    await amend(svc, signalled, end_date="2025-11-03")

    for at in (datetime(2025, 8, 21), datetime(2025, 8, 31), datetime(2025, 9, 1), datetime(2025, 9, 2, 1)):
        quiet = await tick(svc, clock, at.replace(tzinfo=UTC))
        assert not {(signalled.id, "ending_soon"), (moved.id, "ending_soon")} & set(quiet.signalled)
        assert not {signalled.id, moved.id} & set(quiet.closed), "the old end date has gone"
    quiet = await tick(svc, clock, datetime(2025, 10, 19, 23, tzinfo=UTC))  # 15 days left
    assert not {(signalled.id, "ending_soon"), (moved.id, "ending_soon")} & set(quiet.signalled)
    again = await tick(svc, clock, datetime(2025, 10, 20, 1, tzinfo=UTC))
    assert {(signalled.id, "ending_soon"), (moved.id, "ending_soon")} <= set(again.signalled)
    for at in (datetime(2025, 10, 20, 2), datetime(2025, 10, 25), datetime(2025, 11, 3, 23)):
        later = await tick(svc, clock, at.replace(tzinfo=UTC))
        assert not {(signalled.id, "ending_soon"), (moved.id, "ending_soon")} & set(later.signalled)

    for pair in (signalled, moved):
        await close_and_drain(svc, bus, pair)
    assert [(e.end_date, e.days_left) for e in bus.of(signalled.id, ENDING_SOON)] == [
        (date(2025, 9, 1), 14),
        (date(2025, 11, 3), 14),
    ]
    assert [(e.end_date, e.days_left) for e in bus.of(moved.id, ENDING_SOON)] == [(date(2025, 11, 3), 14)]
    rows = await svc.runtime.pool.fetch(
        "SELECT end_date FROM health_signals WHERE relationship_id = $1 AND reason = 'ending_soon' "
        "ORDER BY detected_at",
        signalled.rel["id"],
    )
    assert [r["end_date"] for r in rows] == [date(2025, 9, 1), date(2025, 11, 3)]
