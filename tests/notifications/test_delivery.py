"""Delivery guarantees against the real SMTP sink and a real webhook server: retries with backoff,
permanent failures recorded and emitted, one notification per (event, recipient, channel) however
often the event arrives, exactly-once completion across a restart, and two dispatchers at once."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from asgi_lifespan import LifespanManager

from bridge_notifications.app.dispatch import Dispatcher
from bridge_notifications.app.planning import Planner
from bridge_notifications.db import deliveries
from bridge_notifications.main import create_app
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.db.pool import create_pool
from bridge_shared.db.provision import provision
from bridge_shared.runtime import Runtime
from bridge_shared.scheduling.clock import FrozenClock
from tests.notifications.conftest import SERVICE_OVERRIDES
from tests.notifications.support import (
    Sink,
    Webhooks,
    adaptive_card,
    at,
    card_texts,
    delivery,
    eventually,
    form_pair,
    notification_events,
    pair_formed,
    plan_deliveries,
    processed,
    publish,
    ref,
    rows,
    uid,
)
from tests.service_harness import RunningService, auth

pytestmark = pytest.mark.integration


async def chat_only(svc: RunningService, employee: str, url: str, fmt: str = "slack") -> None:
    r = await svc.client.put(
        "/me/preferences",
        headers=auth("participant", sub=employee),
        json={"channels": ["chat"], "chat_webhook_url": url, "chat_format": fmt},
    )
    assert r.status_code == 200, r.text


async def test_transient_webhook_failures_back_off_then_succeed(
    svc: RunningService, hooks: Webhooks, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 6, 2, 9))
    path = f"/retry-{uid()}"
    hooks.script[path] = [500, 503]
    mentor, mentee = ref("Aiko Tanaka"), ref("Lena Vogel")
    await chat_only(svc, mentor.employee_id, hooks.url(path))
    await form_pair(svc, mentor, mentee, formed_at=at(2025, 6, 2))
    [row] = await rows(svc, "SELECT * FROM deliveries WHERE recipient_id = $1", mentor.participant_id)
    assert row["channel"] == "chat" and row["to_address"] == hooks.url(path)

    await dispatcher.drain()
    row = await delivery(svc, row["id"])
    assert (row["status"], row["attempts"]) == ("pending", 1) and "500" in row["last_error"]
    first_delay = (row["due_at"] - clock.now()).total_seconds()
    # Backoff(initial=30 s): retry n waits a random time in [0, min(cap, 30 s * 2^(n-1))] ("full jitter").
    assert 0 < first_delay <= 30
    await dispatcher.drain()
    assert hooks.answered[path] == [500]  # not due yet: nothing is sent early

    clock.advance(timedelta(seconds=first_delay))
    await dispatcher.drain()
    row = await delivery(svc, row["id"])
    second_delay = (row["due_at"] - clock.now()).total_seconds()
    assert (row["status"], row["attempts"]) == ("pending", 2) and 0 <= second_delay <= 60

    clock.advance(timedelta(seconds=second_delay))
    await dispatcher.drain()
    row = await delivery(svc, row["id"])
    assert (row["status"], row["attempts"]) == ("sent", 3)
    assert hooks.answered[path] == [500, 503, 200]
    assert hooks.received[path][-1]["text"].startswith("*You have been matched with Lena Vogel*")
    assert [e for e, _ in await notification_events(svc.runtime.pool, row["id"])] == ["sent"]


async def test_a_sent_message_is_recorded_through_a_database_outage_and_not_sent_again(
    svc: RunningService, hooks: Webhooks, clock: FrozenClock, dispatcher: Dispatcher, admin_dsn: str
) -> None:
    """The chat server accepts the message while the service cannot reach its database (its role
    refuses connections and its sessions are cut): the outcome is written once the database is
    back, and the message is not sent a second time when the lease would have run out."""
    clock.set(at(2025, 6, 2, 10))
    path = f"/outage-{uid()}"
    role = f"bridge_{svc.settings.db_schema}"
    mentor, mentee = ref("Aiko Tanaka"), ref("Lena Vogel")
    await chat_only(svc, mentor.employee_id, hooks.url(path))
    await form_pair(svc, mentor, mentee, formed_at=at(2025, 6, 2))
    [row] = await rows(svc, "SELECT * FROM deliveries WHERE recipient_id = $1", mentor.participant_id)

    async def cut_off(limit: int) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT {limit}')
            if limit == 0:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role
                )
        finally:
            await conn.close()

    hooks.before_answer[path] = lambda: asyncio.run(cut_off(0))
    drained = asyncio.create_task(dispatcher.drain())
    try:
        await eventually(lambda: _answered(hooks, path), "the chat server to accept the message")
        await asyncio.sleep(1.0)  # the outage lasts a second; the dispatcher keeps trying to record
        assert not drained.done(), "the outcome must be retried, not dropped"
    finally:
        hooks.before_answer.pop(path, None)
        await cut_off(-1)
    await drained
    row = await delivery(svc, row["id"])
    assert (row["status"], row["attempts"]) == ("sent", 1)
    clock.advance(timedelta(seconds=svc.settings.dispatch_lease_seconds + 1))
    await dispatcher.drain()
    assert hooks.answered[path] == [200], "sent once"
    assert [e for e, _ in await notification_events(svc.runtime.pool, row["id"])] == ["sent"]


async def _answered(hooks: Webhooks, path: str) -> bool:
    return bool(hooks.answered[path])


async def test_permanent_failures_are_recorded_and_emitted(
    svc: RunningService, sink: Sink, hooks: Webhooks, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 6, 3, 9))
    bounced = ref("Aiko Tanaka", email_addr=f"{uid()}@invalid.example")  # the sink answers 550
    gone = ref("Lena Vogel")
    path = f"/gone-{uid()}"
    hooks.script[path] = [400]
    await chat_only(svc, gone.employee_id, hooks.url(path), fmt="teams")
    p, _ = await form_pair(svc, bounced, gone, formed_at=at(2025, 6, 3))
    await dispatcher.drain()
    got = {
        r["channel"]: r for r in await rows(svc, "SELECT * FROM deliveries WHERE cohort_id = $1", p.cohort_id)
    }
    assert (got["email"]["status"], got["email"]["attempts"]) == ("failed", 1)
    assert "550" in got["email"]["last_error"]
    assert (got["chat"]["status"], got["chat"]["attempts"]) == ("failed", 1)
    assert "400" in got["chat"]["last_error"]
    card = adaptive_card(hooks.received[path][0])
    assert card["body"][0]["text"].startswith("You have been matched")
    for r in got.values():
        [(kind, body)] = await notification_events(svc.runtime.pool, r["id"])
        assert kind == "failed" and body["permanent"] is True and body["cohort_id"] == p.cohort_id
    assert sink.messages(str(bounced.email)) == []
    log = (
        await svc.client.get(
            "/deliveries", params={"cohort_id": p.cohort_id, "status": "failed"}, headers=auth("hr_admin")
        )
    ).json()
    assert {d["channel"] for d in log} == {"email", "chat"}
    assert all(d["to_address"].endswith("/…") for d in log if d["channel"] == "chat")  # webhook URL redacted


async def test_a_teams_webhook_receives_an_adaptive_card_message(
    svc: RunningService, sink: Sink, hooks: Webhooks, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    """What the real webhook server receives for a Teams recipient is a Teams message with one
    Adaptive Card: the e-mail's subject as its title, the text in TextBlocks, the link as a button."""
    clock.set(at(2025, 6, 3, 11))
    path = f"/teams-{uid()}"
    mentor, mentee = ref("Aiko Tanaka"), ref("Lena Vogel")
    r = await svc.client.put(
        "/me/preferences",
        headers=auth("participant", sub=mentor.employee_id),
        json={"channels": ["email", "chat"], "chat_webhook_url": hooks.url(path), "chat_format": "teams"},
    )
    assert r.status_code == 200, r.text
    p, _ = await form_pair(svc, mentor, mentee, formed_at=at(2025, 6, 3))
    await dispatcher.drain()
    [message] = hooks.received[path]
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = adaptive_card(message)  # and the whole message against the closed schema in support.py
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    [mail] = sink.messages(str(mentor.email))
    title, *paragraphs = card["body"]
    assert title["text"] == mail["Subject"] == "You have been matched with Lena Vogel"
    assert (title["weight"], title["size"], title["wrap"]) == ("Bolder", "Large", True)
    assert "Hello Aiko Tanaka," in card_texts(card) and all(b["wrap"] for b in paragraphs)
    assert any(t.startswith("- ") and "\r- " in t for t in card_texts(card))  # the list, one item a line
    [button] = card["actions"]
    assert button["type"] == "Action.OpenUrl" and button["title"] == "Open your mentoring space"
    assert button["url"] == f"https://bridge.test/pairs/{p.pair_id}"
    assert button["url"] in mail.get_body(("plain",)).get_content()  # the link the e-mail has
    assert not any("https://" in t for t in card_texts(card))
    [row] = await rows(
        svc,
        "SELECT status FROM deliveries WHERE recipient_id = $1 AND channel = 'chat'",
        mentor.participant_id,
    )
    assert row["status"] == "sent"


