"""When the surveys open (pure).

The mid-point survey opens at the midpoint of the programme's span: the agreement in force
(start_date to end_date) or, without one, the relationship's start (the UTC date the pair was formed)
to its planned end (`programme_end` from matching); with neither it never opens by itself. The
midpoint is start + (end - start) / 2 in whole days, rounded down, and the survey opens at 00:00 UTC
that day (the UTC dates the health job judges by). Answers are due `midpoint_survey_days` after the
day it was announced, or on the end date if that comes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from uuid import UUID

SurveyKind = Literal["midpoint", "closing"]


@dataclass(frozen=True, slots=True)
class Span:
    """The programme from `start` to `end` (inclusive dates), and what it was read from."""

    start: date
    end: date
    source: Literal["agreement", "relationship"]

    @property
    def midpoint(self) -> date:
        return start_plus_half(self.start, self.end)

    def describe(self) -> str:
        what = "the agreement in force" if self.source == "agreement" else "the start and the planned end"
        return f"halfway between {self.start} and {self.end} ({what})"


def start_plus_half(start: date, end: date) -> date:
    """start + (end - start) / 2, in whole days rounded down."""
    return start + timedelta(days=(end - start).days // 2)


def programme_span(
    *,
    agreement_start: date | None,
    agreement_end: date | None,
    started_at: datetime,
    planned_end: date | None,
) -> Span | None:
    """The agreement in force when there is one, else the relationship's start and planned end."""
    if agreement_start is not None and agreement_end is not None:
        return Span(agreement_start, agreement_end, "agreement")
    if planned_end is not None:
        return Span(started_at.astimezone(UTC).date(), planned_end, "relationship")
    return None


def midpoint_due(opened_on: date, end: date, days: int) -> date:
    """Answers due `days` after the day the survey was announced, at the latest on the end date."""
    return min(opened_on + timedelta(days=days), end)


def survey_path(relationship_id: UUID | str, kind: SurveyKind) -> str:
    """Where a participant POSTs their answer (relative to the sessions service)."""
    return f"/relationships/{relationship_id}/surveys/{kind}"
