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


def keep(*names: str, pgtype: str = "text") -> tuple[Col, ...]:
    """Columns that are immutable facts (the first non-null value stays)."""
    return tuple(Col(name, pgtype) for name in names)


def stamps(merge: str, *names: str) -> tuple[Col, ...]:
    """Timestamp columns merged the same way (`min`, `max` or `latest:<col>`)."""
    return tuple(Col(name, TS, merge=merge) for name in names)


def latest(version: str, *names: str, pgtype: str = "text") -> tuple[Col, ...]:
    """Columns that take the value of the event with the greatest `version` column."""
    return tuple(Col(name, pgtype, merge=f"latest:{version}") for name in names)


PAIR_REF = keep("pair_id", "cohort_id")  # rows that belong to a pair (and its cohort)

COHORTS = Table(
    "rm_cohorts",
    ("cohort_id",),
    (
        *keep("cohort_id", "name"),
        Col("regions", "text[]"),
        *stamps("min", "created_at"),
        *keep("programme_start", "programme_end", pgtype="date"),
        Col("inactivity_threshold_days", INT),
        *latest("phase_at", "phase"),
        *stamps("max", "phase_at"),
    ),
)

PARTICIPANTS = Table(
    "rm_participants",
    ("participant_id",),
    (
        *keep("participant_id", "cohort_id"),
        *latest("profile_at", "employee_id", "role", "region", "department"),
        *latest("profile_at", "seniority_level", pgtype=INT),
        *latest("profile_at", "band"),
        *stamps("max", "profile_at"),
        *stamps("min", "enrolled_at"),
        *stamps("max", "withdrawn_at"),
    ),
)

PROPOSALS = Table(
    "rm_proposals",
    ("proposal_id",),
    (
        *keep("proposal_id", "cohort_id", "mentor_id", "mentee_id"),
        *stamps("min", "proposed_at"),
        *stamps("max", "accepted_at"),
        *stamps("min", "declined_at", "expired_at", "cancelled_at"),
    ),
)

PAIRS = Table(
    "rm_pairs",
    ("pair_id",),
    (
        *PAIR_REF,
        *keep("mentor_id", "mentee_id", "region", "department", "band"),
        *keep("mentor_region", "mentor_department", "mentor_band", "mentor_name", "mentee_name"),
        *stamps("min", "formed_at", "dissolved_at"),
        *keep("relationship_id"),
        *stamps("min", "started_at", "agreement_confirmed_at", "closed_at"),
        *keep("outcome"),
        *keep("left_participant_id"),
        *stamps("max", "flagged_at"),
        *latest("flagged_at", "flag_rule", "flag_reason"),
    ),
)

SESSIONS = Table(
    "rm_sessions",
    ("session_id",),
    (
        *keep("session_id"),
        *PAIR_REF,
        *stamps("latest:scheduled_at", "starts_at"),
        *stamps("max", "scheduled_at", "cancelled_at"),
        *stamps("min", "held_at"),
        *keep("duration_minutes", "topics_m2e", "topics_e2m", "action_items", pgtype=INT),
    ),
)

GOALS = Table(
    "rm_goals",
    ("goal_id",),
    (
        *keep("goal_id"),
        *PAIR_REF,
        *keep("owner_side"),
        *stamps("min", "set_at", "achieved_at", "abandoned_at"),
        *latest("rated_at", "last_rating", pgtype=INT),
        *stamps("max", "rated_at"),
    ),
)

FEEDBACK = Table(
    "rm_feedback",
    ("feedback_id",),
    (
        *keep("feedback_id"),
        *PAIR_REF,
        *keep("kind", "by_side", "by_participant_id"),
        *keep("rating", "recommend_score", pgtype=INT),
        *keep("submitted_at", pgtype=TS),
    ),
    insert_only=True,
)

RISK_EVENTS = Table(
    "rm_risk_events",
    ("event_id",),
    (
        *keep("event_id"),
        *PAIR_REF,
        *keep("reason"),
        Col("signal", "boolean"),
        *keep("detail"),
        *keep("at", pgtype=TS),
    ),
    insert_only=True,
)

NOTIFICATIONS = Table(
    "rm_notifications",
    ("notification_id",),
    (
        *keep("notification_id", "cohort_id", "recipient_id", "channel", "kind"),
        *stamps("min", "sent_at"),
        *stamps("max", "failed_at"),
        *latest("failed_at", "permanent", pgtype="boolean"),
    ),
)

TIMELINE = Table(
    "rm_timeline",
    ("event_id",),
    (
        *keep("event_id"),
        *PAIR_REF,
        *keep("occurred_at", pgtype=TS),
        *keep("event_type", "summary"),
        Col("detail", "jsonb"),
    ),
    insert_only=True,
)

DIRECTORY_CHANGES = Table(
    "rm_directory_changes",
    ("event_id", "participant_id"),
    (
        *keep("event_id", "participant_id", "kind"),
        *keep("at", pgtype=TS),
        *keep("left_on", pgtype="date"),
        *keep("detail"),
    ),
    insert_only=True,
)

# -- mentoring circles (issue 15): ids, attributes and counts only (no names, no words) ---------------

COHORT_REF = keep("cohort_id")

CIRCLES = Table(
    "rm_circles",
    ("circle_id",),
    (
        *keep("circle_id"),
        *COHORT_REF,
        *keep("facilitator_id"),
        Col("member_count", INT),
        *stamps("min", "proposed_at", "formed_at", "started_at", "closed_at", "dissolved_at"),
        *keep("outcome"),
    ),
)

CIRCLE_MEMBERS = Table(
    "rm_circle_members",
    ("circle_id", "participant_id"),
    (
        *keep("circle_id", "participant_id"),
        *COHORT_REF,
        *keep("region", "department", "band", "generation"),
        Col("seniority_level", INT),
        Col("facilitator", "boolean"),
        *stamps("min", "joined_at"),
    ),
)

CIRCLE_SESSIONS = Table(
    "rm_circle_sessions",
    ("session_id",),
    (
        *keep("session_id", "circle_id"),
        *COHORT_REF,
        *stamps("latest:scheduled_at", "starts_at"),
        *stamps("max", "scheduled_at", "cancelled_at"),
        *stamps("min", "held_at"),
        *keep("activity_id"),
        *keep("members", "attended", "ideas", "learning_flows", pgtype=INT),
        Col("exchange_index", "float8"),
    ),
)

CIRCLE_ATTENDANCE = Table(
    "rm_circle_attendance",
    ("session_id", "participant_id"),
    (
        *keep("session_id", "participant_id", "circle_id"),
        *COHORT_REF,
        Col("attended", "boolean"),
        *keep("held_at", pgtype=TS),
    ),
    insert_only=True,
)

CIRCLE_LEARNING = Table(
    "rm_circle_learning",
    ("session_id", "seq"),
    (
        *keep("session_id"),
        Col("seq", INT),
        *keep("circle_id"),
        *COHORT_REF,
        *keep("from_id", "to_id", "from_generation", "to_generation", "direction"),
        *keep("held_at", pgtype=TS),
    ),
    insert_only=True,
)

PERSON_COLS = (
    "participant_id",
    "mentor_id",
    "mentee_id",
    "by_participant_id",
    "recipient_id",
    "facilitator_id",
    "from_id",
    "to_id",
)
"""Columns that hold a participant id (pseudonymous): what an erasure and its guard look for."""

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
    DIRECTORY_CHANGES,
    CIRCLES,
    CIRCLE_MEMBERS,
    CIRCLE_SESSIONS,
    CIRCLE_ATTENDANCE,
    CIRCLE_LEARNING,
)