async def test_the_same_event_twice_gives_one_notification(
    svc: RunningService, sink: Sink, clock: FrozenClock, dispatcher: Dispatcher
) -> None:
    clock.set(at(2025, 6, 4, 9))
    p = pair_formed(formed_at=at(2025, 6, 4))
    eid = str(uuid.uuid4())
    await publish(svc, p, event_id=eid)
    await publish(svc, p, event_id=eid)  # a redelivery
    await processed(svc, eid)
    # Even past the consumer's inbox (a replay by another consumer group, a restored backup), the
    # dedup key (event, recipient, channel) keeps it to one.
    async with svc.runtime.pool.acquire() as conn, conn.transaction():
        planner = Planner(svc.settings)  # type: ignore[arg-type]
        assert await planner.apply(conn, eid, p.event_type, p, clock.now()) == 0
    await dispatcher.drain()  # sends synchronously: the sink has every message once it returns
    assert len(sink.messages(str(p.mentor.email))) == 1 and len(sink.messages(str(p.mentee.email))) == 1
    got = await rows(svc, "SELECT dedup_key FROM deliveries WHERE source_event_id = $1", eid)
    assert sorted(r["dedup_key"] for r in got) == sorted(
        f"{eid}:{x.participant_id}:email" for x in (p.mentor, p.mentee)
    )


