"""Freshness: how long until an event published to Kafka shows in the reporting API.

    .tools/bin/uv run python bench/reporting/freshness.py --probes 200 --load-rate 200

Starts its own embedded PostgreSQL + Apache Kafka, runs the reporting service as a separate process
(`python -m bridge_reporting`, default settings), and keeps a background "demo load" of realistic
programme events (bench/reporting/events.py) flowing at `--load-rate` events/s through a real
producer. Each probe publishes one `sessions.session.held` for a probe pair via a real producer
(send_and_wait, so the clock starts when the broker has it) and polls GET /reports/overview for the
probe cohort every 10 ms until sessions_held counts it. Reports p50/p95/max over the probes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import SECURITY, infra, kafka_kwargs, service_env
from events import programme

from bridge_devstack.ports import free_port
from bridge_shared.auth.tokens import mint_token
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.db.provision import provision
from bridge_shared.events.envelope import OutgoingEvent, build_event
from bridge_shared.events.topics import ALL_EVENT_TOPICS
from bridge_shared.messaging.broker import ensure_topics
from bridge_shared.messaging.sources import service_source
from bridge_shared.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER, DEV_JWT_SECRET

# Events carry their topic owner's source: reporting dead-letters any other (docs/security-kafka.md).
MATCHING_SOURCE, SESSIONS_SOURCE = service_source("matching"), service_source("sessions")


async def send(producer: AIOKafkaProducer, evt: OutgoingEvent) -> None:
    await producer.send_and_wait(
        evt.topic, evt.value, key=evt.key.encode(), headers=[(k, v.encode()) for k, v in evt.headers.items()]
    )


async def demo_load(producer: AIOKafkaProducer, rate: float, stop: asyncio.Event, counter: list[int]) -> None:
    gen = programme(10**9, run=f"load{int(time.time())}")
    t0 = time.perf_counter()
    while not stop.is_set():
        due = int((time.perf_counter() - t0) * rate) - counter[0]
        for _ in range(max(0, min(due, 200))):
            evt = next(gen)
            await producer.send(
                evt.topic,
                evt.value,
                key=evt.key.encode(),
                headers=[(k, v.encode()) for k, v in evt.headers.items()],
            )
            counter[0] += 1
        await asyncio.sleep(0.01)


def probe_setup(run: str) -> tuple[str, list[OutgoingEvent], dict[str, str]]:
    cohort = f"{run}-probe"
    now = datetime.now(UTC)
    refs = [
        m.ParticipantRef(
            participant_id=f"{cohort}-{k}",
            employee_id=f"E{k}",
            display_name=k,
            email=f"{k}@bridge.example",
            region="EMEA",
            department="Engineering",
            seniority_level=lvl,
            timezone="UTC",
        )
        for k, lvl in (("mentor", 2), ("mentee", 10))
    ]
    evs = [
        build_event(
            m.CohortCreatedV1(
                cohort_id=cohort, name="probe", regions=["EMEA"], hr_contact_email="hr@bridge.example"
            ),
            source=MATCHING_SOURCE,
            time=now,
        )
    ]
    for ref, role in zip(refs, ("mentor", "mentee"), strict=True):
        evs.append(
            build_event(
                m.ParticipantEnrolledV1(
                    participant_id=ref.participant_id, cohort_id=cohort, role=role, profile=ref
                ),
                source=MATCHING_SOURCE,
                time=now,
            )
        )  # type: ignore[arg-type]
    pair = f"{cohort}-pair"
    evs.append(
        build_event(
            m.PairFormedV1(
                pair_id=pair,
                cohort_id=cohort,
                mentor=refs[0],
                mentee=refs[1],
                explanation=m.MatchExplanation(score=1, breakdown={}, summary="p"),
                formed_at=now,
            ),
            source=MATCHING_SOURCE,
            time=now,
        )
    )
    ids = {
        "relationship_id": f"{cohort}-rel",
        "pair_id": pair,
        "cohort_id": cohort,
        "mentor_id": refs[0].participant_id,
        "mentee_id": refs[1].participant_id,
    }
    return cohort, evs, ids


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--load-rate", type=float, default=200.0, help="background events per second")
    ap.add_argument("--interval", type=float, default=0.1, help="seconds between probes")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bridge-fresh-") as tmp:
        inf = infra(Path(tmp))
        proc = None
        try:
            name = f"reporting_fresh_{secrets.token_hex(3)}"
            dsn = await provision(inf.admin_dsn, name, secrets.token_hex(8))
            await ensure_topics(inf.bootstrap_servers, ALL_EVENT_TOPICS, partitions=3, security=SECURITY)
            port = free_port()
            env = {
                **os.environ,
                "BRIDGE_REPORTING_DATABASE_URL": dsn,
                "BRIDGE_REPORTING_DB_SCHEMA": name,
                "BRIDGE_REPORTING_SERVICE_NAME": name,
                "BRIDGE_REPORTING_HTTP_PORT": str(port),
                "BRIDGE_REPORTING_KAFKA_BOOTSTRAP_SERVERS": inf.bootstrap_servers,
                "BRIDGE_REPORTING_LOG_LEVEL": "WARNING",
                "BRIDGE_REPORTING_ENVIRONMENT": os.environ.get("BRIDGE_REPORTING_ENVIRONMENT", "development"),
                **service_env("reporting"),
            }
            log = open(Path(tmp) / "reporting.log", "wb")  # noqa: SIM115, ASYNC230
            proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                [sys.executable, "-m", "bridge_reporting"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            base = f"http://127.0.0.1:{port}"
            tok = mint_token(
                secret=DEV_JWT_SECRET,
                subject="bench",
                roles=["hr_admin"],
                issuer=DEFAULT_JWT_ISSUER,
                audience=DEFAULT_JWT_AUDIENCE,
            )
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {tok}"}, timeout=10
            ) as http:
                for _ in range(600):
                    if proc.poll() is not None:
                        raise SystemExit(
                            "reporting exited at start-up:\n"
                            + (Path(tmp) / "reporting.log").read_text(errors="replace")[-3000:]
                        )
                    try:
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.2)
                producer = AIOKafkaProducer(
                    bootstrap_servers=inf.bootstrap_servers,
                    linger_ms=1,
                    acks="all",
                    enable_idempotence=True,
                    **kafka_kwargs(),
                )
                await producer.start()
                stop = asyncio.Event()
                sent = [0]
                load = asyncio.create_task(demo_load(producer, args.load_rate, stop, sent))
                run = f"f{int(time.time())}"
                cohort, setup, ids = probe_setup(run)
                for evt in setup:
                    await send(producer, evt)

                reads: list[float] = []  # each GET's own time: the poll's granularity

                async def held_count() -> int:
                    t = time.perf_counter()
                    r = await http.get("/reports/overview", params={"cohort_id": cohort})
                    reads.append(time.perf_counter() - t)
                    return int(r.json()["kpis"]["sessions_held"])

                await asyncio.sleep(3)  # let the service's consumer join and the load warm up
                latencies: list[float] = []
                stored: list[float] = []  # until the read model's row is committed
                db = await asyncpg.connect(dsn, server_settings={"search_path": name})
                for i in range(1, args.probes + 1):
                    at = datetime.now(UTC)
                    evt = build_event(
                        s.SessionHeldV1(
                            **ids,
                            session_id=f"{cohort}-s{i}",
                            held_at=at,
                            actual_duration_minutes=30,
                            topics=[],
                        ),
                        source=SESSIONS_SOURCE,
                        time=at,
                    )
                    await send(producer, evt)
                    t0 = time.perf_counter()
                    # First the read model's row (the consumer's committed transaction), then the API.
                    while not await db.fetchval(
                        "SELECT held_at IS NOT NULL FROM rm_sessions WHERE session_id = $1", f"{cohort}-s{i}"
                    ):
                        if time.perf_counter() - t0 > 30:
                            raise TimeoutError(f"probe {i} not stored after 30 s")
                        await asyncio.sleep(0.01)
                    stored.append(time.perf_counter() - t0)
                    while await held_count() < i:
                        if time.perf_counter() - t0 > 30:
                            raise TimeoutError(f"probe {i} not visible after 30 s")
                        await asyncio.sleep(0.01)
                    latencies.append(time.perf_counter() - t0)
                    await asyncio.sleep(args.interval)
                stop.set()
                await load
                await db.close()
                await producer.stop()
            lat = sorted(latencies)
            result = {
                "probes": len(lat),
                "background_events": sent[0],
                "background_rate_per_s": args.load_rate,
                "p50_ms": round(statistics.median(lat) * 1000, 1),
                "p95_ms": round(lat[max(0, int(0.95 * len(lat)) - 1)] * 1000, 1),
                "max_ms": round(lat[-1] * 1000, 1),
                "api_read_p50_ms": round(statistics.median(reads) * 1000, 1),
                "stored_p50_ms": round(statistics.median(stored) * 1000, 1),
                "stored_p95_ms": round(sorted(stored)[max(0, int(0.95 * len(stored)) - 1)] * 1000, 1),
            }
            print(json.dumps(result))  # one JSON line, last
            if args.json:
                args.json.write_text(json.dumps(result, indent=2) + "\n")
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(15)
            inf.stop()


if __name__ == "__main__":
    asyncio.run(main())
