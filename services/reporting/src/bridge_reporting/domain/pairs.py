"""A pair at risk, as the at-risk list publishes it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Risk(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: str
    detail: str | None
    since: datetime


class AtRiskPair(BaseModel):
    # An active pair with at least one open risk signal (`risks`: one per open reason). No
    # docstring: it would change the OpenAPI document.
    model_config = ConfigDict(frozen=True)

    pair_id: str
    cohort_id: str
    cohort_name: str | None = Field(description="the cohort's name (null until cohort.created is seen)")
    relationship_id: str | None
    region: str | None
    department: str | None
    band: str | None
    mentor_name: str | None = Field(description="the mentor's display name, as at pair.formed")
    mentee_name: str | None = Field(description="the mentee's display name, as at pair.formed")
    formed_at: datetime | None
    reasons: list[str]
    risks: list[Risk]
    last_session_at: datetime | None
    sessions_held: int
