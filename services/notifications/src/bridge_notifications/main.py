"""The notifications service: email, chat and in-app notifications, delivered once and on time."""

from __future__ import annotations

from fastapi import FastAPI

from bridge_notifications.api import deliveries
from bridge_notifications.domain.dispatcher import run_dispatcher
from bridge_notifications.handlers.pairs import pair_consumer
from bridge_notifications.handlers.participants import participant_consumer
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.contracts import notifications as contracts
from bridge_shared.service import ServiceDefinition, build_app


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    return build_app(
        ServiceDefinition(
            settings=settings or NotificationsSettings(),
            title="Bridge notifications",
            description="Email, chat webhooks and an in-app inbox; localised, time-zone aware, delivered once.",
            migrations_package="bridge_notifications.db.migrations",
            routers=[deliveries.router],
            consumers=[participant_consumer, pair_consumer],
            publishes=(contracts.NotificationSentV1, contracts.NotificationFailedV1),
            background=[run_dispatcher],
        )
    )
