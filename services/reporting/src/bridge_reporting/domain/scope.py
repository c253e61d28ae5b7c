"""What a report covers: one cohort (or all), the regions in scope, an inclusive UTC date range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Dimension = Literal["region", "department", "band", "cohort"]
DIMENSIONS: tuple[Dimension, ...] = ("region", "department", "band", "cohort")


@dataclass(frozen=True, slots=True)
class Scope:
    cohort_id: str | None = None
    regions: tuple[str, ...] | None = None  # None: every region (global HR)
    date_from: date | None = None
    date_to: date | None = None  # inclusive

    def unbounded(self) -> Scope:
        """The same cohort and regions over all time (stocks need history before the range)."""
        return Scope(self.cohort_id, self.regions)


Dataset = Literal["pairs", "participants", "sessions"]  # what can be exported
