"""Privacy in reporting (issue 14): sealed v2 events projected, erasure (schema scan, counts kept,
late and replayed events, rebuild), export, retention. Real PostgreSQL and Kafka."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from bridge_reporting.app.rebuild import rebuild
from bridge_reporting.main import create_app
from bridge_reporting.settings import ReportingSettings
from bridge_shared.contracts import matching as m
from bridge_shared.contracts import sessions as s
from bridge_shared.contracts.privacy import (
    ErasureRequestedV1,
    ExportRequestedV1,
    ReportingErasureCompletedV1,
    ReportingExportPartV1,
)
from bridge_shared.events.envelope import OutgoingEvent, build_event, open_event_payload, parse_attributes
from bridge_shared.events.registry import EventPayload, spec_for
from bridge_shared.messaging.sources import owner_source
from bridge_shared.privacy.erased import ERASED_ID, ERASED_NAME
from bridge_shared.privacy.sealing import Keys, has_personal_fields, subjects_to_seal
from bridge_shared.privacy.vault import VAULT
from bridge_shared.scheduling.clock import FrozenClock
from tests.reporting import scenario
from tests.reporting.conftest import HR, converged, eventually, overview, publish
from tests.service_harness import RunningService, running_service
from tests.shared import privacy_scan

pytestmark = pytest.mark.integration

HISTORY = (m.ParticipantEnrolledV1, m.MatchProposedV1, m.PairFormedV1)
"""Types a mixed stream keeps at v1: written before the upgrade, so their personal fields are plain."""


# -- building events as the producers' outboxes do -------------------------------------------------


def upgraded(sc: scenario.Scenario, payload: EventPayload) -> EventPayload:
    """The v2 of a scenario payload where one exists (same facts; ids of both people added)."""
    spec = spec_for(payload.event_type.removesuffix(".v1") + ".v2")
    if spec is None:
        return payload
    data = payload.model_dump(mode="json")
    sides = sc.sides.get(str(data.get("pair_id")))
    if sides is not None:
        for name, pid in zip(("mentor_id", "mentee_id"), sides, strict=True):
            if name in spec.model.model_fields:
                data.setdefault(name, pid)
    return spec.model.model_validate(data)


async def sealed(
    dsn: str, items: Iterable[tuple[EventPayload, datetime, str]], source: str | None = None
) -> list[OutgoingEvent]:
    """Events built as the producer's Outbox builds them: personal fields sealed under keys from the
    key vault (created on first use), with the given times and ids."""
    conn = await asyncpg.connect(dsn)
    try:
        out = []
        for payload, at, eid in items:
            keys: Keys | None = None
            if has_personal_fields(type(payload)):
                subjects = subjects_to_seal(type(payload), payload.model_dump(mode="json"))
                keys = await VAULT.keys_for_sealing(conn, subjects)
            out.append(
                build_event(
                    payload, source=source or owner_source(payload.topic), time=at, event_id=eid, keys=keys
                )
            )
        return out
    finally:
        await conn.close()


async def v2_scenario(
    dsn: str, history: tuple[type[EventPayload], ...] = ()
) -> tuple[scenario.Scenario, list[OutgoingEvent]]:
    """A scenario with unique names, every event at its latest version (the `history` types at v1)."""
    sc = scenario.build(unique_names=True)
    items = [(p if type(p) in history else upgraded(sc, p), at, eid) for p, at, eid in sc.payloads]
    return sc, await sealed(dsn, items)


def request(payload: EventPayload) -> OutgoingEvent:
    return build_event(payload, source=owner_source(payload.topic), event_id=str(uuid.uuid4()))


def enrolment(sc: scenario.Scenario, who: str) -> dict[str, Any]:
    """The person's enrolment payload (as JSON), to send it again as an update."""
    return next(
        p.model_dump(mode="json")
        for p, _, _ in sc.payloads
        if isinstance(p, m.ParticipantEnrolledV1) and p.participant_id == sc.pids[who]
    )


async def destroy_keys(dsn: str, ids: list[str]) -> None:
    """As matching does before it publishes the erasure request."""
    conn = await asyncpg.connect(dsn)
    try:
        await VAULT.destroy(conn, ids)
    finally:
        await conn.close()


# -- looking at the schema ---------------------------------------------------------------------------


