"""A change whose event the broker would refuse is refused at write time: 413 naming the field, nothing stored."""

from __future__ import annotations

from tests.matching.api.support import cohort_body
from tests.service_harness import RunningService, auth

HR = auth("hr_admin", sub="hr-size")


async def test_cohort_with_a_one_mebibyte_skill_taxonomy_is_refused_and_nothing_is_stored(
    svc: RunningService,
) -> None:
    taxonomy = [f"skill {i:04d} " + "x" * 520 for i in range(2000)]  # ~1.05 MB of tags
    body = cohort_body(skill_taxonomy=taxonomy)
    r = await svc.client.post("/cohorts", json=body, headers=HR)
    assert r.status_code == 413, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["field"] == "skill_taxonomy"
    assert problem["errors"][0]["field"] == "skill_taxonomy"
    assert problem["limit"] == svc.settings.outbox_max_event_bytes < problem["size"]
    assert "skill_taxonomy" in problem["detail"]

    listed = await svc.client.get("/cohorts", headers=HR)
    assert body["name"] not in {c["name"] for c in listed.json()}
    async with svc.runtime.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cohorts WHERE name = $1", body["name"]) == 0
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE position($1::bytea IN payload) > 0", body["name"].encode()
            )
            == 0
        )

    # The same cohort with a normal taxonomy goes through.
    ok = await svc.client.post("/cohorts", json={**body, "skill_taxonomy": taxonomy[:10]}, headers=HR)
    assert ok.status_code == 201, ok.text
