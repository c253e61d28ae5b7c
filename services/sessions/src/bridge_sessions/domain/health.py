"""Relationship health: which conditions hold for one relationship at one instant (pure).

- inactive: no held session for `inactivity_threshold_days` (since the last held session, or since
  the pair was formed when none has been held). metric = days.
- cadence_slipping: with an active agreement, expected = whole cadence periods elapsed since its
  start date; slipping when expected - held_since_start > cadence_slack_sessions. metric = behind.
- one_directional: balance index (see domain.balance) over the last `balance_window_sessions` held
  sessions below `balance_threshold`, judged once at least `balance_min_sessions` are held.
- midpoint_survey: today (UTC) is on or after the midpoint of the programme (domain.surveys: the
  agreement in force, else the relationship's start and planned end); announced once per
  relationship, never resolved. `survey_due` = `midpoint_survey_days` later, at the latest the end date.
- ending_soon: the effective end date is within `ending_soon_days` (signalled once per end date,
  never resolved: an amendment that moves the end date is announced again for the new date).
- due_to_complete: the end date has passed (UTC): the scheduler completes the relationship.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bridge_sessions.domain.balance import balance_index, dominant_direction
from bridge_sessions.domain.surveys import midpoint_due, programme_span

DAY = 86400.0


@dataclass(frozen=True)
class Policy:
    inactivity_threshold_days: int = 21
    cadence_slack_sessions: int = 1
    balance_window_sessions: int = 6
    balance_min_sessions: int = 3
    balance_threshold: float = 0.3
    ending_soon_days: int = 14
    midpoint_survey_days: int = 14


@dataclass(frozen=True)
class Inputs:
    now: datetime
    started_at: datetime
    last_held_at: datetime | None = None
    agreement_start: date | None = None
    agreement_end: date | None = None
    cadence_days: int | None = None
    held_since_agreement_start: int = 0
    end_date: date | None = None  # effective: the agreement's in force, else the planned end
    recent_held_sessions: int = 0
    recent_mentor_to_mentee: int = 0
    recent_mentee_to_mentor: int = 0


@dataclass(frozen=True)
class Condition:
    detail: str
    metric: float | None = None


@dataclass(frozen=True)
class Assessment:
    risks: dict[str, Condition] = field(default_factory=dict)
    ending_soon: Condition | None = None
    days_left: int | None = None
    midpoint_survey: Condition | None = None
    survey_due: date | None = None
    due_to_complete: bool = False


def inactivity(
    now: datetime, last_held_at: datetime | None, started_at: datetime, threshold_days: int, unheld: str
) -> Condition | None:
    """The `inactive` condition of a pair or a circle: `threshold_days` or more since the last held
    session, or since it started (`unheld` says when) if none has been held. metric = days."""
    idle_days = (now - (last_held_at or started_at)).total_seconds() / DAY
    if idle_days < threshold_days:
        return None
    what = "the last held session" if last_held_at else unheld
    return Condition(
        f"{int(idle_days)} days since {what} (threshold {threshold_days} days)", round(idle_days, 2)
    )


def assess(i: Inputs, p: Policy) -> Assessment:
    today = i.now.date()
    if i.end_date is not None and today > i.end_date:
        return Assessment(due_to_complete=True)
    risks: dict[str, Condition] = {}

    idle = inactivity(
        i.now,
        i.last_held_at,
        i.started_at,
        p.inactivity_threshold_days,
        "the pair was formed, with none held",
    )
    if idle is not None:
        risks["inactive"] = idle

    if i.cadence_days and i.agreement_start is not None and today >= i.agreement_start:
        expected = (today - i.agreement_start).days // i.cadence_days
        behind = expected - i.held_since_agreement_start
        if behind > p.cadence_slack_sessions:
            risks["cadence_slipping"] = Condition(
                f"{i.held_since_agreement_start} sessions held since {i.agreement_start}, "
                f"{expected} expected at one every {i.cadence_days} days",
                float(behind),
            )

    if i.recent_held_sessions >= p.balance_min_sessions:
        a, b = i.recent_mentor_to_mentee, i.recent_mentee_to_mentor
        idx = balance_index(a, b)
        if idx is not None and idx < p.balance_threshold:
            risks["one_directional"] = Condition(
                f"balance index {idx:.2f} over the last {i.recent_held_sessions} sessions: "
                f"{a} topics mentor_to_mentee, {b} mentee_to_mentor; mostly {dominant_direction(a, b)}",
                round(idx, 4),
            )

    survey: Condition | None = None
    survey_due: date | None = None
    span = programme_span(
        agreement_start=i.agreement_start,
        agreement_end=i.agreement_end,
        started_at=i.started_at,
        planned_end=i.end_date,
    )
    if span is not None and today >= span.midpoint:
        survey_due = midpoint_due(today, span.end, p.midpoint_survey_days)
        survey = Condition(
            f"mid-point survey open since {span.midpoint}, {span.describe()}; answers due {survey_due}",
            float((today - span.midpoint).days),
        )

    ending: Condition | None = None
    days_left: int | None = None
    if i.end_date is not None:
        days_left = (i.end_date - today).days
        if days_left <= p.ending_soon_days:
            ending = Condition(f"ends on {i.end_date} ({days_left} days left)", float(days_left))
    return Assessment(
        risks=risks,
        ending_soon=ending,
        days_left=days_left,
        midpoint_survey=survey,
        survey_due=survey_due,
    )