async def scan(svc: RunningService, needles: dict[str, str]) -> dict[str, int]:
    """`<what> in <schema.table.column>` for each needle still in the service's schema."""
    async with svc.runtime.pool.acquire() as conn:
        found = await privacy_scan.hits(conn, list(needles.values()), [svc.settings.db_schema])
    what = {repr(n): w for w, n in needles.items()}
    out: dict[str, int] = {}
    for hit in found:
        where, rest = hit.split(": ", 1)
        n, needle = rest.split(" x ", 1)
        out[f"{what[needle]} in {where}"] = int(n)
    return out


async def figures(svc: RunningService, cohort_id: str) -> dict[str, Any]:
    """The programme's figures: overview and every breakdown."""
    out: dict[str, Any] = {"overview": (await overview(svc, cohort_id))["kpis"]}
    for by in ("cohort", "region", "department", "band"):
        r = await svc.client.get("/reports/breakdown", params={"cohort_id": cohort_id, "by": by}, headers=HR)
        assert r.status_code == 200, r.text
        out[by] = r.json()["rows"]
    return out


async def answers(
    svc: RunningService, model: type[EventPayload], key: str, value: str
) -> list[dict[str, Any]]:
    """The service's answers of type `model` in its outbox whose `key` is `value`, opened."""

    async def keys_for(subjects: set[str]) -> Keys:
        async with svc.runtime.pool.acquire() as kc:
            return await VAULT.keys_for_opening(kc, subjects)

    async with svc.runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT headers, payload FROM outbox WHERE event_type = $1 AND partition_key = $2 ORDER BY id",
            model.event_type,
            value,
        )
    out = []
    for r in rows:
        headers = r["headers"] if isinstance(r["headers"], dict) else json.loads(r["headers"])
        payload = await open_event_payload(parse_attributes(headers), bytes(r["payload"]), keys_for)
        out.append(payload.model_dump(mode="json"))
    return out