# -- restarts --------------------------------------------------------------------------------


@asynccontextmanager
async def instance(settings: NotificationsSettings, clock: FrozenClock) -> AsyncIterator[Runtime[Any]]:
    """One service process's worth: app with its lifespan, dispatcher running in the background."""
    app = create_app(settings, clock=clock, dispatcher=True, jobs=False, consumers=False)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        yield app.state.runtime


@pytest.fixture
async def own_settings(admin_dsn: str, bootstrap_servers: str, sink: Sink) -> NotificationsSettings:
    name = f"notifications_{uuid.uuid4().hex[:8]}"
    dsn = await provision(admin_dsn, name, secrets.token_hex(8))
    return NotificationsSettings(
        service_name=name,
        db_schema=name,
        database_url=dsn,
        kafka_bootstrap_servers=bootstrap_servers,
        environment="test",
        log_json=False,
        smtp_port=sink.port,
        dispatch_poll_seconds=0.05,
        **SERVICE_OVERRIDES,
    )


async def running_dispatcher(rt: Runtime[Any]) -> Dispatcher:
    """The instance's background dispatcher (to drive a round by hand beside its loop)."""

    async def started() -> bool:
        return "dispatcher" in rt.extras

    await eventually(started, "the dispatcher to start")
    return rt.component("dispatcher", Dispatcher)


async def _row(pool: Any, rid: Any) -> dict[str, Any]:
    async with pool.acquire() as conn:
        return dict(await conn.fetchrow("SELECT * FROM deliveries WHERE id = $1", rid))


