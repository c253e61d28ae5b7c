"""The reporting service: programme analytics read models built only from events."""

from __future__ import annotations

from fastapi import FastAPI

from bridge_reporting.api import cohorts, dashboard, exports, reports
from bridge_reporting.handlers.privacy import privacy_consumer
from bridge_reporting.handlers.projections import projection_consumer
from bridge_reporting.jobs.retention import run_retention
from bridge_reporting.settings import ReportingSettings
from bridge_shared.contracts.privacy import ReportingErasureCompletedV1, ReportingExportPartV1
from bridge_shared.scheduling.clock import Clock, SystemClock
from bridge_shared.service import ServiceDefinition, build_app

PUBLISHES = (ReportingErasureCompletedV1, ReportingExportPartV1)


def create_app(
    settings: ReportingSettings | None = None, *, clock: Clock | None = None, jobs: bool = True
) -> FastAPI:
    """`clock` replaces the system clock (tests); `jobs=False` leaves the retention job out (tests
    drive it by hand)."""
    app: FastAPI = build_app(
        ServiceDefinition(
            settings=settings or ReportingSettings(),
            title="Bridge reporting",
            description="Programme health by cohort, region, department and seniority band, from events.",
            migrations_package="bridge_reporting.db.migrations",
            routers=[cohorts.router, reports.router, exports.router],
            public_routers=[dashboard.router],
            consumers=[projection_consumer, privacy_consumer],
            publishes=PUBLISHES,
            background=[run_retention] if jobs else [],
            clock=clock or SystemClock(),
        )
    )
    return app
