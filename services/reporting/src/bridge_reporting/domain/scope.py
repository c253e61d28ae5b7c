"""What a report covers: one cohort (or all), the regions in scope, an inclusive UTC date range."""

from __future__ import annotations

from collections.abc import Iterable
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

    def sees_any(self, regions: Iterable[str]) -> bool:
        """Whether one of `regions` is in scope (a cohort is seen when one of its regions is)."""
        return self.regions is None or not set(self.regions).isdisjoint(regions)

    def unbounded(self) -> Scope:
        """The same cohort and regions over all time (stocks need history before the range)."""
        return Scope(self.cohort_id, self.regions)


Dataset = Literal["pairs", "participants", "sessions", "circles"]  # what can be exported
