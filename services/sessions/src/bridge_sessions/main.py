"""The sessions service: relationships, agreements, sessions, goals, feedback and health; and
mentoring circles (agreement, group sessions with activities, the learning record, circle health)."""

from __future__ import annotations

from fastapi import FastAPI

from bridge_sessions.api import (
    activities,
    agreements,
    circle_agreements,
    circle_sessions,
    circles,
    feedback,
    goals,
    relationships,
    sessions,
)
from bridge_sessions.handlers.circles import circle_consumer
from bridge_sessions.handlers.cohorts import cohort_consumer
from bridge_sessions.handlers.pairs import pair_consumer
from bridge_sessions.handlers.participants import participant_consumer
from bridge_sessions.handlers.privacy import privacy_consumer
from bridge_sessions.jobs.circle_health import circle_health_scheduler
from bridge_sessions.jobs.health import health_scheduler
from bridge_sessions.jobs.retention import retention_scheduler
from bridge_sessions.settings import SessionsSettings
from bridge_shared.contracts import circles as circle_contracts
from bridge_shared.contracts import sessions as contracts
from bridge_shared.contracts.privacy import SessionsErasureCompletedV1, SessionsExportPartV1
from bridge_shared.events.registry import EventPayload
from bridge_shared.scheduling.clock import Clock, SystemClock
from bridge_shared.service import ServiceDefinition, build_app

PUBLISHES: tuple[type[EventPayload], ...] = (
    contracts.RelationshipStartedV1,
    contracts.AgreementDraftedV1,
    contracts.AgreementConfirmedV1,
    contracts.AgreementAmendedV1,
    contracts.SessionScheduledV2,
    contracts.SessionRescheduledV2,
    contracts.SessionCancelledV2,
    contracts.SessionInviteUpdatedV1,
    contracts.SessionHeldV2,
    contracts.GoalSetV2,
    contracts.GoalProgressedV1,
    contracts.GoalAchievedV1,
    contracts.GoalAbandonedV2,
    contracts.FeedbackSubmittedV1,
    contracts.PairAtRiskV1,
    contracts.PairRiskResolvedV1,
    contracts.RelationshipEndingSoonV1,
    contracts.SurveyOpenedV1,
    contracts.PairClosedV2,
    circle_contracts.CircleStartedV1,
    circle_contracts.CircleAgreementDraftedV1,
    circle_contracts.CircleAgreementConfirmedV1,
    circle_contracts.CircleSessionScheduledV1,
    circle_contracts.CircleSessionRescheduledV1,
    circle_contracts.CircleSessionCancelledV1,
    circle_contracts.CircleSessionHeldV1,
    circle_contracts.CircleAtRiskV1,
    circle_contracts.CircleRiskResolvedV1,
    circle_contracts.CircleClosedV1,
    SessionsErasureCompletedV1,
    SessionsExportPartV1,
)


def create_app(settings: SessionsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """`clock` is the service's notion of now (API and scheduler); tests pass a FrozenClock."""
    app: FastAPI = build_app(
        ServiceDefinition(
            settings=settings or SessionsSettings(),
            title="Bridge sessions",
            description="Mentoring relationships from formed pairs: agreements, sessions, goals, feedback, "
            "health and closure; mentoring circles from formed circles: the circle agreement, group "
            "sessions with facilitated activities, who taught what to whom, circle health and closure.",
            migrations_package="bridge_sessions.db.migrations",
            routers=[
                relationships.router,
                agreements.router,
                sessions.router,
                goals.router,
                feedback.router,
                circles.router,
                circle_agreements.router,
                circle_sessions.router,
                activities.router,
            ],
            consumers=[
                pair_consumer,
                cohort_consumer,
                privacy_consumer,
                participant_consumer,
                circle_consumer,
            ],
            publishes=PUBLISHES,
            background=[health_scheduler, circle_health_scheduler, retention_scheduler],
            clock=clock or SystemClock(),
        )
    )
    return app
