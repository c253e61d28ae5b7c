-- Programme analytics read models (issue 6). Every table is a projection of events only, so the
-- first-slice tables are dropped and re-projected by the new `read_models` consumer group, which
-- reads every topic from the beginning. Upserts merge column-wise with order-independent rules
-- (COALESCE of immutable facts, LEAST/GREATEST of times, "latest event time wins"), so any
-- cross-topic arrival order converges to the same rows.
DROP TABLE IF EXISTS rm_cohorts, rm_participants, rm_pairs;

CREATE TABLE rm_cohorts (
    cohort_id       text PRIMARY KEY,
    name            text,
    regions         text[],
    created_at      timestamptz,
    programme_start date,
    programme_end   date,
    inactivity_threshold_days integer,
    phase           text,
    phase_at        timestamptz
);

CREATE TABLE rm_participants (
    participant_id  text PRIMARY KEY,
    cohort_id       text NOT NULL,
    employee_id     text,
    role            text,
    region          text,
    department      text,
    seniority_level integer,
    band            text,
    profile_at      timestamptz,
    enrolled_at     timestamptz,
    withdrawn_at    timestamptz
);
CREATE INDEX rm_participants_cohort ON rm_participants (cohort_id);
CREATE INDEX rm_participants_employee ON rm_participants (employee_id);

CREATE TABLE rm_proposals (
    proposal_id     text PRIMARY KEY,
    cohort_id       text NOT NULL,
    mentor_id       text,
    mentee_id       text,
    proposed_at     timestamptz,
    accepted_at     timestamptz,
    declined_at     timestamptz,
    expired_at      timestamptz
);
CREATE INDEX rm_proposals_cohort ON rm_proposals (cohort_id);
CREATE INDEX rm_proposals_mentor ON rm_proposals (mentor_id);
CREATE INDEX rm_proposals_mentee ON rm_proposals (mentee_id);

-- One row per pair. Pair-level figures are attributed to the mentee's (the senior leader's)
-- region, department and band; the mentor's are kept for feedback by respondent.
CREATE TABLE rm_pairs (
    pair_id             text PRIMARY KEY,
    cohort_id           text NOT NULL,
    mentor_id           text,
    mentee_id           text,
    region              text,
    department          text,
    band                text,
    mentor_region       text,
    mentor_department   text,
    mentor_band         text,
    mentor_name         text,
    mentee_name         text,
    formed_at           timestamptz,
    dissolved_at        timestamptz,
    dissolved_reason    text,
    relationship_id     text,
    started_at          timestamptz,
    agreement_confirmed_at timestamptz,
    closed_at           timestamptz,
    outcome             text,
    close_reason        text
);
CREATE INDEX rm_pairs_cohort ON rm_pairs (cohort_id);
CREATE INDEX rm_pairs_mentor ON rm_pairs (mentor_id);
CREATE INDEX rm_pairs_mentee ON rm_pairs (mentee_id);

CREATE TABLE rm_sessions (
    session_id      text PRIMARY KEY,
    pair_id         text NOT NULL,
    cohort_id       text NOT NULL,
    starts_at       timestamptz,
    scheduled_at    timestamptz,
    cancelled_at    timestamptz,
    held_at         timestamptz,
    duration_minutes integer,
    topics_m2e      integer,
    topics_e2m      integer,
    action_items    integer
);
CREATE INDEX rm_sessions_pair ON rm_sessions (pair_id);
CREATE INDEX rm_sessions_cohort ON rm_sessions (cohort_id);

CREATE TABLE rm_goals (
    goal_id         text PRIMARY KEY,
    pair_id         text NOT NULL,
    cohort_id       text NOT NULL,
    owner_side      text,
    title           text,
    set_at          timestamptz,
    achieved_at     timestamptz,
    abandoned_at    timestamptz,
    last_rating     integer,
    rated_at        timestamptz
);
CREATE INDEX rm_goals_pair ON rm_goals (pair_id);

CREATE TABLE rm_feedback (
    feedback_id     text PRIMARY KEY,
    pair_id         text NOT NULL,
    cohort_id       text NOT NULL,
    kind            text NOT NULL,
    by_side         text NOT NULL,
    by_participant_id text NOT NULL,
    rating          integer,
    recommend_score integer,
    submitted_at    timestamptz NOT NULL
);
CREATE INDEX rm_feedback_pair ON rm_feedback (pair_id);

-- Risk signals as facts (one row per signal/resolution event); current state = latest per reason.
CREATE TABLE rm_risk_events (
    event_id        text PRIMARY KEY,
    pair_id         text NOT NULL,
    cohort_id       text NOT NULL,
    reason          text NOT NULL,
    signal          boolean NOT NULL,
    detail          text,
    at              timestamptz NOT NULL
);
CREATE INDEX rm_risk_events_pair ON rm_risk_events (pair_id, reason, at);

CREATE TABLE rm_notifications (
    notification_id text PRIMARY KEY,
    cohort_id       text,
    recipient_id    text NOT NULL,
    channel         text,
    kind            text,
    sent_at         timestamptz,
    failed_at       timestamptz,
    permanent       boolean,
    reason          text
);
CREATE INDEX rm_notifications_cohort ON rm_notifications (cohort_id);
CREATE INDEX rm_notifications_recipient ON rm_notifications (recipient_id);

-- Every pair-related event, for a pair's timeline (HR only).
CREATE TABLE rm_timeline (
    event_id        text PRIMARY KEY,
    pair_id         text NOT NULL,
    cohort_id       text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    event_type      text NOT NULL,
    summary         text NOT NULL,
    detail          jsonb NOT NULL
);
CREATE INDEX rm_timeline_pair ON rm_timeline (pair_id, occurred_at);
