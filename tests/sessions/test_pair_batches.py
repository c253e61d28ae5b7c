"""matching publishes a cohort's pairs at once: sessions takes pair events in batches (one
transaction and one offset commit per batch, each run of pair.formed in one set-based statement),
and the effects are those of one event at a time: one relationship and one relationship.started per
pair however often pair.formed arrives, and a pair.dissolved after its pair.formed in the same batch
closes the relationship it opened."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from bridge_shared.contracts.matching import MatchExplanation, PairDissolvedV1, PairFormedV1
from bridge_shared.messaging.consumer import EventConsumer
from tests.service_harness import RunningService, auth
from tests.sessions.conftest import START, Bus, person, publish

pytestmark = pytest.mark.integration


def formed(tag: str, cohort: str) -> PairFormedV1:
    return PairFormedV1(
        pair_id=f"pair-{tag}",
        cohort_id=cohort,
        mentor=person(f"M{tag}", tz="Europe/Berlin", seniority=2),
        mentee=person(f"L{tag}", tz="Europe/London", seniority=9),
        explanation=MatchExplanation(score=0.8, breakdown={"skills": 0.8}, summary="good fit"),
        formed_at=START,
        programme_end=None,
        hr_contact_email="hr@bridge.example",
    )


async def test_a_batch_of_pair_events_has_the_effects_of_one_at_a_time(svc: RunningService, bus: Bus) -> None:
    consumers: list[EventConsumer] = svc.runtime.extras["consumers"]
    pairs_consumer = next(c for c in consumers if c.name == "pairs")
    assert pairs_consumer.batch
    client = pairs_consumer._subscription.consumer
    assert isinstance(client, AIOKafkaConsumer)
    run = uuid.uuid4().hex[:6].upper()
    cohort = f"cohort-batch-{run}"
    payloads = [formed(f"{run}{i:02d}", cohort) for i in range(30)]
    dissolved = payloads[7]
    # Paused, so the events pile up and arrive in one fetch (max 500 records).
    client.pause(*client.assignment())
    try:
        for p in payloads:
            await publish(svc, p)
        for p in payloads[:5]:  # delivered again: new event ids, same pairs
            await publish(svc, p)
        await publish(
            svc,
            PairDissolvedV1(
                pair_id=dissolved.pair_id, cohort_id=cohort, reason="role change", dissolved_by="hr-1"
            ),
        )
        await publish(svc, payloads[7])  # formed again after its dissolution: no new relationship
    finally:
        client.resume(*client.assignment())

    hr = auth("hr_admin")
    async with asyncio.timeout(30):
        while True:
            rels = (await svc.client.get("/relationships", params={"cohort_id": cohort}, headers=hr)).json()
            closed = [r for r in rels if r["status"] == "closed"]
            if len(rels) >= 30 and closed:
                break
            await asyncio.sleep(0.2)
    assert sorted(r["pair_id"] for r in rels) == sorted(p.pair_id for p in payloads)
    assert [r["pair_id"] for r in closed] == [dissolved.pair_id]
    assert closed[0]["close_reason"] == "role change"
    by_pair = {r["pair_id"]: r["id"] for r in rels}
    # One relationship.started per relationship (the repeats started nothing), with its pair.
    for p in payloads:
        started = await bus.wait(by_pair[p.pair_id], "sessions.relationship.started.v1")
        assert [s.pair_id for s in started] == [p.pair_id]
    await bus.wait(by_pair[dissolved.pair_id], "sessions.pair.closed.v2")
    # Once the group has committed every record, the outbox holds all the effects: one
    # relationship.started per pair, the repeated pair.formed added none.
    async with asyncio.timeout(30):
        while any((await pairs_consumer.lag()).values()):
            await asyncio.sleep(0.2)
    async with svc.runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT convert_from(payload, 'UTF8')::jsonb ->> 'pair_id' AS pair_id, count(*) AS n,
                      min(partition_key) AS relationship_id
               FROM outbox WHERE event_type = $1
                AND convert_from(payload, 'UTF8')::jsonb ->> 'pair_id' = ANY($2::text[])
               GROUP BY 1""",
            "com.bridge.sessions.relationship.started.v1",
            list(by_pair),
        )
    assert {r["pair_id"]: (r["n"], r["relationship_id"]) for r in rows} == {
        pair: (1, rid) for pair, rid in by_pair.items()
    }
