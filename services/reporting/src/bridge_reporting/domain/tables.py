"""The read-model tables (see db/migrations) and how each column merges."""

from __future__ import annotations

from bridge_reporting.domain.upsert import Col, Table

TS = "timestamptz"
INT = "integer"


def band(seniority_level: int | None) -> str | None:
    """Seniority bands from seniority_level (never age): 1-3, 4-6, 7-9, 10+."""
    if seniority_level is None:
        return None
    if seniority_level <= 3:
        return "early_career"
    if seniority_level <= 6:
        return "mid_career"
    if seniority_level <= 9:
        return "senior"
    return "executive"


BANDS = ("early_career", "mid_career", "senior", "executive")

COHORTS = Table(
    "rm_cohorts",
    ("cohort_id",),
    (
        Col("cohort_id"),
        Col("name", merge="keep"),
        Col("regions", "text[]", merge="keep"),
        Col("created_at", TS, merge="min"),
        Col("programme_start", "date"),
        Col("programme_end", "date"),
        Col("inactivity_threshold_days", INT),
        Col("phase", merge="latest:phase_at"),
        Col("phase_at", TS, merge="max"),
    ),
)

PARTICIPANTS = Table(
    "rm_participants",
    ("participant_id",),
    (
        Col("participant_id"),
        Col("cohort_id"),
        Col("employee_id", merge="latest:profile_at"),
        Col("role", merge="latest:profile_at"),
        Col("region", merge="latest:profile_at"),
        Col("department", merge="latest:profile_at"),
        Col("seniority_level", INT, merge="latest:profile_at"),
        Col("band", merge="latest:profile_at"),
        Col("profile_at", TS, merge="max"),
        Col("enrolled_at", TS, merge="min"),
        Col("withdrawn_at", TS, merge="max"),
    ),
)

PROPOSALS = Table(
    "rm_proposals",
    ("proposal_id",),
    (
        Col("proposal_id"),
        Col("cohort_id"),
        Col("mentor_id"),
        Col("mentee_id"),
        Col("proposed_at", TS, merge="min"),
        Col("accepted_at", TS, merge="max"),
        Col("declined_at", TS, merge="min"),
        Col("expired_at", TS, merge="min"),
    ),
)

PAIRS = Table(
    "rm_pairs",
    ("pair_id",),
    (
        Col("pair_id"),
        Col("cohort_id"),
        Col("mentor_id"),
        Col("mentee_id"),
        Col("region"),
        Col("department"),
        Col("band"),
        Col("mentor_region"),
        Col("mentor_department"),
        Col("mentor_band"),
        Col("mentor_name"),
        Col("mentee_name"),
        Col("formed_at", TS, merge="min"),
        Col("dissolved_at", TS, merge="min"),
        Col("dissolved_reason"),
        Col("relationship_id"),
        Col("started_at", TS, merge="min"),
        Col("agreement_confirmed_at", TS, merge="min"),
        Col("closed_at", TS, merge="min"),
        Col("outcome"),
        Col("close_reason"),
    ),
)

SESSIONS = Table(
    "rm_sessions",
    ("session_id",),
    (
        Col("session_id"),
        Col("pair_id"),
        Col("cohort_id"),
        Col("starts_at", TS, merge="latest:scheduled_at"),
        Col("scheduled_at", TS, merge="max"),
        Col("cancelled_at", TS, merge="max"),
        Col("held_at", TS, merge="min"),
        Col("duration_minutes", INT),
        Col("topics_m2e", INT),
        Col("topics_e2m", INT),
        Col("action_items", INT),
    ),
)

GOALS = Table(
    "rm_goals",
    ("goal_id",),
    (
        Col("goal_id"),
        Col("pair_id"),
        Col("cohort_id"),
        Col("owner_side"),
        Col("title"),
        Col("set_at", TS, merge="min"),
        Col("achieved_at", TS, merge="min"),
        Col("abandoned_at", TS, merge="min"),
        Col("last_rating", INT, merge="latest:rated_at"),
        Col("rated_at", TS, merge="max"),
    ),
)

FEEDBACK = Table(
    "rm_feedback",
    ("feedback_id",),
    (
        Col("feedback_id"),
        Col("pair_id"),
        Col("cohort_id"),
        Col("kind"),
        Col("by_side"),
        Col("by_participant_id"),
        Col("rating", INT),
        Col("recommend_score", INT),
        Col("submitted_at", TS),
    ),
    insert_only=True,
)

RISK_EVENTS = Table(
    "rm_risk_events",
    ("event_id",),
    (
        Col("event_id"),
        Col("pair_id"),
        Col("cohort_id"),
        Col("reason"),
        Col("signal", "boolean"),
        Col("detail"),
        Col("at", TS),
    ),
    insert_only=True,
)

NOTIFICATIONS = Table(
    "rm_notifications",
    ("notification_id",),
    (
        Col("notification_id"),
        Col("cohort_id"),
        Col("recipient_id"),
        Col("channel"),
        Col("kind"),
        Col("sent_at", TS, merge="min"),
        Col("failed_at", TS, merge="max"),
        Col("permanent", "boolean", merge="latest:failed_at"),
        Col("reason", merge="latest:failed_at"),
    ),
)

TIMELINE = Table(
    "rm_timeline",
    ("event_id",),
    (
        Col("event_id"),
        Col("pair_id"),
        Col("cohort_id"),
        Col("occurred_at", TS),
        Col("event_type"),
        Col("summary"),
        Col("detail", "jsonb"),
    ),
    insert_only=True,
)

ALL_TABLES: tuple[Table, ...] = (
    COHORTS,
    PARTICIPANTS,
    PROPOSALS,
    PAIRS,
    SESSIONS,
    GOALS,
    FEEDBACK,
    RISK_EVENTS,
    NOTIFICATIONS,
    TIMELINE,
)
