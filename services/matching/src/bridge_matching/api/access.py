"""Who may see and change a cohort."""

from __future__ import annotations

from typing import Any

from bridge_shared.auth.principal import Principal
from bridge_shared.http.problems import Problem


def ensure_cohort_visible(principal: Principal, cohort: Any | None) -> Any:
    if cohort is None or not principal.can_see_any_region(cohort["regions"]):
        # 404 rather than 403, so regional HR cannot probe for other regions' cohorts.
        raise Problem(404, "Cohort not found")
    return cohort
