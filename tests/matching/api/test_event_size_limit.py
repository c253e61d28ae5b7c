"""A change whose event the broker would refuse is refused at write time: 413 naming the field, nothing stored."""

from __future__ import annotations

from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from tests.matching.api.support import cohort_body
from tests.service_harness import RunningService, auth, running_service

HR = auth("hr_admin", sub="hr-size")


async def test_cohort_with_a_one_mebibyte_skill_taxonomy_cannot_be_sent(svc: RunningService) -> None:
    """Input bounds (bridge_shared.types) keep such a cohort out before any event is built: the body
    is over the request cap (413), and under it each item is over 100 characters (422)."""
    taxonomy = [f"skill {i:04d} " + "x" * 520 for i in range(2000)]  # ~1.05 MB of tags
    body = cohort_body(skill_taxonomy=taxonomy)
    r = await svc.client.post("/cohorts", json=body, headers=HR)
    assert r.status_code == 413, r.text[:300]
    assert r.json()["type"].endswith("/body-too-large")
    r = await svc.client.post("/cohorts", json=cohort_body(skill_taxonomy=taxonomy[:100]), headers=HR)
    assert r.status_code == 422, r.text[:300]
    async with svc.runtime.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cohorts WHERE name = $1", body["name"]) == 0


async def test_an_event_over_the_outbox_limit_is_refused_and_nothing_is_stored(
    admin_dsn: str, bootstrap_servers: str
) -> None:
    """The outbox's own limit stays the backstop (here set low, as accepted input cannot reach 1 MB)."""
    async with running_service(
        create_app,
        MatchingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        outbox_max_event_bytes=50_000,
    ) as small:
        taxonomy = [f"skill {i:04d} " + "x" * 80 for i in range(1000)]  # ~90 kB of tags
        body = cohort_body(skill_taxonomy=taxonomy)
        r = await small.client.post("/cohorts", json=body, headers=HR)
        assert r.status_code == 413, r.text
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert problem["field"] == "skill_taxonomy"
        assert problem["errors"][0]["field"] == "skill_taxonomy"
        assert problem["limit"] == small.settings.outbox_max_event_bytes < problem["size"]
        assert "skill_taxonomy" in problem["detail"]

        listed = await small.client.get("/cohorts", headers=HR)
        assert body["name"] not in {c["name"] for c in listed.json()}
        async with small.runtime.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM cohorts WHERE name = $1", body["name"]) == 0
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE position($1::bytea IN payload) > 0",
                    body["name"].encode(),
                )
                == 0
            )

        # The same cohort with a normal taxonomy goes through.
        ok = await small.client.post("/cohorts", json={**body, "skill_taxonomy": taxonomy[:10]}, headers=HR)
        assert ok.status_code == 201, ok.text
