"""The sessions service: relationships, agreements, sessions, goals, feedback and health."""

from __future__ import annotations

from fastapi import FastAPI

from bridge_sessions.api import relationships
from bridge_sessions.handlers.pairs import pair_consumer
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts import sessions as contracts
from bridge_shared.service import ServiceDefinition, build_app


def create_app(settings: SessionsSettings | None = None) -> FastAPI:
    return build_app(
        ServiceDefinition(
            settings=settings or SessionsSettings(),
            title="Bridge sessions",
            description="Mentoring relationships from formed pairs: agreements, sessions, goals, feedback.",
            migrations_package="bridge_sessions.db.migrations",
            routers=[relationships.router],
            consumers=[pair_consumer],
            publishes=(contracts.RelationshipStartedV1,),
        )
    )
