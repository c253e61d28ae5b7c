"""Issue 19 in the read models: a pair that ended because someone left the company is its own outcome
(`left_company`, beside completed and ended early) by cohort, region, department and band; pairs
matching flagged after a move are counted and listed for HR with names beside ids; leavers and movers
are counted per cohort; the pairs export says `left_company`; and a rebuild by replay gives the same."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest

from bridge_reporting.app.rebuild import rebuild
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.events.envelope import OutgoingEvent, build_event
from bridge_shared.events.registry import EventPayload
from bridge_shared.messaging.sources import owner_source
from tests.reporting import scenario
from tests.reporting.conftest import HR, converged, eventually, overview, publish
from tests.service_harness import RunningService, auth
from tests.shared.events_for_tests import sealed_event

pytestmark = pytest.mark.integration

EMEA_HR = auth("hr_regional", regions=("EMEA",))
AMER_HR = auth("hr_regional", regions=("AMER",))
REASON = "After a change of manager, one of the two now reports to the other."


def plain(payload: EventPayload) -> OutgoingEvent:
    return build_event(payload, source=owner_source(payload.topic))


async def directory_story(sc: scenario.Scenario, dsn: str) -> list[OutgoingEvent]:
    """L1 (EMEA) leaves the company: pair A is dissolved by matching and closed by sessions, both
    naming L1. M2 (EMEA) and M3 (APAC) move; pair C (M2-L3, active) is flagged, and so is pair B,
    which had already completed (no longer listed or counted as flagged)."""
    pid, c = sc.pids, sc.cohort_id
    a, b, cc = sc.pairs["A"], sc.pairs["B"], sc.pairs["C"]
    dissolved = m.PairDissolvedV2(
        pair_id=a,
        cohort_id=c,
        mentor_id=pid["M1"],
        mentee_id=pid["L1"],
        reason="left the company",
        dissolved_by="matching",
        left_participant_id=pid["L1"],
    )
    closed = s.PairClosedV2(
        relationship_id=f"{sc.prefix}-rel-A",
        pair_id=a,
        cohort_id=c,
        outcome="ended_early",
        reason="left the company",
        closed_at=scenario.day(40),
        sessions_held=3,
        mentor_id=pid["M1"],
        mentee_id=pid["L1"],
        left_participant_id=pid["L1"],
    )
    left = m.PersonLeftV1(
        person_id=f"{sc.prefix}-person-L1",
        participant_ids=[pid["L1"]],
        cause="terminated",
        left_on=date(2026, 4, 10),
        source="hris_file",
        left_at=scenario.day(40),
    )
    moved = m.PersonMovedV1(
        person_id=f"{sc.prefix}-person-M2",
        changed=["manager", "department"],
        department="Finance",
        previous_department="Sales",
        participant_ids=[pid["M2"], pid["M3"]],
        source="scim",
        moved_at=scenario.day(35),
    )

    def flag(pair: str, mentor: str, mentee: str, at: float) -> m.PairFlaggedV1:
        return m.PairFlaggedV1(
            pair_id=pair,
            cohort_id=c,
            mentor_id=pid[mentor],
            mentee_id=pid[mentee],
            moved_person_id=f"{sc.prefix}-person-{mentor}",
            rule="management_chain",
            reason=REASON,
            flagged_at=scenario.day(at),
        )

    sealed = [await sealed_event(p, source=owner_source(p.topic), dsn=dsn) for p in (dissolved, closed)]
    return [
        *sealed,
        plain(left),
        plain(moved),
        plain(flag(cc, "M2", "L3", 35)),
        plain(flag(b, "M3", "L2", 35)),
    ]


async def figures(svc: RunningService, cohort_id: str, headers: dict[str, str] = HR) -> dict[str, Any]:
    k: dict[str, Any] = (await overview(svc, cohort_id, headers=headers))["kpis"]
    return k


WANT = {
    "pairs_closed": 2,
    "pairs_completed": 1,
    "pairs_ended_early": 0,
    "pairs_left_company": 1,
    "pairs_active": 1,
    "pairs_flagged": 1,
    "leavers": 1,
    "movers": 2,
}


async def test_leavers_movers_and_flagged_pairs_in_reports_exports_and_a_rebuild(
    reporting: RunningService, admin_dsn: str
) -> None:
    sc = scenario.build()
    await publish(reporting, sc.events)
    await converged(reporting, sc.cohort_id)
    await publish(reporting, await directory_story(sc, admin_dsn))

    async def settled() -> dict[str, Any] | None:
        k = await figures(reporting, sc.cohort_id)
        return k if {f: k[f] for f in WANT} == WANT else None

    k = await eventually(settled, what="the leaver, the moves and the flags to be projected")
    assert k["pairs_closed"] == k["pairs_completed"] + k["pairs_ended_early"] + k["pairs_left_company"]

    # By region: the pair counts under its mentee's region (L1: EMEA); people under their own.
    r = await reporting.client.get(
        "/reports/breakdown", params={"cohort_id": sc.cohort_id, "by": "region"}, headers=HR
    )
    rows = {row["group"]: row for row in r.json()["rows"]}
    assert (rows["EMEA"]["pairs_left_company"], rows["APAC"]["pairs_left_company"]) == (1, 0)
    assert (rows["EMEA"]["leavers"], rows["APAC"]["leavers"]) == (1, 0)
    assert (rows["EMEA"]["movers"], rows["APAC"]["movers"]) == (1, 1)
    for by in ("cohort", "department", "band"):
        r = await reporting.client.get(
            "/reports/breakdown", params={"cohort_id": sc.cohort_id, "by": by}, headers=HR
        )
        groups = r.json()["rows"]
        assert sum(g["pairs_left_company"] for g in groups) == 1, by
        assert sum(g["leavers"] for g in groups) == 1, by
    [cohort_row] = (
        await reporting.client.get(
            "/reports/breakdown", params={"cohort_id": sc.cohort_id, "by": "cohort"}, headers=HR
        )
    ).json()["rows"]
    assert cohort_row["label"] == f"Cohort {sc.prefix}" and cohort_row["leavers"] == 1
    summary = (await reporting.client.get(f"/cohorts/{sc.cohort_id}/summary", headers=HR)).json()
    assert {f: summary["kpis"][f] for f in WANT} == WANT

    # The flagged list: the active flagged pair only, names beside ids; in both its regions' scope.
    q = {"cohort_id": sc.cohort_id}
    flagged = (await reporting.client.get("/reports/flagged-pairs", params=q, headers=HR)).json()
    assert [f["pair_id"] for f in flagged] == [sc.pairs["C"]]
    [c] = flagged
    assert (c["mentor_name"], c["mentee_name"]) == ("Person M2", "Person L3")
    assert (c["mentor_id"], c["mentee_id"]) == (sc.pids["M2"], sc.pids["L3"])
    assert c["cohort_name"] == f"Cohort {sc.prefix}" and c["rule"] == "management_chain"
    assert c["reason"] == REASON and c["flagged_at"].startswith("2026-04-06")
    emea = (await reporting.client.get("/reports/flagged-pairs", params=q, headers=EMEA_HR)).json()
    assert [f["pair_id"] for f in emea] == [sc.pairs["C"]]  # M2 is in EMEA (cross-region pair)
    assert (await reporting.client.get("/reports/flagged-pairs", params=q, headers=AMER_HR)).json() == []
    assert (await figures(reporting, sc.cohort_id, EMEA_HR))["pairs_flagged"] == 1

    # Exports: the outcome says left_company; the flag is a column.
    r = await reporting.client.get("/reports/exports/pairs.csv", params=q, headers=HR)
    by_id = {row["pair_id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert by_id[sc.pairs["A"]]["outcome"] == "left_company"
    assert by_id[sc.pairs["A"]]["left_participant_id"] == sc.pids["L1"]
    assert by_id[sc.pairs["B"]]["outcome"] == "completed"
    assert by_id[sc.pairs["C"]]["flag_rule"] == "management_chain" and by_id[sc.pairs["C"]]["outcome"] == ""
    r = await reporting.client.get("/reports/exports/participants.csv", params=q, headers=HR)
    people = {row["participant_id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert people[sc.pids["L1"]]["left_company_at"].startswith("2026-04-11")
    assert people[sc.pids["M1"]]["left_company_at"] == ""

    # The timeline tells the flag and the closure apart.
    tl = (await reporting.client.get(f"/reports/pairs/{sc.pairs['C']}/timeline", headers=HR)).json()
    assert any(e["summary"].startswith("Pair flagged for HR (management_chain)") for e in tl["events"])
    tl = (await reporting.client.get(f"/reports/pairs/{sc.pairs['A']}/timeline", headers=HR)).json()
    assert any(e["summary"].startswith("Pair closed (left_company)") for e in tl["events"])

    # A rebuild by replay handles the new types: the same figures and the same list.
    before = (k, flagged)
    result = await rebuild(reporting.settings, batch_size=500)
    assert result.events > 0
    after_k = await figures(reporting, sc.cohort_id)
    after_list = (await reporting.client.get("/reports/flagged-pairs", params=q, headers=HR)).json()
    assert (after_k, after_list) == before
