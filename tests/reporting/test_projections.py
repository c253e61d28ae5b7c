"""Programme figures projected from real event streams (real PostgreSQL and broker)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.reporting import scenario
from tests.reporting.conftest import HR, converged, overview, publish, published_scenario
from tests.service_harness import RunningService, auth

pytestmark = pytest.mark.integration


async def test_figures_from_a_realistic_cohort(reporting: RunningService) -> None:
    sc = await published_scenario(reporting)

    body = await overview(reporting, sc.cohort_id)
    assert body["funnel"] == [
        {"stage": "enrolled", "count": 8},
        {"stage": "proposed", "count": 7},
        {"stage": "matched", "count": 6},
        {"stage": "met", "count": 4},
    ]

    r = await reporting.client.get(
        "/reports/breakdown", params={"cohort_id": sc.cohort_id, "by": "region"}, headers=HR
    )
    rows = {row["group"]: row for row in r.json()["rows"]}
    assert set(rows) == {"EMEA", "APAC"}
    emea, apac = rows["EMEA"], rows["APAC"]
    assert (emea["enrolled"], emea["matched"], apac["enrolled"], apac["matched"]) == (4, 3, 4, 3)
    # Pairs are attributed to the mentee's region: A in EMEA, B and C (cross-region) in APAC.
    assert (emea["pairs_formed"], emea["pairs_active"], emea["pairs_at_risk"]) == (1, 1, 0)
    assert (apac["pairs_formed"], apac["pairs_active"], apac["pairs_at_risk"], apac["pairs_closed"]) == (
        2,
        1,
        1,
        1,
    )
    assert emea["sessions_held"] == 3 and emea["balance_index"] == 1.0
    assert apac["sessions_held"] == 2 and apac["balance_index"] == 0.0
    # Feedback by respondent: A's mentor and mentee and C's (EMEA) mentor in EMEA.
    assert (emea["feedback_responses"], emea["average_rating"], emea["nps"]) == (3, 4.33, 66.7)
    assert (apac["feedback_responses"], apac["average_rating"], apac["nps"]) == (1, 2.0, -100.0)
    assert (emea["notifications_failed"], apac["notifications_failed"]) == (0, 1)

    r = await reporting.client.get(
        "/reports/breakdown", params={"cohort_id": sc.cohort_id, "by": "band"}, headers=HR
    )
    bands = {row["group"]: row for row in r.json()["rows"]}
    assert {g: b["enrolled"] for g, b in bands.items()} == {
        "early_career": 3,
        "mid_career": 2,
        "senior": 2,
        "executive": 1,
    }
    assert bands["executive"]["match_rate"] == 1.0 and bands["mid_career"]["match_rate"] == 0.5

    # A date range keeps the activity inside it: the first two weeks hold sessions on days 0, 3, 7, 13.
    ranged = (await overview(reporting, sc.cohort_id, **{"from": "2026-03-02", "to": "2026-03-15"}))["kpis"]
    assert ranged["sessions_held"] == 4
    assert ranged["median_days_between_sessions"] == 8.5  # gaps ending in range: 7 (A), 10 (B)

    weekly = (
        await reporting.client.get("/reports/weekly", params={"cohort_id": sc.cohort_id}, headers=HR)
    ).json()["weeks"]
    by_week = {w["week"]: w for w in weekly}
    assert by_week["2026-03-02"]["sessions_held"] == 2  # days 0 and 3
    assert by_week["2026-03-09"]["sessions_held"] == 2  # days 7 and 13
    assert by_week["2026-03-23"]["sessions_held"] == 1  # day 21
    assert by_week["2026-02-16"]["enrolled"] == 8 and by_week["2026-02-23"]["matched_total"] == 6
    assert by_week["2026-02-23"]["pairs_active_at_week_end"] == 3
    assert by_week["2026-03-30"]["pairs_active_at_week_end"] == 2  # B closed on day 30
    assert sum(w["at_risk_signals"] for w in weekly) == 2

    risky = (
        await reporting.client.get("/reports/at-risk-pairs", params={"cohort_id": sc.cohort_id}, headers=HR)
    ).json()
    assert [(p["pair_id"], p["reasons"]) for p in risky] == [(sc.pairs["C"], ["inactive"])]
    assert risky[0]["risks"][0]["detail"] == "no session in 21 days" and risky[0]["sessions_held"] == 0

    tl = (await reporting.client.get(f"/reports/pairs/{sc.pairs['A']}/timeline", headers=HR)).json()
    assert tl["status"] == "active" and tl["mentee_name"] == "Person L1"
    types = [e["type"] for e in tl["events"]]
    assert types[0] == "matching.pair.formed" and types.count("sessions.session.held") == 3
    assert all("VCALENDAR" not in str(e["detail"]) and "invite" not in e["detail"] for e in tl["events"])
    assert [e["occurred_at"] for e in tl["events"]] == sorted(e["occurred_at"] for e in tl["events"])

    summary = (await reporting.client.get(f"/cohorts/{sc.cohort_id}/summary", headers=HR)).json()
    assert (summary["participants"], summary["mentors"], summary["pairs_active"]) == (8, 5, 2)
    assert summary["kpis"] == body["kpis"] and summary["match_rate"] == 0.75


async def test_any_cross_topic_order_and_duplicates_converge(reporting: RunningService) -> None:
    """Per key order is Kafka's; across topics anything goes. Replays and duplicates change nothing."""
    sc = scenario.build()
    by_topic: dict[str, list[Any]] = {}
    for evt in sc.events:
        by_topic.setdefault(evt.topic, []).append(evt)
    topics = sorted(by_topic, reverse=True)  # sessions and notifications before matching
    random.Random(7).shuffle(topics)
    reordered = [e for t in topics for e in by_topic[t]]
    dupes = random.Random(11).sample(sc.events, 12)
    await publish(reporting, reordered + dupes)
    await converged(reporting, sc.cohort_id)
    tl = (await reporting.client.get(f"/reports/pairs/{sc.pairs['B']}/timeline", headers=HR)).json()
    assert tl["status"] == "closed" and len({e["event_id"] for e in tl["events"]}) == len(tl["events"])


