"""A pair at risk, and a pair flagged for HR, as their lists publish them."""

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


class FlaggedPair(BaseModel):
    # An active pair matching flagged for HR after a person moved (issue 19): the latest flag. No
    # docstring: it would change the OpenAPI document.
    model_config = ConfigDict(frozen=True)

    pair_id: str
    cohort_id: str
    cohort_name: str | None = Field(description="the cohort's name (null until cohort.created is seen)")
    relationship_id: str | None
    region: str | None
    department: str | None
    band: str | None
    mentor_id: str | None
    mentor_name: str | None = Field(description="the mentor's display name, as at pair.formed")
    mentee_id: str | None
    mentee_name: str | None = Field(description="the mentee's display name, as at pair.formed")
    formed_at: datetime | None
    flagged_at: datetime = Field(description="when matching flagged it (the latest flag)")
    rule: str = Field(description="the rule it now breaks: management_chain")
    reason: str | None = Field(description="matching's plain-language reason (names no one)")
    sessions_held: int
    last_session_at: datetime | None
