"""Rebuild by replay: the rebuilt read models equal the live ones, and the swap loses nothing."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from typing import Any

import pytest
from aiokafka import TopicPartition

from bridge_reporting.app.rebuild import (
    RebuildResult,
    _next_message,
    _replay_in_workers,
    plan_shares,
    rebuild,
)
from bridge_reporting.domain.tables import ALL_TABLES
from bridge_reporting.jobs import rebuild as rebuild_job
from tests.reporting import scenario
from tests.reporting.conftest import converged, publish, published_scenario
from tests.service_harness import RunningService

pytestmark = pytest.mark.integration


async def snapshot(svc: RunningService) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    async with svc.runtime.pool.acquire() as conn:
        for t in ALL_TABLES:
            rows = await conn.fetch(f"SELECT * FROM {t.name} ORDER BY {', '.join(t.key)}")
            out[t.name] = [tuple(r.values()) for r in rows]
    return out


async def settled(svc: RunningService) -> dict[str, list[tuple[Any, ...]]]:
    """The live state once the consumer has caught up (two equal snapshots a second apart)."""
    prev = await snapshot(svc)
    for _ in range(30):
        await asyncio.sleep(1.0)
        cur = await snapshot(svc)
        if cur == prev:
            return cur
        prev = cur
    pytest.fail("live read models kept changing")


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_rebuilt_state_equals_live_state(reporting: RunningService, workers: str) -> None:
    """Also: a whole scenario forged by a source that owns no topic (the live consumer dead-letters it) stays
    out of the rebuilt read models, as it stays out of the live ones. With two workers, two processes
    read and decode a share of the partitions each while the job writes."""
    sc = await published_scenario(reporting)
    forged = scenario.build(forged_source="/bridge/attacker")
    await publish(reporting, forged.events)
    live = await settled(reporting)
    assert sum(len(rows) for rows in live.values()) > len(sc.events) / 2
    assert not any(forged.prefix in repr(rows) for rows in live.values())

    s = reporting.settings
    env = {
        **os.environ,
        "BRIDGE_REPORTING_DATABASE_URL": s.database_url,
        "BRIDGE_REPORTING_DB_SCHEMA": s.db_schema,
        "BRIDGE_REPORTING_SERVICE_NAME": s.service_name,
        "BRIDGE_REPORTING_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
        "BRIDGE_REPORTING_KAFKA_TOPIC_PREFIX": s.kafka_topic_prefix,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge_reporting.jobs.rebuild",
        "--batch-size",
        "200",
        "--workers",
        workers,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out.decode()
    assert f"rebuilt {len(ALL_TABLES)} read models".encode() in out, out.decode()
    assert (b"read by 2 worker processes" in out) == (workers == "2"), out.decode()

    rebuilt = await snapshot(reporting)
    assert not any(forged.prefix in repr(rows) for rows in rebuilt.values())
    for name in live:
        assert rebuilt[name] == live[name], f"{name} differs after rebuild"
    async with reporting.runtime.pool.acquire() as conn:
        leftovers = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE 'rm\\_%\\_\\_r%'"
        )
    assert leftovers == []
    # The swapped-in tables come with the planner's statistics (bulk-filled tables have none until
    # autovacuum runs, and the reports' joins are then planned for empty tables).
    async with reporting.runtime.pool.acquire() as conn:
        analysed = {
            r["tablename"]
            for r in await conn.fetch(
                "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
            )
        }
    filled = {name for name, rows in rebuilt.items() if rows}
    assert filled and filled <= analysed, f"no statistics for {sorted(filled - analysed)}"


async def test_events_during_a_rebuild_are_not_lost(reporting: RunningService) -> None:
    """The live consumer keeps writing while the rebuild runs; the swap catches up under a lock."""
    first = await published_scenario(reporting)
    second = scenario.build()
    half = len(second.events) // 2

    async def trickle() -> None:
        await publish(reporting, second.events[:half])
        await asyncio.sleep(0.3)
        await publish(reporting, second.events[half:])

    result, _ = await asyncio.gather(rebuild(reporting.settings, batch_size=100, workers=2), trickle())
    assert result.events > 0 and result.workers == 2
    await converged(reporting, second.cohort_id)
    await converged(reporting, first.cohort_id)
    live = await settled(reporting)
    await rebuild(reporting.settings)
    assert await snapshot(reporting) == live


def test_partitions_are_shared_out_by_their_record_counts() -> None:
    tp = [TopicPartition("t", p) for p in range(5)]
    sizes = {tp[0]: 100, tp[1]: 60, tp[2]: 50, tp[3]: 0, tp[4]: 10}
    shares = plan_shares(sizes, 2)
    assert shares == [[tp[0], tp[4]], [tp[1], tp[2]]]  # 110 records each; the empty one is left out
    assert plan_shares(sizes, 1) == [[tp[0], tp[1], tp[2], tp[4]]]
    assert len(plan_shares(sizes, 8)) == 4  # never more shares than partitions with records
    assert plan_shares({tp[3]: 0}, 2) == []


async def test_a_worker_that_fails_or_dies_fails_the_rebuild(reporting: RunningService) -> None:
    """A worker's error comes back with its traceback; a worker gone without a word is noticed."""
    unreachable = reporting.settings.model_copy(
        update={"database_url": "postgresql://nobody:nothing@127.0.0.1:9/none"}
    )
    plan = [{TopicPartition("t", 0): 1}]
    async with reporting.runtime.pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="rebuild worker 0 failed") as failed:
            await _replay_in_workers(conn, unreachable, "__rtest", plan, 10, RebuildResult("t"), set(), None)
    assert "Traceback" in str(failed.value) and "Connect" in str(failed.value)
    ctx = multiprocessing.get_context("spawn")
    dying = ctx.Process(target=sys.exit, args=(3,), daemon=True)
    dying.start()
    with pytest.raises(RuntimeError, match=r"rebuild worker 0 exited \(3\) before finishing"):
        await _next_message(ctx.Queue(), [dying], {0})
    dying.join(30)


@pytest.mark.parametrize("value", ["0", "-2", "33", "two"])
def test_the_worker_count_is_bounded(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        rebuild_job.main(["--workers", value])
    assert exited.value.code == 2
    assert "--workers" in capsys.readouterr().err