async def test_regional_hr_sees_only_their_regions(reporting: RunningService) -> None:
    sc = await published_scenario(reporting)
    emea = auth("hr_regional", regions=("EMEA",))
    k = (await overview(reporting, sc.cohort_id, headers=emea))["kpis"]
    assert (
        k["enrolled"],
        k["pairs_formed"],
        k["sessions_held"],
        k["feedback_responses"],
        k["notifications_failed"],
    ) == (4, 2, 3, 3, 0)  # pair C (EMEA mentor, APAC mentee) counts in both regions' scope
    r = await reporting.client.get("/reports/breakdown", params={"cohort_id": sc.cohort_id}, headers=emea)
    assert [row["group"] for row in r.json()["rows"]] == ["EMEA"]
    r = await reporting.client.get("/reports/overview", params={"region": "APAC"}, headers=emea)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    r = await reporting.client.get(f"/reports/pairs/{sc.pairs['B']}/timeline", headers=emea)
    assert r.status_code == 404
    assert (
        await reporting.client.get(f"/reports/pairs/{sc.pairs['A']}/timeline", headers=emea)
    ).status_code == 200
    risky = (
        await reporting.client.get("/reports/at-risk-pairs", params={"cohort_id": sc.cohort_id}, headers=emea)
    ).json()
    assert [p["pair_id"] for p in risky] == [sc.pairs["C"]]  # C's mentor is in EMEA
    csv_text = (
        await reporting.client.get(
            "/reports/exports/pairs.csv", params={"cohort_id": sc.cohort_id}, headers=emea
        )
    ).text
    assert sc.pairs["A"] in csv_text and sc.pairs["B"] not in csv_text and sc.pairs["C"] in csv_text
    # Participants cannot read reports at all.
    r = await reporting.client.get("/reports/overview", headers=auth("participant", sub="E1"))
    assert r.status_code == 403


async def test_a_proposal_cancelled_by_a_withdrawal_is_not_a_decline(reporting: RunningService) -> None:
    """matching.match.cancelled (issue 16): the proposal is stamped cancelled, never declined."""
    from bridge_shared.contracts import matching as m
    from bridge_shared.events.envelope import build_event
    from bridge_shared.messaging.sources import owner_source
    from tests.reporting.conftest import eventually

    sc = scenario.build()
    proposed = next(p for p, _, _ in sc.payloads if isinstance(p, m.MatchProposedV1))
    cancelled = m.MatchCancelledV1(
        proposal_id=f"{sc.prefix}-prop-cancelled",
        cohort_id=sc.cohort_id,
        mentor_id=proposed.mentor.participant_id,
        mentee_id=proposed.mentee.participant_id,
        left_participant_id=proposed.mentor.participant_id,
        cause="withdrawn",
        cancelled_at=scenario.day(-1),
    )
    again = proposed.model_copy(update={"proposal_id": cancelled.proposal_id})
    events = [build_event(p, source=owner_source(p.topic), time=scenario.day(-2)) for p in (again, cancelled)]
    await publish(reporting, sc.events + events)
    await converged(reporting, sc.cohort_id)

    async def row() -> Any:
        async with reporting.runtime.pool.acquire() as conn:
            r = await conn.fetchrow(
                "SELECT proposed_at, declined_at, cancelled_at FROM rm_proposals WHERE proposal_id = $1",
                cancelled.proposal_id,
            )
            return r if r is not None and r["cancelled_at"] is not None else None

    got = await eventually(row, what="the cancelled proposal's row")
    assert got["cancelled_at"] == scenario.day(-1) and got["declined_at"] is None
    assert got["proposed_at"] == scenario.day(-2)
