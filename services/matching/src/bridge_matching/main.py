"""The matching service: cohorts, participants, matching runs and pairs."""

from __future__ import annotations

from fastapi import FastAPI

from bridge_matching.api import cohorts, matching_runs
from bridge_matching.settings import MatchingSettings
from bridge_shared.contracts import matching as contracts
from bridge_shared.service import ServiceDefinition, build_app

PUBLISHES = (
    contracts.CohortCreatedV1,
    contracts.CohortPhaseChangedV1,
    contracts.ParticipantEnrolledV1,
    contracts.ParticipantUpdatedV1,
    contracts.ParticipantWithdrawnV1,
    contracts.MatchProposedV1,
    contracts.MatchAcceptedV1,
    contracts.MatchDeclinedV1,
    contracts.MatchExpiredV1,
    contracts.PairFormedV1,
    contracts.PairDissolvedV1,
)


def create_app(settings: MatchingSettings | None = None) -> FastAPI:
    return build_app(
        ServiceDefinition(
            settings=settings or MatchingSettings(),
            title="Bridge matching",
            description="Cohorts, participant profiles and optimal constrained mentor pairing.",
            migrations_package="bridge_matching.db.migrations",
            routers=[cohorts.router, matching_runs.router],
            publishes=PUBLISHES,
        )
    )
