"""Dependencies every router shares: the typed runtime and the report filters (scope)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from pydantic import StringConstraints

from bridge_reporting.app.access import scope_for
from bridge_reporting.domain.scope import Scope
from bridge_reporting.settings import ReportingSettings
from bridge_shared.auth.dependencies import HR_ROLES, require
from bridge_shared.auth.principal import Principal
from bridge_shared.runtime import runtime_dependency

get_runtime = runtime_dependency(ReportingSettings)
RegionParam = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def filters(
    principal: Principal = Depends(require(*HR_ROLES)),
    cohort_id: str | None = Query(None, max_length=128),
    region: list[RegionParam] | None = Query(None, max_length=50, description="repeat for several regions"),
    date_from: date | None = Query(None, alias="from", description="inclusive, UTC"),
    date_to: date | None = Query(None, alias="to", description="inclusive, UTC"),
) -> Scope:
    return scope_for(principal, cohort_id, region, date_from, date_to)
