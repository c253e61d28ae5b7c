"""The notifications service: email, chat and in-app notifications, delivered once and on time."""

from __future__ import annotations

from fastapi import FastAPI

from bridge_notifications.api import deliveries, inbox, preferences, unsubscribe
from bridge_notifications.handlers.events import routing_consumer
from bridge_notifications.handlers.participants import participant_consumer
from bridge_notifications.handlers.privacy import privacy_consumer
from bridge_notifications.jobs.digests import run_jobs
from bridge_notifications.jobs.dispatcher import run_dispatcher
from bridge_notifications.jobs.retention import run_retention
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts import notifications as contracts
from bridge_shared.contracts.privacy import NotificationsErasureCompletedV1, NotificationsExportPartV1
from bridge_shared.scheduling.clock import Clock, SystemClock
from bridge_shared.service import BackgroundTask, ServiceDefinition, build_app


def create_app(
    settings: NotificationsSettings | None = None,
    *,
    clock: Clock | None = None,
    dispatcher: bool = True,
    consumers: bool = True,
    jobs: bool = True,
) -> FastAPI:
    """`clock` replaces the system clock (tests); `dispatcher`/`jobs` can be switched off to drive
    them by hand; `consumers=False` makes a send-only worker (no event intake)."""
    background: list[BackgroundTask[NotificationsSettings]] = []
    if dispatcher:
        background.append(run_dispatcher)
    if jobs:
        background.extend((run_jobs, run_retention))
    app: FastAPI = build_app(
        ServiceDefinition(
            settings=settings or NotificationsSettings(),
            title="Bridge notifications",
            description=(
                "Email, chat webhooks and an in-app inbox; localised, time-zone aware, delivered once."
            ),
            migrations_package="bridge_notifications.db.migrations",
            routers=[deliveries.router, inbox.router, preferences.router],
            public_routers=[unsubscribe.router],  # authorised by the signed token in its path
            consumers=[participant_consumer, routing_consumer, privacy_consumer] if consumers else [],
            publishes=(
                contracts.NotificationSentV1,
                contracts.NotificationFailedV1,
                NotificationsErasureCompletedV1,
                NotificationsExportPartV1,
            ),
            background=background,
            clock=clock or SystemClock(),
        )
    )
    return app
