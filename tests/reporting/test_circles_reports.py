"""Mentoring circles in reporting (issue 15), on a real service, PostgreSQL and broker: circle events
sealed as matching's and sessions' outboxes write them -> read models -> figures in the overview,
the cohort summary and every breakdown (circles active, attendance rate, the shares of learning that
flow junior -> senior and senior -> junior, the exchange index), the regional scope, the circles
export (CSV and XLSX), the dashboard's panel, and the same figures after a rebuild by replay."""

from __future__ import annotations

import asyncio
import csv
import io
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import openpyxl
import pytest
import uvicorn

from bridge_reporting.app.rebuild import rebuild
from bridge_shared.contracts import circles as c
from bridge_shared.contracts import matching as m
from bridge_shared.events.envelope import OutgoingEvent, build_event
from bridge_shared.events.registry import EventPayload
from bridge_shared.messaging.sources import owner_source
from bridge_shared.privacy.sealing import Keys, has_personal_fields, subjects_to_seal
from bridge_shared.privacy.vault import VAULT
from tests.reporting.cdp import Browser, find_chromium
from tests.reporting.conftest import HR, eventually, overview, publish
from tests.service_harness import RunningService, auth, token

pytestmark = pytest.mark.integration

BASE = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
async def served(reporting: RunningService) -> AsyncIterator[str]:
    """The already-started reporting app, also on a real TCP port for the browser."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        reporting.app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


def day(n: float) -> datetime:
    return BASE + timedelta(days=n)


# key: (region, department, seniority level, generation)
PEOPLE = {
    "J1": ("EMEA", "Engineering", 2, "junior"),
    "J2": ("APAC", "Sales", 3, "junior"),
    "S1": ("EMEA", "Finance", 11, "senior"),
    "S2": ("APAC", "Engineering", 9, "senior"),
    "O1": ("EMEA", "Engineering", 6, "other"),
    "J3": ("EMEA", "Sales", 1, "junior"),
    "S3": ("EMEA", "Finance", 10, "senior"),
    "J4": ("EMEA", "Engineering", 4, "junior"),
}
CIRCLES = {"K1": ("J1", "J2", "S1", "S2", "O1"), "K2": ("J3", "S3", "J4"), "K3": ("J1", "S3")}
FACILITATORS = {"K1": "S1", "K2": "S3", "K3": "S3"}


@dataclass
class CircleScenario:
    prefix: str
    cohort_id: str
    pids: dict[str, str]
    circles: dict[str, str]
    items: list[tuple[EventPayload, datetime, str]] = field(default_factory=list)

    def add(self, payload: EventPayload, at: datetime) -> None:
        self.items.append((payload, at, f"{self.prefix}-{len(self.items):03d}"))


def build() -> CircleScenario:
    """Two circles formed (K1 of five in two regions, K2 of three, closed at the end) and one only
    proposed (K3); three group sessions held with attendance and learning flows, one cancelled."""
    prefix = f"k{uuid.uuid4().hex[:10]}"
    sc = CircleScenario(
        prefix,
        f"{prefix}-cohort",
        {k: f"{prefix}-{k}" for k in PEOPLE},
        {k: f"{prefix}-circle-{k}" for k in CIRCLES},
    )
    cohort = sc.cohort_id
    sc.add(
        m.CohortCreatedV1(
            cohort_id=cohort,
            name=f"Circles {prefix}",
            regions=["EMEA", "APAC"],
            hr_contact_email="hr@bridge.example",
            programme_start=date(2026, 4, 6),
            programme_end=date(2026, 9, 30),
            formats=["circles"],
        ),
        day(-10),
    )
    members: dict[str, c.CircleMember] = {}
    for i, (k, (region, dept, level, generation)) in enumerate(PEOPLE.items()):
        members[k] = c.CircleMember(
            participant_id=sc.pids[k],
            employee_id=f"E{prefix}{k}",
            display_name=f"Member {k} {prefix}",
            email=f"{k.lower()}.{prefix}@bridge.example",
            region=region,
            department=dept,
            seniority_level=level,
            generation=generation,
            timezone="Europe/London" if region == "EMEA" else "Asia/Singapore",
        )
        sc.add(
            m.ParticipantEnrolledV1(
                participant_id=sc.pids[k],
                cohort_id=cohort,
                role="mentor" if generation == "junior" else "mentee",
                profile=m.ParticipantRef(
                    **members[k].model_dump(exclude={"generation"}),
                ),
            ),
            day(-9 + i * 0.01),
        )
    expl = c.CircleExplanation(score=0.7, breakdown={"mix": 0.4}, summary="A good mix")
    for key, who in CIRCLES.items():
        ids = [sc.pids[w] for w in who]
        common = {
            "circle_id": sc.circles[key],
            "cohort_id": cohort,
            "member_ids": ids,
            "members": [members[w] for w in who],
            "facilitator_id": sc.pids[FACILITATORS[key]],
            "language": "en",
            "explanation": expl,
        }
        sc.add(c.CircleProposedV1(**common, expires_at=day(-1)), day(-3))
        if key == "K3":
            continue  # never formed: counts nowhere but in the export
        sc.add(c.CircleFormedV1(**common, formed_at=day(-1), programme_end=date(2026, 9, 30)), day(-1))
        sc.add(
            c.CircleStartedV1(
                circle_id=sc.circles[key],
                cohort_id=cohort,
                member_ids=ids,
                facilitator_id=sc.pids[FACILITATORS[key]],
                started_at=day(-1 + 1 / 1440),
            ),
            day(-1 + 1 / 1440),
        )

    def session(key: str, n: int) -> dict[str, Any]:
        return {
            "circle_id": sc.circles[key],
            "cohort_id": cohort,
            "session_id": f"{prefix}-{key}-s{n}",
            "member_ids": [sc.pids[w] for w in CIRCLES[key]],
            "facilitator_id": sc.pids[FACILITATORS[key]],
        }

    def invite(uid: str, method: str = "REQUEST") -> c.CircleInvite:
        return c.CircleInvite(uid=uid, sequence=0, method=method, ics="BEGIN:VCALENDAR\nEND:VCALENDAR")

    def flow(a: str, b: str) -> c.LearningFlow:
        return c.LearningFlow(
            from_id=sc.pids[a],
            to_id=sc.pids[b],
            from_generation=PEOPLE[a][3],
            to_generation=PEOPLE[b][3],
            topic=f"topic {a}->{b}",
        )

    def held(key: str, n: int, at: float, attended: tuple[str, ...], flows: list[c.LearningFlow]) -> None:
        s = session(key, n)
        sc.add(
            c.CircleSessionScheduledV1(
                **s,
                starts_at=day(at),
                duration_minutes=60,
                activity_id="promote",
                invite=invite(s["session_id"]),
            ),
            day(at - 2),
        )
        sc.add(
            c.CircleSessionHeldV1(
                **s,
                starts_at=day(at),
                attended_ids=[sc.pids[w] for w in attended],
                activity_id="promote",
                ideas=[c.CircleIdea(participant_id=sc.pids[w], text=f"idea of {w}") for w in attended],
                learning=flows,
                exchange_index=0.8,
                held_at=day(at),
            ),
            day(at),
        )

    # K1: 4 of 5, then 3 of 5; flows 2 junior->senior, 2 senior->junior, 1 other; then 1 j->s.
    held(
        "K1",
        1,
        1,
        ("J1", "J2", "S1", "S2"),
        [flow("J1", "S1"), flow("J2", "S2"), flow("S1", "J1"), flow("S2", "J2"), flow("J1", "J2")],
    )
    held("K1", 2, 8, ("J1", "S1", "S2"), [flow("J1", "S2")])
    s = session("K1", 3)
    sc.add(
        c.CircleSessionScheduledV1(**s, starts_at=day(15), duration_minutes=60, invite=invite("x")), day(9)
    )
    sc.add(c.CircleSessionCancelledV1(**s, starts_at=day(15), invite=invite("x", "CANCEL")), day(10))
    # K2: everyone came; one flow each way; then it closed.
    held("K2", 1, 2, ("J3", "S3", "J4"), [flow("S3", "J3"), flow("J4", "S3")])
    sc.add(
        c.CircleClosedV1(
            circle_id=sc.circles["K2"],
            cohort_id=cohort,
            member_ids=[sc.pids[w] for w in CIRCLES["K2"]],
            outcome="completed",
            sessions_held=1,
            closed_at=day(20),
        ),
        day(20),
    )
    return sc


async def sealed(dsn: str, sc: CircleScenario) -> list[OutgoingEvent]:
    """As the producers' outboxes write them: personal fields sealed under the people's keys."""
    conn = await asyncpg.connect(dsn)
    try:
        out = []
        for payload, at, eid in sc.items:
            keys: Keys | None = None
            if has_personal_fields(type(payload)):
                subjects = subjects_to_seal(type(payload), payload.model_dump(mode="json"))
                keys = await VAULT.keys_for_sealing(conn, subjects)
            out.append(
                build_event(payload, source=owner_source(payload.topic), time=at, event_id=eid, keys=keys)
            )
        return out
    finally:
        await conn.close()


EXPECTED = {
    "circles_formed": 2,
    "circles_active": 1,
    "circles_closed": 1,
    "circle_memberships": 8,
    "circle_sessions_held": 3,
    "circle_attendance_expected": 13,
    "circle_attended": 10,
    "circle_attendance_rate": 0.7692,
    "learning_flows": 8,
    "learning_junior_to_senior": 4,
    "learning_senior_to_junior": 3,
    "learning_other": 1,
    "learning_share_junior_to_senior": 0.5,
    "learning_share_senior_to_junior": 0.375,
    "learning_share_other": 0.125,
    "cross_generation_exchange_index": 0.8571,
}
CIRCLE_FIELDS = tuple(EXPECTED)


def circle_figures(kpis: dict[str, Any]) -> dict[str, Any]:
    return {f: kpis[f] for f in CIRCLE_FIELDS}


async def published(svc: RunningService, dsn: str) -> CircleScenario:
    sc = build()
    await publish(svc, await sealed(dsn, sc))

    async def done() -> dict[str, Any] | None:
        k = circle_figures((await overview(svc, sc.cohort_id))["kpis"])
        return k if k == EXPECTED else None

    try:
        await eventually(done, what="the circle figures")
    except BaseException:
        got = circle_figures((await overview(svc, sc.cohort_id))["kpis"])
        pytest.fail(
            f"circle figures differ (got, want): { {f: (got[f], v) for f, v in EXPECTED.items() if got[f] != v} }"
        )
    return sc


async def breakdown(
    svc: RunningService, sc: CircleScenario, by: str, headers: dict[str, str] = HR
) -> dict[str, Any]:
    r = await svc.client.get(
        "/reports/breakdown", params={"cohort_id": sc.cohort_id, "by": by}, headers=headers
    )
    assert r.status_code == 200, r.text
    return {row["group"]: circle_figures(row) for row in r.json()["rows"]}


async def test_circle_figures_overall_by_group_and_in_scope(
    reporting: RunningService, admin_dsn: str
) -> None:
    sc = await published(reporting, admin_dsn)
    # The cohort summary shows the same figures (same code as the overview).
    r = await reporting.client.get(f"/cohorts/{sc.cohort_id}/summary", headers=HR)
    assert r.status_code == 200 and circle_figures(r.json()["kpis"]) == EXPECTED
    # Nothing sealed reached the read models: no name, e-mail, employee id, idea or topic.
    async with reporting.runtime.pool.acquire() as conn:
        for table in (
            "rm_circles",
            "rm_circle_members",
            "rm_circle_sessions",
            "rm_circle_attendance",
            "rm_circle_learning",
        ):
            dump = repr(await conn.fetch(f"SELECT * FROM {table} WHERE cohort_id = $1", sc.cohort_id))
            assert sc.cohort_id in dump
            for needle in ("Member J1", "@bridge.example", f"E{sc.prefix}", "idea of", "topic "):
                assert needle not in dump, (table, needle)

    by_region = await breakdown(reporting, sc, "region")
    # A circle counts in each region it has members in; attendance by the member's region; a flow
    # in the region of the member who learned.
    assert {
        g: (f["circles_formed"], f["circles_active"], f["circle_memberships"]) for g, f in by_region.items()
    } == {
        "EMEA": (2, 1, 6),
        "APAC": (1, 1, 2),
    }
    assert by_region["EMEA"]["circle_attendance_expected"] == 9 and by_region["EMEA"]["circle_attended"] == 7
    assert by_region["APAC"]["circle_attendance_rate"] == 0.75
    assert (
        by_region["EMEA"]["learning_junior_to_senior"],
        by_region["EMEA"]["learning_senior_to_junior"],
    ) == (2, 2)
    assert by_region["EMEA"]["cross_generation_exchange_index"] == 1.0
    assert (
        by_region["APAC"]["learning_flows"],
        by_region["APAC"]["learning_share_junior_to_senior"],
        by_region["APAC"]["learning_share_other"],
    ) == (4, 0.5, 0.25)

    by_band = await breakdown(reporting, sc, "band")
    # What each band learned: executives and seniors from juniors, early-career people from seniors.
    assert {
        g: (f["learning_junior_to_senior"], f["learning_senior_to_junior"], f["learning_other"])
        for g, f in by_band.items()
    } == {"executive": (2, 0, 0), "senior": (2, 0, 0), "early_career": (0, 3, 1), "mid_career": (0, 0, 0)}
    assert by_band["mid_career"]["circle_memberships"] == 2  # O1 and J4 (level 4 is mid-career)

    by_department = await breakdown(reporting, sc, "department")
    assert {g: f["circle_memberships"] for g, f in by_department.items()} == {
        "Engineering": 4,
        "Finance": 2,
        "Sales": 2,
    }
    by_cohort = await breakdown(reporting, sc, "cohort")
    assert by_cohort == {sc.cohort_id: EXPECTED}

    # Regional HR (APAC) sees only their members' part: K1 through J2 and S2.
    apac = auth("hr_regional", regions=("APAC",))
    k = circle_figures((await overview(reporting, sc.cohort_id, headers=apac))["kpis"])
    assert (
        k["circles_formed"],
        k["circle_memberships"],
        k["circle_attendance_expected"],
        k["learning_flows"],
    ) == (
        1,
        2,
        4,
        4,
    )
    # A date range: sessions and flows held in it, circles formed in it.
    week2 = await overview(reporting, sc.cohort_id, **{"from": "2026-04-13", "to": "2026-04-19"})
    assert (
        week2["kpis"]["circle_sessions_held"],
        week2["kpis"]["learning_flows"],
        week2["kpis"]["circles_formed"],
    ) == (
        1,
        1,
        0,
    )


async def test_circles_export_csv_and_xlsx(reporting: RunningService, admin_dsn: str) -> None:
    sc = await published(reporting, admin_dsn)
    r = await reporting.client.get(
        "/reports/exports/circles.csv", params={"cohort_id": sc.cohort_id}, headers=HR
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = {row["circle_id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert set(rows) == set(sc.circles.values())
    k1, k2, k3 = (rows[sc.circles[k]] for k in ("K1", "K2", "K3"))
    assert (k1["status"], k1["members"], k1["juniors"], k1["seniors"], k1["regions"]) == (
        "active",
        "5",
        "2",
        "2",
        "APAC;EMEA",
    )
    assert (k1["sessions_held"], k1["sessions_cancelled"], k1["attendance_rate"]) == ("2", "1", "0.7000")
    assert (k1["learning_junior_to_senior"], k1["learning_senior_to_junior"], k1["learning_other"]) == (
        "3",
        "2",
        "1",
    )
    assert k1["facilitator_id"] == sc.pids["S1"] and k1["ideas"] == "7"
    assert (k2["status"], k2["outcome"], k2["attendance_rate"], k2["cross_generation_exchange_index"]) == (
        "closed",
        "completed",
        "1.0000",
        "1.0000",
    )
    assert (k3["status"], k3["sessions_held"], k3["members"]) == ("proposed", "0", "")
    assert "Member" not in r.text and "@" not in r.text  # ids only

    # Regional HR: only circles with a member in their regions.
    apac = auth("hr_regional", regions=("APAC",))
    r = await reporting.client.get(
        "/reports/exports/circles.csv", params={"cohort_id": sc.cohort_id}, headers=apac
    )
    assert [row["circle_id"] for row in csv.DictReader(io.StringIO(r.text))] == [sc.circles["K1"]]

    r = await reporting.client.get(
        "/reports/exports/circles.xlsx", params={"cohort_id": sc.cohort_id}, headers=HR
    )
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    formed = [row[header.index("formed_at")] for row in values[1:]]
    assert sum(isinstance(v, datetime) for v in formed) == 2  # real dates (K3 was never formed)


async def test_the_dashboard_shows_the_circles_panel(
    reporting: RunningService, admin_dsn: str, served: str
) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.fail("Chromium is not installed: the dashboard test needs the Debian 'chromium' package")
    sc = await published(reporting, admin_dsn)
    async with Browser(chromium) as browser:
        await browser.goto(f"{served}/dashboard?cohort_id={sc.cohort_id}&token={token('hr_admin')}")
        await browser.wait_for(
            "window.bridgeDashboard && (window.bridgeDashboard.ready || window.bridgeDashboard.error)"
        )
        assert await browser.evaluate("window.bridgeDashboard.error") is None
        tiles = await browser.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#circle-kpis [data-kpi]')].map("
            "(e) => [e.dataset.kpi, e.querySelector('.value').textContent]))"
        )
        assert tiles == {
            "circles_active": "1",
            "circle_memberships": "8",
            "circle_sessions_held": "3",
            "circle_attendance_rate": "76.9%",
            "learning_share_junior_to_senior": "50.0%",
            "learning_share_senior_to_junior": "37.5%",
            "cross_generation_exchange_index": "0.86",
        }
        table = await browser.evaluate(
            "[...document.querySelectorAll('#circles tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent))"
        )
        assert table == [
            ["APAC", "1", "2", "2", "75.0%", "50.0%", "25.0%", "25.0%", "0.67"],
            ["EMEA", "1", "6", "3", "77.8%", "50.0%", "50.0%", "0.0%", "1"],
        ]


async def test_a_rebuild_gives_the_same_circle_read_models_and_figures(
    reporting: RunningService, admin_dsn: str
) -> None:
    sc = await published(reporting, admin_dsn)
    tables = (
        "rm_circles",
        "rm_circle_members",
        "rm_circle_sessions",
        "rm_circle_attendance",
        "rm_circle_learning",
    )

    async def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        async with reporting.runtime.pool.acquire() as conn:
            return {
                t: [
                    tuple(r.values())
                    for r in await conn.fetch(
                        f"SELECT * FROM {t} WHERE cohort_id = $1 ORDER BY 1, 2", sc.cohort_id
                    )
                ]
                for t in tables
            }

    before = await snapshot()
    figures = {by: await breakdown(reporting, sc, by) for by in ("region", "department", "band", "cohort")}
    assert sum(len(rows) for rows in before.values()) == 3 + 8 + 4 + 13 + 8
    result = await rebuild(reporting.settings)
    assert result.events > 0
    assert await snapshot() == before
    assert circle_figures((await overview(reporting, sc.cohort_id))["kpis"]) == EXPECTED
    for by, want in figures.items():
        assert await breakdown(reporting, sc, by) == want, by
