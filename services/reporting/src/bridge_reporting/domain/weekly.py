"""The weekly series: flows of each ISO week (Monday, UTC) and stocks at the week's end."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field

from bridge_reporting.domain.kpis import Raw, balance_index, count, nps, ratio, rounded
from bridge_reporting.domain.scope import Scope


class WeekRow(BaseModel):
    # One week of the series, as /reports/weekly publishes it (no docstring: it would change the
    # OpenAPI document).
    model_config = ConfigDict(frozen=True)

    week: date = Field(description="Monday (UTC) the ISO week starts on")
    enrolled: int
    enrolled_total: int
    matched_total: int
    match_rate: float | None
    pairs_formed: int
    pairs_closed: int
    pairs_active_at_week_end: int
    at_risk_signals: int
    agreements_confirmed: int
    sessions_held: int
    median_days_between_sessions: float | None
    balance_index: float | None
    goals_set: int
    goals_achieved: int
    feedback_responses: int
    average_rating: float | None
    nps: float | None
    notifications_failed: int


def series(raw: Mapping[date, Raw], scope: Scope) -> list[WeekRow]:
    """Weeks from the first with any activity to the last (or the range's start), running totals
    over all of them, then only the weeks that overlap the scope's date range."""
    if not raw:
        return []
    first, last = min(raw), max(raw)
    if scope.date_from is not None:
        last = max(last, scope.date_from)
    out: list[WeekRow] = []
    enrolled = matched = formed = closed = 0
    week = first
    while week <= last:
        r = raw.get(week, {})
        enrolled += count(r, "enrolled")
        matched += count(r, "newly_matched")
        formed += count(r, "pairs_formed")
        closed += count(r, "pairs_closed")
        row = WeekRow(
            week=week,
            enrolled=count(r, "enrolled"),
            enrolled_total=enrolled,
            matched_total=matched,
            match_rate=ratio(matched, enrolled),
            pairs_formed=count(r, "pairs_formed"),
            pairs_closed=count(r, "pairs_closed"),
            pairs_active_at_week_end=formed - closed,
            at_risk_signals=count(r, "at_risk_signals"),
            agreements_confirmed=count(r, "agreements_confirmed"),
            sessions_held=count(r, "sessions_held"),
            median_days_between_sessions=rounded(r.get("median_days_between_sessions")),
            balance_index=balance_index(
                count(r, "topics_mentor_to_mentee"), count(r, "topics_mentee_to_mentor")
            ),
            goals_set=count(r, "goals_set"),
            goals_achieved=count(r, "goals_achieved"),
            feedback_responses=count(r, "feedback_responses"),
            average_rating=rounded(r.get("average_rating")),
            nps=nps(count(r, "promoters"), count(r, "detractors"), count(r, "nps_responses")),
            notifications_failed=count(r, "notifications_failed"),
        )
        in_range = (scope.date_from is None or week + timedelta(days=6) >= scope.date_from) and (
            scope.date_to is None or week <= scope.date_to
        )
        if in_range:
            out.append(row)
        week += timedelta(days=7)
    return out
