-- Who the participants are (for invites) and how a relationship ended.
ALTER TABLE relationships
    ADD COLUMN mentor_email text,
    ADD COLUMN mentee_email text,
    ADD COLUMN closed_at    timestamptz,
    ADD COLUMN outcome      text CHECK (outcome IN ('completed', 'ended_early')),
    ADD COLUMN close_reason text,
    ADD COLUMN closed_by    text;
CREATE INDEX relationships_open ON relationships (status) WHERE status <> 'closed';

-- What sessions learns from matching's cohort.created: the cohort's inactivity threshold.
CREATE TABLE cohorts (
    cohort_id                 text PRIMARY KEY,
    name                      text NOT NULL,
    regions                   text[] NOT NULL DEFAULT '{}',
    inactivity_threshold_days integer NOT NULL,
    programme_end             date,
    updated_at                timestamptz NOT NULL DEFAULT now()
);

-- Versioned agreements. A version is 'draft' until both sides confirm, then 'active'; the
-- previously active version becomes 'superseded' at that moment (it stays in force until then).
CREATE TABLE agreements (
    relationship_id     uuid NOT NULL REFERENCES relationships (id),
    version             integer NOT NULL CHECK (version >= 1),
    status              text NOT NULL CHECK (status IN ('draft', 'active', 'superseded', 'withdrawn')),
    drafted_by          text NOT NULL,
    mentor_learning     jsonb NOT NULL,
    mentee_learning     jsonb NOT NULL,
    cadence_days        integer NOT NULL CHECK (cadence_days BETWEEN 1 AND 180),
    meeting_mode        text NOT NULL,
    meeting_place       text,
    rules_of_engagement jsonb NOT NULL DEFAULT '[]',
    start_date          date NOT NULL,
    end_date            date NOT NULL CHECK (end_date > start_date),
    mentor_confirmed_at timestamptz,
    mentee_confirmed_at timestamptz,
    drafted_at          timestamptz NOT NULL,
    activated_at        timestamptz,
    PRIMARY KEY (relationship_id, version)
);
CREATE UNIQUE INDEX agreements_one_active ON agreements (relationship_id) WHERE status = 'active';
CREATE UNIQUE INDEX agreements_one_draft ON agreements (relationship_id) WHERE status = 'draft';

CREATE TABLE sessions (
    id                      uuid PRIMARY KEY,
    relationship_id         uuid NOT NULL REFERENCES relationships (id),
    status                  text NOT NULL CHECK (status IN ('scheduled', 'held', 'cancelled')),
    starts_at               timestamptz NOT NULL,
    duration_minutes        integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    location                text,
    ical_uid                text NOT NULL UNIQUE,
    ical_sequence           integer NOT NULL DEFAULT 0,
    scheduled_by            text NOT NULL,
    cancelled_by            text,
    cancel_reason           text,
    cancelled_at            timestamptz,
    held_at                 timestamptz,
    actual_duration_minutes integer,
    topics                  jsonb NOT NULL DEFAULT '[]',
    shared_notes            text,
    action_items            jsonb NOT NULL DEFAULT '[]',
    recorded_by             text,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL
);
CREATE INDEX sessions_relationship ON sessions (relationship_id, starts_at);
CREATE INDEX sessions_held ON sessions (relationship_id, held_at DESC) WHERE status = 'held';

-- Private notes: readable and writable only by their author (an employee id).
CREATE TABLE session_private_notes (
    session_id  uuid NOT NULL REFERENCES sessions (id),
    author_id   text NOT NULL,
    body        text NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (session_id, author_id)
);

CREATE TABLE goals (
    id                   uuid PRIMARY KEY,
    relationship_id      uuid NOT NULL REFERENCES relationships (id),
    owner_side           text NOT NULL CHECK (owner_side IN ('mentor', 'mentee')),
    owner_participant_id text NOT NULL,
    title                text NOT NULL,
    description          text,
    success_measure      text,
    status               text NOT NULL CHECK (status IN ('open', 'achieved', 'abandoned')),
    created_at           timestamptz NOT NULL,
    closed_at            timestamptz,
    close_note           text
);
CREATE INDEX goals_relationship ON goals (relationship_id);

CREATE TABLE goal_checkins (
    id         uuid PRIMARY KEY,
    goal_id    uuid NOT NULL REFERENCES goals (id),
    rating     integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    note       text,
    at         timestamptz NOT NULL
);
CREATE INDEX goal_checkins_goal ON goal_checkins (goal_id, at);

CREATE TABLE feedback (
    id               uuid PRIMARY KEY,
    relationship_id  uuid NOT NULL REFERENCES relationships (id),
    kind             text NOT NULL CHECK (kind IN ('pulse', 'midpoint', 'closing')),
    by_side          text NOT NULL CHECK (by_side IN ('mentor', 'mentee')),
    by_participant_id text NOT NULL,
    session_id       uuid REFERENCES sessions (id),
    rating           integer CHECK (rating BETWEEN 1 AND 5),
    recommend_score  integer CHECK (recommend_score BETWEEN 0 AND 10),
    comment          text,
    learned          text,
    taught           text,
    submitted_at     timestamptz NOT NULL,
    CHECK ((kind = 'pulse') = (session_id IS NOT NULL))
);
CREATE UNIQUE INDEX feedback_one_pulse ON feedback (session_id, by_side) WHERE kind = 'pulse';
CREATE UNIQUE INDEX feedback_one_survey ON feedback (relationship_id, kind, by_side) WHERE kind <> 'pulse';

-- Health conditions. At most one open row per (relationship, reason): that unique row is what
-- makes "signal once when it starts" hold across ticks, restarts and concurrent instances.
-- ending_soon is signalled at most once per relationship and never resolved.
CREATE TABLE health_signals (
    id              bigserial PRIMARY KEY,
    relationship_id uuid NOT NULL REFERENCES relationships (id),
    reason          text NOT NULL CHECK (reason IN ('inactive', 'cadence_slipping', 'one_directional',
                                                    'ending_soon')),
    detail          text NOT NULL,
    detected_at     timestamptz NOT NULL,
    resolved_at     timestamptz
);
CREATE UNIQUE INDEX health_signals_open ON health_signals (relationship_id, reason) WHERE resolved_at IS NULL;
CREATE UNIQUE INDEX health_signals_ending_once ON health_signals (relationship_id) WHERE reason = 'ending_soon';
