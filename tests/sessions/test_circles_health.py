"""Circle health: inactivity, one voice dominating and falling attendance are each signalled once when
they start (circle.at_risk, with escalate_at for HR) and resolved when they end (circle.risk_resolved),
a held session is assessed at once, and a circle past its end date closes as completed. The clock is
a FrozenClock: no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge_sessions.app.circle_health import CircleTickResult, run_circle_health_tick
from bridge_shared.scheduling.clock import FrozenClock
from tests.service_harness import RunningService
from tests.sessions.conftest import START, Bus
from tests.sessions.test_circles_support import (
    AT_RISK,
    CANCELLED,
    CLOSED,
    RESOLVED,
    activate_agreement,
    circle_bus,
    form_circle,
    log_session,
)

pytestmark = pytest.mark.integration
__all__ = ["circle_bus"]  # the fixture, used by name


@pytest.fixture(autouse=True)
def _clock_back(clock: FrozenClock) -> Any:
    clock.set(START)
    yield
    clock.set(START)


async def tick(svc: RunningService, clock: FrozenClock, at: datetime) -> CircleTickResult:
    clock.set(at)
    ran, result = await run_circle_health_tick(svc.runtime)
    assert ran and result is not None
    return result


def reasons(bus: Bus, cid: str, short_type: str) -> list[str]:
    return [e.reason for e in bus.of(cid, short_type)]


async def test_inactivity_is_signalled_once_with_escalation_and_resolved_by_a_held_session(
    svc: RunningService, circle_bus: Bus, clock: FrozenClock, admin_dsn: str
) -> None:
    c = await form_circle(svc, admin_dsn)  # cohort never announced: the 21-day default
    early = await tick(svc, clock, START + timedelta(days=20, hours=23))
    assert (c.id, "inactive") not in early.signalled
    first = await tick(svc, clock, START + timedelta(days=21))
    again = await tick(svc, clock, START + timedelta(days=21, hours=6))
    assert (c.id, "inactive") in first.signalled and (c.id, "inactive") not in again.signalled
    [risk] = await circle_bus.wait(c.id, AT_RISK)
    assert risk.reason == "inactive" and risk.detected_at == START + timedelta(days=21)
    assert risk.escalate_at == START + timedelta(days=28), "the facilitator first, HR a week later"
    assert (
        risk.facilitator_id == c.facilitator.participant_id and risk.hr_contact_email == "hr@bridge.example"
    )
    assert risk.member_ids == [m.participant_id for m in c.members]
    circle = (await svc.client.get(c.base, headers=c.as_("Jun"))).json()
    assert circle["open_risks"] == ["inactive"]

    clock.set(START + timedelta(days=22))
    await log_session(svc, c, START + timedelta(days=21, hours=12))  # assessed in the same transaction
    [resolved] = await circle_bus.wait(c.id, RESOLVED)
    assert resolved.reason == "inactive" and resolved.resolved_at == START + timedelta(days=22)
    health = (await svc.client.get(f"{c.base}/health", headers=c.as_facilitator)).json()
    assert health["open_risks"] == [] and [s["reason"] for s in health["signals"]] == ["inactive"]
    assert health["signals"][0]["resolved_at"] and health["signals"][0]["escalate_at"]
    quiet = await tick(svc, clock, START + timedelta(days=23))
    assert (c.id, "inactive") not in quiet.signalled and (c.id, "inactive") not in quiet.resolved
    assert reasons(circle_bus, c.id, AT_RISK) == ["inactive"]


async def test_one_voice_dominating_is_signalled_then_resolved_as_others_speak(
    svc: RunningService, circle_bus: Bus, clock: FrozenClock, admin_dsn: str
) -> None:
    c = await form_circle(svc, admin_dsn)
    clock.set(START + timedelta(days=3))
    jun = [("Jun", f"Jun's idea {n}") for n in range(4)]
    await log_session(
        svc,
        c,
        START + timedelta(days=2),
        ideas=[*jun, ("Sam", "Sam's idea")],
        learning=[("Jun", "Fay", "Reels")],
    )
    # 6 contributions, 5 of them Jun's: more than half
    [risk] = await circle_bus.wait(c.id, AT_RISK)
    assert risk.reason == "dominant_voice" and risk.detected_at == START + timedelta(days=3)
    health = (await svc.client.get(f"{c.base}/health", headers=c.as_("Sam"))).json()
    assert health["open_risks"] == ["dominant_voice"] and health["contributions"][c.pid("Jun")] == 5
    assert c.pid("Jun") in health["signals"][0]["detail"] and "83%" in health["signals"][0]["detail"]

    clock.set(START + timedelta(days=10))
    await log_session(
        svc,
        c,
        START + timedelta(days=9),
        ideas=[("Fay", "A stand"), ("Jo", "An AI campaign"), ("Sam", "A podcast"), ("Mid", "A newsletter")],
        learning=[("Sam", "Jun", "Negotiating"), ("Fay", "Jo", "Board papers")],
    )
    # 12 contributions, 5 of them Jun's: no longer more than half
    [resolved] = await circle_bus.wait(c.id, RESOLVED)
    assert resolved.reason == "dominant_voice" and resolved.resolved_at == START + timedelta(days=10)
    assert reasons(circle_bus, c.id, AT_RISK) == ["dominant_voice"]


async def test_falling_attendance_is_signalled_and_resolved(
    svc: RunningService, circle_bus: Bus, clock: FrozenClock, admin_dsn: str
) -> None:
    c = await form_circle(svc, admin_dsn)
    clock.set(START + timedelta(days=20))
    await log_session(svc, c, START + timedelta(days=5), attended=["Fay", "Jun"])
    await log_session(svc, c, START + timedelta(days=12), attended=["Fay", "Sam"])
    [risk] = await circle_bus.wait(c.id, AT_RISK)
    assert risk.reason == "falling_attendance"
    health = (await svc.client.get(f"{c.base}/health", headers=c.as_("Mid"))).json()
    assert health["attendance_rate"] == pytest.approx(0.4) and health["open_risks"] == ["falling_attendance"]
    await log_session(svc, c, START + timedelta(days=19))  # everyone: (5 + 2) of 10 over the last two
    [resolved] = await circle_bus.wait(c.id, RESOLVED)
    assert resolved.reason == "falling_attendance"


async def test_circle_past_its_end_date_closes_completed(
    svc: RunningService, circle_bus: Bus, clock: FrozenClock, admin_dsn: str
) -> None:
    c = await form_circle(svc, admin_dsn)
    await activate_agreement(svc, c, end_date="2025-04-01")
    r = await svc.client.post(
        f"{c.base}/sessions", json={"starts_at": "2025-04-10T09:00:00Z"}, headers=c.as_("Jo")
    )
    assert r.status_code == 201, r.text
    clock.set(datetime(2025, 3, 20, tzinfo=UTC))
    await log_session(svc, c, datetime(2025, 3, 19, 9, tzinfo=UTC))
    on_end_day = await tick(svc, clock, datetime(2025, 4, 1, 23, tzinfo=UTC))
    assert c.id not in on_end_day.closed
    after = await tick(svc, clock, datetime(2025, 4, 2, 0, 30, tzinfo=UTC))
    assert c.id in after.closed
    [closed] = await circle_bus.wait(c.id, CLOSED)
    assert closed.outcome == "completed" and closed.sessions_held == 1
    [cancelled] = await circle_bus.wait(c.id, CANCELLED)
    assert cancelled.session_id == r.json()["id"] and cancelled.invite.method == "CANCEL"
    circle = (await svc.client.get(c.base, headers=c.as_("Jo"))).json()
    assert circle["status"] == "closed" and circle["outcome"] == "completed"
    again = await tick(svc, clock, datetime(2025, 4, 3, tzinfo=UTC))
    assert c.id not in again.closed
