"""Simple bar charts drawn on the server as SVG: the geometry only (the template writes the elements).
Every chart also has a table beside it with the same numbers, so the SVG is decoration for sighted
readers (`aria-hidden`) and the table is what assistive technology reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 320.0
BAR_HEIGHT = 22.0
GAP = 8.0
LABEL_WIDTH = 110.0
VALUE_WIDTH = 50.0


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown
    x: float
    y: float
    width: float
    height: float
    label_y: float


@dataclass(frozen=True)
class HBarChart:
    """Horizontal bars: one row per item, a label on the left, the value on the right."""

    width: float
    height: float
    label_width: float
    bars: tuple[Bar, ...]

    @property
    def value_x(self) -> float:
        return self.width - VALUE_WIDTH + 6


def hbar_chart(items: Sequence[tuple[str, float, str]]) -> HBarChart:
    """Bars for (label, value, shown value); lengths relative to the largest value."""
    top = max((v for _, v, _ in items), default=0.0)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for i, (label, value, text) in enumerate(items):
        y = GAP + i * (BAR_HEIGHT + GAP)
        length = 0.0 if top <= 0 else max(0.0, value) / top * span
        bars.append(
            Bar(label, value, text, LABEL_WIDTH, y, round(length, 1), BAR_HEIGHT, y + BAR_HEIGHT * 0.7)
        )
    height = GAP + len(items) * (BAR_HEIGHT + GAP)
    return HBarChart(WIDTH, height, LABEL_WIDTH, tuple(bars))


@dataclass(frozen=True)
class Column:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class ColumnChart:
    """Vertical columns along a time axis (sessions held per week)."""

    width: float
    height: float
    baseline: float
    top: float
    columns: tuple[Column, ...]
    first_label: str
    last_label: str


def column_chart(items: Sequence[tuple[str, float]], *, height: float = 140.0) -> ColumnChart:
    """Columns for (label, value), the tallest reaching the top; at most the last 26 items."""
    items = list(items)[-26:]
    top = max((v for _, v in items), default=0.0)
    plot = height - 20.0
    n = max(len(items), 1)
    step = WIDTH / n
    width = max(step - 2.0, 1.0)
    cols = []
    for i, (label, value) in enumerate(items):
        h = 0.0 if top <= 0 else max(0.0, value) / top * (plot - 4.0)
        cols.append(
            Column(label, value, round(i * step + 1.0, 1), round(plot - h, 1), round(width, 1), round(h, 1))
        )
    return ColumnChart(
        WIDTH,
        height,
        plot,
        top,
        tuple(cols),
        items[0][0] if items else "",
        items[-1][0] if items else "",
    )
