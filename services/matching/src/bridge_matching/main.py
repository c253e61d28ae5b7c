"""The matching service: cohorts, participants, HRIS imports, matching runs, proposals and pairs."""

from __future__ import annotations

from fastapi import FastAPI

from bridge_matching import jobs
from bridge_matching.api import (
    circles,
    cohorts,
    directory,
    hris_files,
    imports,
    matching_runs,
    pairs,
    participants,
    privacy,
    proposals,
    scim,
)
from bridge_matching.handlers.privacy import privacy_consumer
from bridge_matching.handlers.relationships import relationship_consumer
from bridge_matching.settings import MatchingSettings
from bridge_shared.contracts import circles as circle_contracts
from bridge_shared.contracts import matching as contracts
from bridge_shared.contracts import privacy as privacy_contracts
from bridge_shared.scheduling.clock import Clock, SystemClock
from bridge_shared.service import ServiceDefinition, build_app

PUBLISHES = (
    contracts.CohortCreatedV1,
    contracts.CohortPhaseChangedV1,
    contracts.CohortPolicyUpdatedV1,
    contracts.ParticipantEnrolledV2,
    contracts.ParticipantUpdatedV2,
    contracts.ParticipantWithdrawnV2,
    contracts.MatchProposedV2,
    contracts.MatchAcceptedV1,
    contracts.MatchDeclinedV2,
    contracts.MatchCancelledV1,
    contracts.MatchExpiredV1,
    contracts.PairFormedV2,
    contracts.PairDissolvedV2,
    contracts.PairFlaggedV1,
    contracts.PersonJoinedV1,
    contracts.PersonMovedV1,
    contracts.PersonLeftV1,
    circle_contracts.CircleProposedV1,
    circle_contracts.CircleMemberRespondedV1,
    circle_contracts.CircleRefilledV1,
    circle_contracts.CircleFormedV1,
    circle_contracts.CircleDissolvedV1,
    privacy_contracts.ErasureRequestedV1,
    privacy_contracts.ExportRequestedV1,
)


def create_app(settings: MatchingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or MatchingSettings()
    app: FastAPI = build_app(
        ServiceDefinition(
            settings=settings,
            title="Bridge matching",
            description="Cohorts, participant profiles, HRIS imports, optimal constrained mentor pairing, "
            "review and the proposal loop; mentoring circles.",
            migrations_package="bridge_matching.db.migrations",
            routers=[
                cohorts.router,
                participants.router,
                participants.me_router,
                imports.router,
                matching_runs.router,
                proposals.router,
                pairs.router,
                privacy.router,
                directory.router,
                hris_files.router,
                circles.router,
            ],
            # SCIM 2.0 for the identity provider: its own bearer token, not a person's JWT.
            public_routers=[scim.router],
            consumers=[privacy_consumer, relationship_consumer],
            publishes=PUBLISHES,
            background=[
                jobs.expiry_loop,
                jobs.circle_expiry_loop,
                jobs.job_worker,
                jobs.retention_loop,
                jobs.leavers_loop,
                jobs.warm_engine,
                jobs.hris_loop,
            ],
            on_startup=[jobs.create_job_runner],
            clock=clock or SystemClock(),
            # The HRIS CSV may be larger than a JSON body (http_max_body_bytes).
            body_limits={"/cohorts/{cohort_id}/imports": settings.import_max_bytes},
        )
    )
    return app