async def handled(svc: RunningService, event_id: str) -> bool:
    async with svc.runtime.pool.acquire() as conn:
        return bool(await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", event_id))


# -- tests ---------------------------------------------------------------------------------------------


async def test_sealed_v2_events_are_projected(reporting: RunningService, admin_dsn: str) -> None:
    """The whole scenario at v2 (sealed) gives the same figures as at v1, with names opened."""
    sc, events = await v2_scenario(admin_dsn)
    assert any(e.type.endswith(".v2") for e in events)
    assert all(f"Person L1 {sc.prefix}" not in e.value.decode() for e in events)  # sealed on the wire
    await publish(reporting, events)
    await converged(reporting, sc.cohort_id)
    tl = (await reporting.client.get(f"/reports/pairs/{sc.pairs['A']}/timeline", headers=HR)).json()
    assert tl["mentee_name"] == f"Person L1 {sc.prefix}"
    summaries = [e["summary"] for e in tl["events"]]
    assert "Goal set (mentee): Use AI tools weekly" in summaries  # a sealed title, opened
    # Minimised: the timeline's detail holds no names, e-mails, actors' ids or free text.
    details = json.dumps([e["detail"] for e in tl["events"]])
    for absent in ("display_name", "email", "employee_id", "Use AI tools", "changed focus", "invite"):
        assert absent not in details
    async with reporting.runtime.pool.acquire() as conn:
        emp = await conn.fetchval(
            "SELECT employee_id FROM rm_participants WHERE participant_id = $1", sc.pids["L1"]
        )
    assert emp == f"E{sc.prefix}L1"


async def test_erasure_anonymises_keeps_counts_and_survives_a_rebuild(
    reporting: RunningService, admin_dsn: str
) -> None:
    # History from before the upgrade (v1: names in clear on Kafka), the rest at v2.
    sc, events = await v2_scenario(admin_dsn, history=HISTORY)
    await publish(reporting, events)
    await converged(reporting, sc.cohort_id)
    who, pid = "L1", sc.pids["L1"]
    name, email, emp = f"Person L1 {sc.prefix}", "l1@bridge.example", f"E{sc.prefix}L1"
    mentor, _ = sc.sides[sc.pairs["A"]]
    rel = {"relationship_id": f"{sc.prefix}-rel-A", "pair_id": sc.pairs["A"], "cohort_id": sc.cohort_id}
    # Text other people wrote that names them (v1: in clear), in their pair's timeline and risks.
    extra = [
        s.GoalSetV1(
            **rel,
            goal_id=f"{sc.prefix}-g-x",
            owner_participant_id=mentor,
            owner_side="mentor",
            title=f"Shadow {name} at the board",
        ),
        s.PairAtRiskV1(
            **rel,
            reason="cadence_slipping",
            detail=f"{emp} missed two sessions",
            detected_at=scenario.day(22),
            mentor_id=mentor,
            mentee_id=pid,
        ),
    ]
    extra_events = [build_event(p, source=owner_source(p.topic), time=scenario.day(22)) for p in extra]
    # A profile update written before the erasure, read after it (consumer lag): sealed now.
    late = await sealed(
        admin_dsn,
        [(m.ParticipantUpdatedV2.model_validate(enrolment(sc, who)), scenario.day(23), f"{sc.prefix}-late")],
    )
    await publish(reporting, extra_events)
    await eventually(lambda: all_handled(reporting, [e.id for e in extra_events]))
    needles = {"name": name, "e-mail": email, "employee id": emp}
    before = await scan(reporting, needles)
    assert any(k.startswith("name in") for k in before) and any(
        k.startswith("employee id in") for k in before
    )
    counts = await figures(reporting, sc.cohort_id)

    await destroy_keys(admin_dsn, [pid])
    erasure = ErasureRequestedV1(
        erasure_id=f"{sc.prefix}-erasure",
        participant_ids=[pid],
        cohort_ids=[sc.cohort_id],
        requested_at=datetime.now(UTC),
    )
    await publish(reporting, [request(erasure)])
    done = await eventually(
        lambda: answers(reporting, ReportingErasureCompletedV1, "erasure_id", erasure.erasure_id),
        what="the erasure's answer",
    )
    assert len(done) == 1 and done[0]["service"] == "reporting"
    erased = done[0]["erased"]
    assert erased["participants"] == 1 and erased["pairs"] == 1  # L1 is pair A's mentee
    assert erased["timeline_entries"] >= 1 and erased["risk_signals"] == 1
    assert await scan(reporting, needles) == {}
    assert await figures(reporting, sc.cohort_id) == counts

    # Late sealed events open as placeholders; a late v1 event in clear is anonymised at once.
    v1_late = m.ParticipantUpdatedV1.model_validate(enrolment(sc, who))
    late.append(build_event(v1_late, source=owner_source(v1_late.topic), time=scenario.day(24)))
    await publish(reporting, late)
    await eventually(lambda: all_handled(reporting, [e.id for e in late]))
    assert await scan(reporting, needles) == {}
    async with reporting.runtime.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT employee_id, region FROM rm_participants WHERE participant_id = $1", pid
        )
        names = await conn.fetchrow(
            "SELECT mentor_name, mentee_name FROM rm_pairs WHERE pair_id = $1", sc.pairs["A"]
        )
    assert row["employee_id"] == ERASED_ID and row["region"] == "EMEA"
    assert names["mentee_name"] == ERASED_NAME and names["mentor_name"] == f"Person M1 {sc.prefix}"
    assert await figures(reporting, sc.cohort_id) == counts

    # A rebuild replays every topic from the start (v1 history in clear, sealed fields now erased).
    result = await rebuild(reporting.settings)
    assert result.erased.get("participants", 0) >= 1 and result.erased.get("pairs", 0) >= 1
    assert await scan(reporting, needles) == {}
    assert await figures(reporting, sc.cohort_id) == counts


async def all_handled(svc: RunningService, ids: list[str]) -> bool:
    return all([await handled(svc, i) for i in ids])


async def test_erasure_is_idempotent_and_answers_zeros_for_an_unknown_person(
    reporting: RunningService,
) -> None:
    erasure = ErasureRequestedV1(
        erasure_id=f"x{uuid.uuid4().hex[:10]}",
        participant_ids=["nobody-here"],
        requested_at=datetime.now(UTC),
    )
    evt = request(erasure)
    await publish(reporting, [evt, evt])  # redelivered
    done = await eventually(
        lambda: answers(reporting, ReportingErasureCompletedV1, "erasure_id", erasure.erasure_id),
        what="the erasure's answer",
    )
    await eventually(lambda: handled(reporting, evt.id))
    assert len(await answers(reporting, ReportingErasureCompletedV1, "erasure_id", erasure.erasure_id)) == 1
    assert set(done[0]["erased"].values()) == {0}


