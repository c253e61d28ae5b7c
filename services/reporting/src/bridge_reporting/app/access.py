"""Who may see what: HR's regional scope, applied by every report (the one region rule,
docs/access.md: figures cover only regions in scope; a cross-region pair counts in each of its
regions; hr_admin and service read every region, service never writes)."""

from __future__ import annotations

from datetime import date

from bridge_reporting.domain.scope import Scope
from bridge_shared.auth import scope
from bridge_shared.auth.principal import Principal
from bridge_shared.errors import Problem


def scope_for(
    principal: Principal,
    cohort_id: str | None,
    region: list[str] | None,
    date_from: date | None,
    date_to: date | None,
) -> Scope:
    """The scope of a report: global HR see the regions asked for (or all); regional HR see the
    regions asked for if their token covers them all (else 403), or all of theirs."""
    if date_from and date_to and date_from > date_to:
        raise Problem(422, "Invalid date range", "`from` must not be after `to`.")
    if scope.region_filter(principal) is None:
        regions = tuple(sorted(set(region))) if region else None
    else:
        mine = set(principal.regions)
        if region:
            hidden = sorted(set(region) - mine)
            if hidden:
                raise Problem(403, "Forbidden", f"Your token does not cover region(s): {', '.join(hidden)}.")
            regions = tuple(sorted(set(region)))
        else:
            regions = tuple(sorted(mine))
    return Scope(cohort_id=cohort_id, regions=regions, date_from=date_from, date_to=date_to)


def can_see_region(principal: Principal, region: str | None) -> bool:
    """Rows with no known region are visible to global readers (hr_admin, service) only."""
    return scope.sees_region(principal, region)
