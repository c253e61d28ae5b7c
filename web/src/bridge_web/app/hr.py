"""HR's use cases: each calls the services' APIs with the signed-in HR person's token (the APIs decide
what a regional HR person sees; a 403 or 404 comes back as a BackendProblem the page shows)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bridge_web.app.backend import Backend, BackendProblem
from bridge_web.domain import hr

PAGE = 1000  # matching's largest participants page
MAX_PAGES = 100  # 100,000 people: far above a cohort's size


async def list_cohorts(b: Backend) -> list[dict[str, Any]]:
    cohorts: list[dict[str, Any]] = await b.get("matching", "/cohorts")
    return sorted(cohorts, key=lambda c: str(c.get("created_at", "")), reverse=True)


async def get_cohort(b: Backend, cohort_id: str) -> dict[str, Any]:
    cohort: dict[str, Any] = await b.get("matching", f"/cohorts/{cohort_id}")
    return cohort


async def create_cohort(b: Backend, body: dict[str, Any]) -> dict[str, Any]:
    cohort: dict[str, Any] = await b.post("matching", "/cohorts", json=body)
    return cohort


async def change_phase(b: Backend, cohort_id: str, to_phase: str) -> dict[str, Any]:
    cohort: dict[str, Any] = await b.post(
        "matching", f"/cohorts/{cohort_id}/phase", json={"to_phase": to_phase}
    )
    return cohort


async def participants(b: Backend, cohort_id: str) -> list[dict[str, Any]]:
    """Every participant of the cohort the caller may see (matching pages them)."""
    out: list[dict[str, Any]] = []
    for page in range(MAX_PAGES):
        rows: list[dict[str, Any]] = await b.get(
            "matching", f"/cohorts/{cohort_id}/participants", params={"limit": PAGE, "offset": page * PAGE}
        )
        out.extend(rows)
        if len(rows) < PAGE:
            break
    return out


async def runs(b: Backend, cohort_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await b.get("matching", f"/cohorts/{cohort_id}/matching-runs")
    return rows


@dataclass(frozen=True)
class CohortHome:
    cohort: dict[str, Any]
    participants: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    steps: list[hr.Step]

    @property
    def enrolled(self) -> int:
        return sum(1 for p in self.participants if p.get("status") == "enrolled")


async def cohort_home(b: Backend, cohort_id: str) -> CohortHome:
    cohort = await get_cohort(b, cohort_id)
    people, cohort_runs = await asyncio.gather(participants(b, cohort_id), runs(b, cohort_id))
    enrolled = sum(1 for p in people if p.get("status") == "enrolled")
    return CohortHome(cohort, people, cohort_runs, hr.steps(cohort, participants=enrolled, runs=cohort_runs))


# HRIS imports


async def start_import(b: Backend, cohort_id: str, csv: bytes) -> dict[str, Any]:
    job: dict[str, Any] = await b.post(
        "matching", f"/cohorts/{cohort_id}/imports", content=csv, content_type="text/csv"
    )
    return job


async def get_import(b: Backend, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = await b.get("matching", f"/imports/{job_id}")
    return job


# Matching runs and the draft review


async def start_run(b: Backend, cohort_id: str) -> dict[str, Any]:
    run: dict[str, Any] = await b.post("matching", f"/cohorts/{cohort_id}/matching-runs")
    return run


async def get_run(b: Backend, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = await b.get("matching", f"/matching-runs/{run_id}")
    return run


async def run_of_cohort(b: Backend, cohort_id: str, run_id: str) -> dict[str, Any]:
    """The run, refused as not found when it belongs to another cohort than the page's."""
    run = await get_run(b, run_id)
    if str(run.get("cohort_id")) != cohort_id:
        raise BackendProblem(404, "Not found", "This matching run belongs to another cohort.", [])
    return run


async def set_pin(b: Backend, run_id: str, pair_id: str, pinned: bool) -> None:
    path = f"/matching-runs/{run_id}/pairs/{pair_id}/pin"
    if pinned:
        await b.post("matching", path)
    else:
        await b.delete("matching", path)


async def remove_pair(b: Backend, run_id: str, pair_id: str) -> None:
    await b.delete("matching", f"/matching-runs/{run_id}/pairs/{pair_id}")


async def swap(b: Backend, run_id: str, pair_a: str, pair_b: str) -> None:
    await b.post("matching", f"/matching-runs/{run_id}/swap", json={"pair_a": pair_a, "pair_b": pair_b})


async def resolve(b: Backend, run_id: str) -> None:
    await b.post("matching", f"/matching-runs/{run_id}/resolve")


async def publish(b: Backend, run_id: str) -> dict[str, Any]:
    done: dict[str, Any] = await b.post("matching", f"/matching-runs/{run_id}/publish")
    return done