async def test_export_part_holds_the_persons_rows_and_a_summary(
    reporting: RunningService, admin_dsn: str
) -> None:
    sc, events = await v2_scenario(admin_dsn)
    await publish(reporting, events)
    await converged(reporting, sc.cohort_id)
    pid = sc.pids["M1"]
    ask = ExportRequestedV1(
        export_id=f"{sc.prefix}-export", participant_ids=[pid], requested_at=datetime.now(UTC)
    )
    await publish(reporting, [request(ask)])
    parts = await eventually(
        lambda: answers(reporting, ReportingExportPartV1, "export_id", ask.export_id), what="the export part"
    )
    assert [(p["chunk"], p["chunks"]) for p in parts] == [(1, 1)]
    data = parts[0]["data"]
    assert data["service"] == "reporting"
    assert [(e["participant_id"], e["employee_id"], e["region"], e["band"]) for e in data["enrolments"]] == [
        (pid, f"E{sc.prefix}M1", "EMEA", "early_career")
    ]
    assert [(p["pair_id"], p["role"], p["partner_name"], p["sessions_held"]) for p in data["pairs"]] == [
        (sc.pairs["A"], "mentor", f"Person L1 {sc.prefix}", 3)
    ]
    assert len(data["sessions"]) == 3 and all(x["held_at"].startswith("2026-") for x in data["sessions"])
    assert [f["by_side"] for f in data["feedback_given"]] == ["mentor"]  # theirs only, not the partner's
    assert [n["kind"] for n in data["notifications"]] == ["pair_formed"]
    assert not any(
        t["event_type"] == "sessions.feedback.submitted" and "mentee" in t["summary"]
        for t in data["timeline"]
    )
    assert "1 pair (mentor); 3 sessions held." in data["summary"]
    # Nothing identifying another person beyond the partner's display name.
    assert f"E{sc.prefix}L1" not in json.dumps(data)


async def test_retention_job_and_rebuild(admin_dsn: str, bootstrap_servers: str) -> None:
    """Timeline entries past `retention_timeline_days` go; a closed programme's people are anonymised
    after `retention_closed_programme_days`; the figures stay; a rebuild does not bring them back."""
    clock = FrozenClock(datetime(2027, 6, 1, tzinfo=UTC))  # 450 days later: before 2026-03-08
    async with running_service(
        lambda st: create_app(st, clock=clock),
        ReportingSettings,
        admin_dsn=admin_dsn,
        bootstrap_servers=bootstrap_servers,
        retention_timeline_days=450,
        retention_interval_seconds=0.2,
    ) as svc:
        sc = scenario.build(unique_names=True)
        await publish(svc, sc.events)
        counts = await converged(svc, sc.cohort_id)
        cutoff = datetime(2026, 3, 8, tzinfo=UTC)

        async def timeline() -> list[asyncpg.Record]:
            async with svc.runtime.pool.acquire() as conn:
                return list(
                    await conn.fetch("SELECT occurred_at FROM rm_timeline WHERE cohort_id = $1", sc.cohort_id)
                )

        async def aged() -> bool:
            rows = await timeline()
            return bool(rows) and all(r["occurred_at"] >= cutoff for r in rows)

        await eventually(aged, what="old timeline entries to go")
        assert (await overview(svc, sc.cohort_id))["kpis"] == counts

        clock.set(datetime(2027, 9, 15, tzinfo=UTC))  # programme end 2026-08-31 + 365 days passed
        needles = {"name": f"Person L1 {sc.prefix}", "employee id": f"E{sc.prefix}L1"}

        async def closed() -> bool:
            return not await timeline() and await scan(svc, needles) == {}

        await eventually(closed, what="the closed programme to be anonymised")
        assert (await overview(svc, sc.cohort_id))["kpis"] == counts
        result = await rebuild(svc.settings, clock=clock)
        assert result.retention["participants_anonymised"] >= 8  # other tests' cohorts share the topics
        async with svc.runtime.pool.acquire() as conn:
            emp = await conn.fetch(
                "SELECT employee_id FROM rm_participants WHERE cohort_id = $1", sc.cohort_id
            )
        assert [r["employee_id"] for r in emp] == [ERASED_ID] * 8
        assert not await timeline() and await scan(svc, needles) == {}
        assert (await overview(svc, sc.cohort_id))["kpis"] == counts
