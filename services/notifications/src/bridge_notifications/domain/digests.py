"""What the digests say and which week HR's covers (pure; the jobs look the figures up)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bridge_notifications.domain.recipients import Person
from bridge_notifications.domain.rendering import Context
from bridge_notifications.domain.timing import week_start, zone
from bridge_notifications.settings import NotificationsSettings


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One cohort's notifications over a week."""

    sent: int
    failed: int
    waiting: int
    escalations_open: int
    escalations_sent: int
    failed_recipients: list[str]


@dataclass(frozen=True, slots=True)
class HealthFigures:
    """One cohort's programme health over a week (from sessions' events)."""

    sessions_held: int
    pairs_meeting: int
    topics_m2e: int
    topics_e2m: int
    pulse_average: float | None
    pulses: int
    new_risks: int
    at_risk_pairs: int  # at the end of the week
    closed: int

    @property
    def balance(self) -> float | None:
        """The balance index sessions and reporting use: 2 * min(a, b) / (a + b) over the week's topics."""
        total = self.topics_m2e + self.topics_e2m
        return None if total == 0 else 2 * min(self.topics_m2e, self.topics_e2m) / total


@dataclass(frozen=True, slots=True)
class Week:
    start: datetime
    end: datetime
    label: str  # ISO week of `end` in HR's zone, e.g. 2025-W37


def last_week(now: datetime, hr: Person, settings: NotificationsSettings) -> Week:
    """The seven days up to the latest weekly digest time (weekday and hour in HR's zone)."""
    tz = zone(hr.timezone)
    end = week_start(now, tz, settings.weekly_digest_weekday, time(settings.weekly_digest_local_hour))
    iso = end.astimezone(tz).isocalendar()
    return Week(end - timedelta(days=7), end, f"{iso.year}-W{iso.week:02d}")


def daily_context(settings: NotificationsSettings, who: Person, subjects: list[str]) -> Context:
    return {
        "recipient_name": who.display_name,
        "items": [{"subject": s} for s in subjects],
        "inbox_url": f"{settings.app_base_url.rstrip('/')}/inbox",
        "preferences_url": settings.preferences_url(who.recipient_id),
    }


def weekly_context(
    settings: NotificationsSettings,
    cohort_id: str,
    hr: Person,
    week: Week,
    figures: WeekFigures,
    health: HealthFigures,
) -> Context:
    app = settings.app_base_url.rstrip("/")
    balance = health.balance
    return {
        "cohort_name": hr.display_name,
        "sessions_held": health.sessions_held,
        "pairs_meeting": health.pairs_meeting,
        "balance": None if balance is None else round(balance, 2),
        "pulse_average": None if health.pulse_average is None else round(health.pulse_average, 1),
        "pulses": health.pulses,
        "new_risks": health.new_risks,
        "at_risk_pairs": health.at_risk_pairs,
        "closed": health.closed,
        "dashboard_url": f"{app}/hr/cohorts/{cohort_id}/dashboard",
        "period_start": week.start,
        "period_end": week.end,
        "sent": figures.sent,
        "failed": figures.failed,
        "waiting": figures.waiting,
        "escalations_open": figures.escalations_open,
        "escalations_sent": figures.escalations_sent,
        "failed_recipients": figures.failed_recipients,
        "log_url": f"{app}/hr/deliveries?cohort_id={cohort_id}",
        "preferences_url": f"{app}/hr/cohorts/{cohort_id}/notification-defaults",
    }