async def test_restart_in_the_middle_of_a_retry_completes_exactly_once(
    own_settings: NotificationsSettings, hooks: Webhooks
) -> None:
    clock = FrozenClock(at(2025, 6, 5, 9))
    path = f"/restart-{uid()}"
    hooks.script[path] = [503]
    async with instance(own_settings, clock) as rt:
        [rid] = await plan_deliveries(
            rt.pool,
            clock.now(),
            uid("restart-"),
            channel="chat",
            to=lambda _: hooks.url(path),
            chat_format="slack",
        )
        await eventually(lambda: _attempted(rt.pool, rid), "the first attempt to fail and be rescheduled")
    # Stopped with the row rescheduled. Time passes while it is down; a new instance finishes it.
    clock.advance(timedelta(minutes=5))
    async with instance(own_settings, clock) as rt:
        await eventually(lambda: _status(rt.pool, rid, "sent"), "the retry after the restart")
        # One more round, run here to its end: nothing is due, so nothing more goes out.
        assert await (await running_dispatcher(rt)).drain() == 0
        row = await _row(rt.pool, rid)
        assert (row["status"], row["attempts"]) == ("sent", 2)
        assert hooks.answered[path] == [503, 200]
        assert [e for e, _ in await notification_events(rt.pool, rid)] == ["sent"]


async def test_restart_with_a_row_leased_by_a_dead_instance(
    own_settings: NotificationsSettings, sink: Sink
) -> None:
    clock = FrozenClock(at(2025, 6, 6, 9))
    to = f"{uid('lease.')}@bridge.example"
    # Another instance leases the row and dies before sending: simulated by leasing it here in the
    # same transaction that creates it, so the running dispatcher never sees it free.
    async with instance(own_settings, clock) as rt, rt.pool.acquire() as conn, conn.transaction():
        rid = await deliveries.create(
            conn,
            now=clock.now(),
            source_event_id=uid("evt-"),
            recipient_id="p-2",
            cohort_id="c-2",
            channel="email",
            kind="pair_formed",
            to_address=to,
            subject="Leased",
            body_text="B",
            body_html=None,
        )
        await conn.execute(  # what lease_due does to a row, for this row only
            "UPDATE deliveries SET status = 'sending', attempts = 1, lease_until = $2 WHERE id = $1",
            rid,
            clock.now() + timedelta(seconds=60),
        )
    async with instance(own_settings, clock) as rt:
        d = await running_dispatcher(rt)
        assert await d.drain() == 0  # a round run to its end here: the lease is still held
        row = await _row(rt.pool, rid)
        assert sink.messages(to) == [] and (row["status"], row["attempts"]) == ("sending", 1)
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: _status(rt.pool, rid, "sent"), "the expired lease to be taken over")
        assert await d.drain() == 0  # and once sent, no round sends it again
        assert len(sink.messages(to)) == 1 and (await _row(rt.pool, rid))["attempts"] == 2


async def _attempted(pool: Any, rid: Any) -> bool:
    row = await _row(pool, rid)
    return row["status"] == "pending" and row["attempts"] == 1


async def _status(pool: Any, rid: Any, status: str) -> bool:
    return (await _row(pool, rid))["status"] == status


# -- two instances ---------------------------------------------------------------------------


async def test_two_dispatchers_at_once_deliver_each_notification_once(
    svc: RunningService, sink: Sink, clock: FrozenClock
) -> None:
    clock.set(at(2025, 6, 7, 9))
    batch = uid("two-")
    await plan_deliveries(svc.runtime.pool, clock.now(), batch, 120)
    settings = svc.settings.model_copy(update={"dispatch_batch_size": 10})
    pools = [
        await create_pool(svc.settings.database_url, schema=svc.settings.db_schema, min_size=1, max_size=12)
        for _ in range(2)
    ]
    dispatchers = [Dispatcher(p, svc.runtime.outbox, settings, clock) for p in pools]  # type: ignore[arg-type]
    try:
        counts = await asyncio.gather(*(d.drain(max_rounds=1000) for d in dispatchers))
    finally:
        for d, p in zip(dispatchers, pools, strict=True):
            await d.aclose()
            await p.close()
    assert all(c > 0 for c in counts), f"both instances should have taken work: {counts}"
    received = Counter(
        msg["X-Bridge-Dedup-Key"] for msg in sink.messages() if msg["X-Bridge-Dedup-Key"].startswith(batch)
    )
    assert len(received) == 120 and set(received.values()) == {1}
    got = await rows(svc, "SELECT status, attempts FROM deliveries WHERE cohort_id = $1", batch)
    assert {(r["status"], r["attempts"]) for r in got} == {("sent", 1)}
