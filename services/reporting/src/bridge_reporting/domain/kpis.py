"""Turns raw counts into the published figures: rates, the balance index, NPS, the funnel."""

from __future__ import annotations

from collections.abc import Mapping

# Raw figures as the queries return them, by name: counts (int), averages and medians (float),
# NULL where there was nothing to aggregate.
Raw = Mapping[str, float | None]
Figures = dict[str, float | None]

COUNT_FIELDS = (
    "enrolled",
    "withdrawn",
    "leavers",
    "movers",
    "mentors",
    "mentees",
    "proposed",
    "matched",
    "met",
    "pairs_formed",
    "pairs_active",
    "pairs_at_risk",
    "pairs_closed",
    "pairs_completed",
    "pairs_ended_early",
    "pairs_left_company",
    "pairs_flagged",
    "relationships_started",
    "agreements_confirmed",
    "sessions_held",
    "topics_mentor_to_mentee",
    "topics_mentee_to_mentor",
    "goals_set",
    "goals_achieved",
    "goals_abandoned",
    "feedback_responses",
    "rating_responses",
    "nps_responses",
    "promoters",
    "detractors",
    "notifications_sent",
    "notifications_failed",
    "notifications_failed_permanent",
    # Mentoring circles (issue 15).
    "circles_formed",
    "circles_active",
    "circles_closed",
    "circle_memberships",
    "circle_sessions_held",
    "circle_attendance_expected",
    "circle_attended",
    "learning_flows",
    "learning_junior_to_senior",
    "learning_senior_to_junior",
    "learning_other",
)
RATE_FIELDS = (
    "match_rate",
    "agreement_confirmation_rate",
    "median_days_between_sessions",
    "balance_index",
    "goal_completion_rate",
    "average_rating",
    "nps",
    "circle_attendance_rate",
    "learning_share_junior_to_senior",
    "learning_share_senior_to_junior",
    "learning_share_other",
    "cross_generation_exchange_index",
)
KPI_FIELDS = COUNT_FIELDS + RATE_FIELDS
FUNNEL_STAGES = ("enrolled", "proposed", "matched", "met")

UNKNOWN = "(unknown)"
"""The group of rows whose person (or pair) has no known value for the dimension."""
MEMBER_FIELDS = ("enrolled", "pairs_formed", "circle_memberships")
"""What a group's members are: the participants, the pairs and the circle members attributed to it."""


def count(raw: Raw, name: str) -> int:
    return int(raw.get(name) or 0)


def ratio(a: float, b: float, digits: int = 4) -> float | None:
    return round(a / b, digits) if b else None


def rounded(value: float | None, digits: int = 2) -> float | None:
    return round(float(value), digits) if value is not None else None


def balance_index(m2e: int, e2m: int) -> float | None:
    """2 * min(a, b) / (a + b) over topics; 1 = perfectly two-way."""
    return ratio(2 * min(m2e, e2m), m2e + e2m)


def nps(promoters: int, detractors: int, responses: int) -> float | None:
    return round(100.0 * (promoters - detractors) / responses, 1) if responses else None


def finish(raw: Raw) -> Figures:
    """The published figures of one group."""
    c = {f: count(raw, f) for f in COUNT_FIELDS}
    k: Figures = dict(c)
    k["match_rate"] = ratio(c["matched"], c["enrolled"])
    k["agreement_confirmation_rate"] = ratio(c["agreements_confirmed"], c["relationships_started"])
    k["median_days_between_sessions"] = rounded(raw.get("median_days_between_sessions"))
    k["balance_index"] = balance_index(c["topics_mentor_to_mentee"], c["topics_mentee_to_mentor"])
    k["goal_completion_rate"] = ratio(c["goals_achieved"], c["goals_set"])
    k["average_rating"] = rounded(raw.get("average_rating"))
    k["nps"] = nps(c["promoters"], c["detractors"], c["nps_responses"])
    k["circle_attendance_rate"] = ratio(c["circle_attended"], c["circle_attendance_expected"])
    flows = c["learning_flows"]
    k["learning_share_junior_to_senior"] = ratio(c["learning_junior_to_senior"], flows)
    k["learning_share_senior_to_junior"] = ratio(c["learning_senior_to_junior"], flows)
    k["learning_share_other"] = ratio(c["learning_other"], flows)
    # The balance index's formula over the two cross-generation directions: 1 = as much learning
    # went junior -> senior as senior -> junior, 0 = only one way; null when none crossed generations.
    k["cross_generation_exchange_index"] = balance_index(
        c["learning_junior_to_senior"], c["learning_senior_to_junior"]
    )
    return k


def members(raw: Raw) -> int:
    """Participants, pairs and circle members attributed to a group (what makes it a group of the
    programme)."""
    return sum(count(raw, f) for f in MEMBER_FIELDS)


def published_groups(groups: Mapping[str, Raw]) -> dict[str, Raw]:
    """The groups a breakdown shows: a group with something counted in it, and the `(unknown)`
    group only when it has members. Rows that name no participant (a notification to HR, who are
    not enrolled) fall into `(unknown)` without making it a group: they count in the overview only."""
    return {
        g: raw
        for g, raw in groups.items()
        if (members(raw) > 0 if g == UNKNOWN else any(count(raw, f) > 0 for f in COUNT_FIELDS))
    }


def funnel(k: Figures) -> list[tuple[str, int]]:
    return [(stage, int(k[stage] or 0)) for stage in FUNNEL_STAGES]
