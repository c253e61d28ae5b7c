"""The first HR flow, end to end across four service processes through Kafka."""

from __future__ import annotations

import httpx
import pytest

from bridge_devstack.demo import run_demo
from bridge_devstack.demo_cohort import PARTICIPANTS
from bridge_devstack.platform import Platform, SmtpSink

pytestmark = pytest.mark.e2e


async def test_cohort_to_pairs_to_relationships_emails_and_report(
    platform: Platform, smtp_sink: SmtpSink, hr_token: str
) -> None:
    urls = {s: platform.url(s) for s in ("matching", "sessions", "notifications", "reporting")}
    out = await run_demo(urls, mail_url=smtp_sink.web_url, token=hr_token, say=lambda _: None)
    pairs = out["pairs"]
    assert len(pairs) >= 4, "the demo cohort is built so that most people can be matched"
    # Every pair went through the proposal loop: proposed, then accepted by both people.
    assert len(out["proposals"]) == len(out["run"]["pairs"]) == len(pairs)
    assert {p["proposal_id"] for p in pairs} == {p["id"] for p in out["proposals"]}
    # Amara reports to Catherine: the management-chain constraint must keep them apart.
    ids = {
        p["id"]: p["employee_id"]
        for p in (await _participants(urls["matching"], out["cohort"]["id"], hr_token))
    }
    formed = {(ids[p["mentor_id"]], ids[p["mentee_id"]]) for p in pairs}
    assert ("E2002", "E1004") not in formed
    assert all(p["explanation"] for p in pairs)

    assert len(out["relationships"]) == len(pairs)
    # Every person in every pair received exactly one kick-off email in the real SMTP sink.
    emails = {f"{e.lower()}@bridge.example" for pair in formed for e in pair}
    received = [m for m in out["mails"] if m["to"] in emails]
    assert sorted(m["to"] for m in received) == sorted(emails)
    for mail in received:
        assert (
            "matched" in mail["subject"].lower() or "partner" in mail["subject"].lower() or mail["subject"]
        ), mail
        assert mail["text"] and mail["html"] and "/preferences/" in mail["text"]

    report = out["report"]
    assert report["participants"] == len(PARTICIPANTS)
    assert report["mentors"] == sum(p["role"] == "mentor" for p in PARTICIPANTS)
    assert report["pairs_active"] == len(pairs)


async def _participants(matching_url: str, cohort_id: str, token: str) -> list[dict[str, str]]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as c:
        r = await c.get(f"{matching_url}/cohorts/{cohort_id}/participants")
        r.raise_for_status()
        result: list[dict[str, str]] = r.json()
        return result


async def test_every_endpoint_requires_a_token_and_serves_specs(platform: Platform, hr_token: str) -> None:
    async with httpx.AsyncClient(timeout=10) as c:
        for svc in ("matching", "sessions", "notifications", "reporting"):
            base = platform.url(svc)
            assert (await c.get(f"{base}/healthz")).status_code == 200
            operator = {"Authorization": f"Bearer {hr_token}"}  # /readyz shows checks to operators
            assert (await c.get(f"{base}/readyz", headers=operator)).json()["checks"]["database"] == "ok"
            openapi = (await c.get(f"{base}/openapi.json")).json()
            asyncapi = (await c.get(f"{base}/asyncapi.json")).json()
            assert asyncapi["asyncapi"].startswith("3.")
            for path, ops in openapi["paths"].items():
                if path in {"/healthz", "/readyz"}:
                    continue
                for method in ops:
                    url = base + path.replace("{", "").replace("}", "")
                    r = await c.request(method.upper(), url)
                    assert r.status_code == 401, f"{svc} {method.upper()} {path} -> {r.status_code}"
                    assert r.headers["content-type"].startswith("application/problem+json")
