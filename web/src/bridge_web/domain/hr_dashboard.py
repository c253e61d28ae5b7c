"""The programme dashboard's figures as shown: KPI tiles, the funnel, numbers and rates in the reader's
locale. Pure: reporting's figures in, labels (marked for translation) and formatted values out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from babel.numbers import format_decimal, format_percent

from bridge_web.domain.i18n import N_

# (kpi field, label, kind): kind "count", "rate" (a share shown as a percentage) or "number".
TILES: tuple[tuple[str, str, str], ...] = (
    ("enrolled", N_("Enrolled"), "count"),
    ("matched", N_("Matched"), "count"),
    ("match_rate", N_("Match rate"), "rate"),
    ("pairs_active", N_("Active pairs"), "count"),
    ("pairs_at_risk", N_("Pairs at risk"), "count"),
    ("pairs_flagged", N_("Pairs flagged"), "count"),
    ("sessions_held", N_("Sessions held"), "count"),
    ("agreement_confirmation_rate", N_("Agreements confirmed"), "rate"),
    ("balance_index", N_("Balance index"), "number"),
    ("goal_completion_rate", N_("Goals achieved"), "rate"),
    ("average_rating", N_("Average rating (1-5)"), "number"),
    ("nps", N_("Net promoter score"), "number"),
    ("pairs_completed", N_("Completed"), "count"),
    ("pairs_ended_early", N_("Ended early"), "count"),
    ("pairs_left_company", N_("Ended: someone left the company"), "count"),
    ("leavers", N_("Leavers"), "count"),
)

FUNNEL_LABELS: dict[str, str] = {
    "enrolled": N_("Enrolled"),
    "proposed": N_("Proposed"),
    "matched": N_("Matched"),
    "met": N_("Met at least once"),
}

EXPORTS: tuple[tuple[str, str], ...] = (
    ("pairs", N_("Pairs")),
    ("participants", N_("Participants")),
    ("sessions", N_("Sessions")),
    ("circles", N_("Circles")),
)

NONE_SHOWN = "\N{EN DASH}"


def number(value: float | int | None, locale: str) -> str:
    return NONE_SHOWN if value is None else format_decimal(value, locale=locale)


def rate(value: float | None, locale: str) -> str:
    return NONE_SHOWN if value is None else format_percent(value, locale=locale, format="#,##0.#%")


def tiles(kpis: Mapping[str, Any], locale: str) -> list[tuple[str, str]]:
    """(label, value as shown) for each KPI tile."""
    out = []
    for name, label, kind in TILES:
        value = kpis.get(name)
        out.append((label, rate(value, locale) if kind == "rate" else number(value, locale)))
    return out


def funnel(stages: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """The match funnel's stages in order, with their labels."""
    return [(FUNNEL_LABELS.get(str(s["stage"]), str(s["stage"])), int(s["count"])) for s in stages]
