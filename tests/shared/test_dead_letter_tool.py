"""Re-driving dead letters once the cause is fixed: the event takes effect once, however often replayed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import asyncpg
import pytest

from bridge_shared.events.envelope import InboundEvent, build_event
from bridge_shared.messaging.consumer import EventConsumer
from bridge_shared.messaging.dead_letter_tool import read_letters, replay
from tests.shared.events_for_tests import THING_TOPIC, ThingHappened
from tests.shared.harness import harness

pytestmark = pytest.mark.integration


async def test_replayed_dead_letter_takes_effect_once(
    scratch_service: tuple[str, str], bootstrap_servers: str
) -> None:
    async with harness(scratch_service, bootstrap_servers, [THING_TOPIC]) as h:
        broken = {"on": True}
        prefix = f"{h.schema}-redrive"
        consumer = EventConsumer(
            service=h.schema,
            name="redrive",
            topics=[THING_TOPIC],
            pool=lambda: h.pool,
            max_attempts=2,
            backoff_initial=0.01,
            backoff_max=0.05,
        )

        @consumer.on(ThingHappened)
        async def record(conn: asyncpg.Connection[Any], event: InboundEvent) -> None:
            assert isinstance(event.payload, ThingHappened)
            if event.payload.thing_id != prefix:
                return
            if broken["on"]:
                raise RuntimeError("downstream bug")
            await conn.execute(
                "INSERT INTO effects (event_id, thing_id, seq) VALUES ($1, $2, $3)",
                event.id,
                event.payload.thing_id,
                event.payload.seq,
            )

        consumer.attach(h.broker)
        await h.broker.start()
        evt = build_event(ThingHappened(thing_id=prefix, seq=7), source="/tests")
        await h.broker.publish(evt.value, evt.topic, key=evt.key.encode(), headers=evt.headers)

        async with asyncio.timeout(60):  # a loaded CI machine: the group join alone can take seconds
            while not [lt for lt in await read_letters(bootstrap_servers, h.schema) if lt.event_id == evt.id]:
                await asyncio.sleep(0.2)
        (letter,) = [lt for lt in await read_letters(bootstrap_servers, h.schema) if lt.event_id == evt.id]
        assert letter.headers["dlq_error"] == "downstream bug"
        assert all(not k.startswith("dlq_") for k, _ in letter.original_headers)

        done = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "bridge_shared.messaging.dead_letter_tool",
                "list",
                "--service",
                h.schema,
                "--bootstrap",
                bootstrap_servers,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        listing = done.stdout
        assert evt.id in listing and "RuntimeError: downstream bug" in listing

        broken["on"] = False  # the bug is fixed
        await replay(bootstrap_servers, [letter])
        await replay(bootstrap_servers, [letter])  # an operator re-drives twice by mistake

        # A marker after the two re-drives, on the same key (so the same partition, behind them):
        # once it has taken effect, both re-drives have been handled.
        marker = build_event(ThingHappened(thing_id=prefix, seq=8), source="/tests")
        await h.broker.publish(marker.value, marker.topic, key=marker.key.encode(), headers=marker.headers)

        async def effects(seq: int) -> int:
            async with h.pool.acquire() as conn:
                return int(
                    await conn.fetchval(
                        "SELECT count(*) FROM effects WHERE thing_id = $1 AND seq = $2", prefix, seq
                    )
                )

        async with asyncio.timeout(60):  # a loaded CI machine: the group join alone can take seconds
            while await effects(8) == 0:
                await asyncio.sleep(0.2)
        assert await effects(7) == 1
