"""The reporting service: programme analytics read models built only from events."""

from __future__ import annotations

from fastapi import FastAPI

from bridge_reporting.api import cohorts, dashboard, exports, reports
from bridge_reporting.handlers.projections import projection_consumer
from bridge_reporting.settings import ReportingSettings
from bridge_shared.service import ServiceDefinition, build_app


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    app: FastAPI = build_app(
        ServiceDefinition(
            settings=settings or ReportingSettings(),
            title="Bridge reporting",
            description="Programme health by cohort, region, department and seniority band, from events.",
            migrations_package="bridge_reporting.db.migrations",
            routers=[cohorts.router, reports.router, exports.router],
            public_routers=[dashboard.router],
            consumers=[projection_consumer],
        )
    )
    return app