# Following proposals and pairs


async def proposals(b: Backend, cohort_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await b.get("matching", f"/cohorts/{cohort_id}/proposals")
    return sorted(rows, key=lambda p: str(p.get("created_at", "")), reverse=True)


async def pairs(b: Backend, cohort_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await b.get(
        "matching", f"/cohorts/{cohort_id}/pairs", params={"status": "all"}
    )
    return rows


# Reporting


@dataclass(frozen=True)
class Dashboard:
    overview: dict[str, Any]
    regions: list[dict[str, Any]]
    weeks: list[dict[str, Any]]
    at_risk: list[dict[str, Any]]
    flagged: list[dict[str, Any]]


async def dashboard(b: Backend, cohort_id: str) -> Dashboard:
    scope = {"cohort_id": cohort_id}
    overview, by_region, weekly, at_risk, flagged = await asyncio.gather(
        b.get("reporting", "/reports/overview", params=scope),
        b.get("reporting", "/reports/breakdown", params={**scope, "by": "region"}),
        b.get("reporting", "/reports/weekly", params=scope),
        b.get("reporting", "/reports/at-risk-pairs", params=scope),
        b.get("reporting", "/reports/flagged-pairs", params=scope),
    )
    return Dashboard(overview, by_region["rows"], weekly["weeks"], at_risk, flagged)


EXPORT_DATASETS = ("pairs", "participants", "sessions", "circles")
EXPORT_FORMATS = ("csv", "xlsx")


# Notifications


async def deliveries(
    b: Backend, cohort_id: str | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": limit}
    if cohort_id:
        params["cohort_id"] = cohort_id
    if status:
        params["status"] = status
    rows: list[dict[str, Any]] = await b.get("notifications", "/deliveries", params=params)
    return rows


async def notification_defaults(b: Backend, cohort_id: str) -> dict[str, Any]:
    row: dict[str, Any] = await b.get("notifications", f"/cohorts/{cohort_id}/notification-defaults")
    return row


async def save_notification_defaults(b: Backend, cohort_id: str, body: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = await b.put(
        "notifications", f"/cohorts/{cohort_id}/notification-defaults", json=body
    )
    return row


# Circles


async def circle(b: Backend, circle_id: str) -> dict[str, Any]:
    row: dict[str, Any] = await b.get("matching", f"/circles/{circle_id}")
    return row


async def circles(b: Backend, cohort_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await b.get("matching", f"/cohorts/{cohort_id}/circles")
    return rows


async def circle_runs(b: Backend, cohort_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await b.get("matching", f"/cohorts/{cohort_id}/circle-runs")
    return rows


async def start_circle_run(b: Backend, cohort_id: str) -> dict[str, Any]:
    run: dict[str, Any] = await b.post("matching", f"/cohorts/{cohort_id}/circle-runs")
    return run


async def circle_run(b: Backend, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = await b.get("matching", f"/circle-runs/{run_id}")
    return run


async def circle_run_of_cohort(b: Backend, cohort_id: str, run_id: str) -> dict[str, Any]:
    """The circle run, refused as not found when it belongs to another cohort than the page's."""
    run = await circle_run(b, run_id)
    if str(run.get("cohort_id")) != cohort_id:
        raise BackendProblem(404, "Not found", "This circle run belongs to another cohort.", [])
    return run


async def move_circle_member(
    b: Backend, run_id: str, participant_id: str, to_circle_id: str, *, force: bool
) -> dict[str, Any]:
    """A member of a draft circle (or someone left out) into another draft circle."""
    run: dict[str, Any] = await b.post(
        "matching",
        f"/circle-runs/{run_id}/move",
        json={"participant_id": participant_id, "to_circle_id": to_circle_id, "force": force},
    )
    return run


async def remove_circle_member(
    b: Backend, run_id: str, circle_id: str, participant_id: str, *, force: bool
) -> dict[str, Any]:
    run: dict[str, Any] = await b.delete(
        "matching",
        f"/circle-runs/{run_id}/circles/{circle_id}/members/{participant_id}",
        params={"force": "true"} if force else None,
    )
    return run


async def set_circle_pin(b: Backend, run_id: str, circle_id: str, pinned: bool) -> dict[str, Any]:
    path = f"/circle-runs/{run_id}/circles/{circle_id}/pin"
    run: dict[str, Any] = await (b.post("matching", path) if pinned else b.delete("matching", path))
    return run


async def resolve_circles(b: Backend, run_id: str) -> None:
    await b.post("matching", f"/circle-runs/{run_id}/resolve")


async def publish_circles(b: Backend, run_id: str) -> dict[str, Any]:
    done: dict[str, Any] = await b.post("matching", f"/circle-runs/{run_id}/publish")
    return done
