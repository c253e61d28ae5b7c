"""Circle health: which conditions hold for one circle at one instant (pure).

- falling_attendance: the attendance rate (members present / members at the time) over the last
  `attendance_window_sessions` held sessions is below `attendance_threshold`; judged once that many
  sessions are held. metric = the rate.
- dominant_voice: over the last `dominance_window_sessions` held sessions, one member brought more
  than `dominance_threshold` of the contributions (each idea they brought and each topic they taught
  counts one); judged from `dominance_min_contributions` contributions, in a circle of at least 3.
  metric = that member's share.
- inactive: no held session for `inactivity_threshold_days` (since the last held session, or since
  the circle started when none has been). metric = days.
- due_to_complete: the end date (the agreement in force's, else the programme's end) has passed
  (UTC): the job closes the circle, outcome completed.

Each risk is signalled once when it starts (the facilitator is nudged, HR at `escalate_at`) and
resolved when it ends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bridge_sessions.domain.circle_rows import AttendanceRow, CircleRisk
from bridge_sessions.domain.health import Condition, inactivity


@dataclass(frozen=True)
class CirclePolicy:
    inactivity_threshold_days: int = 21
    attendance_window_sessions: int = 2
    attendance_threshold: float = 0.6
    dominance_window_sessions: int = 4
    dominance_min_contributions: int = 6
    dominance_threshold: float = 0.5


@dataclass(frozen=True)
class CircleInputs:
    now: datetime
    started_at: datetime
    members: int
    last_held_at: datetime | None = None
    end_date: date | None = None
    recent_attendance: Sequence[AttendanceRow] = ()
    """Latest first."""
    recent_contributors: Sequence[str] = ()


@dataclass(frozen=True)
class CircleAssessment:
    risks: dict[CircleRisk, Condition] = field(default_factory=dict)
    due_to_complete: bool = False


def attendance_rate(rows: Sequence[AttendanceRow]) -> float | None:
    """Members present over members expected, across `rows`; None without any."""
    total = sum(r.total for r in rows)
    return None if total == 0 else sum(r.present for r in rows) / total


def dominant(contributors: Sequence[str]) -> tuple[str, float] | None:
    """The member with the most contributions and their share (ties: the first id in sort order)."""
    if not contributors:
        return None
    counts = Counter(contributors)
    who = min(counts, key=lambda p: (-counts[p], p))
    return who, counts[who] / len(contributors)


def assess_circle(i: CircleInputs, p: CirclePolicy) -> CircleAssessment:
    today = i.now.date()
    if i.end_date is not None and today > i.end_date:
        return CircleAssessment(due_to_complete=True)
    risks: dict[CircleRisk, Condition] = {}

    idle = inactivity(
        i.now, i.last_held_at, i.started_at, p.inactivity_threshold_days, "the circle started, with none held"
    )
    if idle is not None:
        risks["inactive"] = idle

    window = list(i.recent_attendance[: p.attendance_window_sessions])
    if len(window) >= p.attendance_window_sessions:
        rate = attendance_rate(window)
        if rate is not None and rate < p.attendance_threshold:
            present, total = sum(r.present for r in window), sum(r.total for r in window)
            risks["falling_attendance"] = Condition(
                f"attendance {rate:.0%} over the last {len(window)} sessions ({present} of {total} "
                f"places; threshold {p.attendance_threshold:.0%})",
                round(rate, 4),
            )

    if i.members >= 3 and len(i.recent_contributors) >= p.dominance_min_contributions:
        top = dominant(i.recent_contributors)
        if top is not None and top[1] > p.dominance_threshold:
            who, share = top
            risks["dominant_voice"] = Condition(
                f"one member ({who}) brought {share:.0%} of the {len(i.recent_contributors)} ideas and "
                f"topics taught over the last {p.dominance_window_sessions} sessions "
                f"(threshold {p.dominance_threshold:.0%})",
                round(share, 4),
            )
    return CircleAssessment(risks=risks)
