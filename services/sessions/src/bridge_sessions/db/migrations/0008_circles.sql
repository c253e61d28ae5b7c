-- Issue 15: mentoring circles. matching forms them (com.bridge.matching.circle.formed.v1); sessions
-- runs them: the circle agreement, group sessions with one invite to every member, the activity and
-- its ideas, who taught what to whom, circle health and the end. Actors (drafted_by, scheduled_by,
-- ...) are participant ids here, never employee ids: only circle_members holds the employee id.

-- A circle, keyed by matching's circle_id (the key of every circle event). status as relationships:
-- forming (no agreement in force yet) -> active -> closed. anonymised_at: when retention anonymised
-- the long-closed circle (every member), as for relationships.
CREATE TABLE circles (
    id               text PRIMARY KEY,
    cohort_id        text NOT NULL,
    facilitator_id   text NOT NULL,
    language         text NOT NULL,
    weekly_slot      jsonb,
    status           text NOT NULL DEFAULT 'forming' CHECK (status IN ('forming', 'active', 'closed')),
    planned_end      date,
    hr_contact_email text,
    started_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    outcome          text CHECK (outcome IN ('completed', 'ended_early')),
    close_reason     text,
    closed_by        text,
    anonymised_at    timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX circles_cohort ON circles (cohort_id);
CREATE INDEX circles_open ON circles (status) WHERE status <> 'closed';
CREATE INDEX circles_closed_at ON circles (closed_at) WHERE status = 'closed';

-- Its members as circle.formed named them (position = that order). An erased member keeps the row
-- (participant id, zone, region, generation: pseudonymous, for the circle's figures) with placeholders
-- for name, e-mail and employee id, and erased_at set: no longer addressed, counted or a member.
CREATE TABLE circle_members (
    circle_id      text NOT NULL REFERENCES circles (id),
    participant_id text NOT NULL,
    position       integer NOT NULL,
    employee_id    text NOT NULL,
    display_name   text NOT NULL,
    email          text NOT NULL,
    region         text NOT NULL,
    generation     text NOT NULL CHECK (generation IN ('junior', 'senior', 'other')),
    timezone       text NOT NULL,
    locale         text NOT NULL,
    erased_at      timestamptz,
    PRIMARY KEY (circle_id, participant_id)
);
CREATE INDEX circle_members_participant ON circle_members (participant_id);
CREATE INDEX circle_members_employee ON circle_members (employee_id);
CREATE INDEX circle_members_region ON circle_members (region);

-- The circle agreement, versioned as the pair agreement is: 'draft' until every member confirmed,
-- then 'active' (the version in force until then becomes 'superseded').
CREATE TABLE circle_agreements (
    circle_id           text NOT NULL REFERENCES circles (id),
    version             integer NOT NULL CHECK (version >= 1),
    status              text NOT NULL CHECK (status IN ('draft', 'active', 'superseded', 'withdrawn')),
    shared_goals        jsonb NOT NULL,
    cadence_days        integer NOT NULL CHECK (cadence_days BETWEEN 1 AND 90),
    rules_of_engagement text,
    end_date            date NOT NULL,
    drafted_by          text NOT NULL,
    drafted_at          timestamptz NOT NULL,
    activated_at        timestamptz,
    PRIMARY KEY (circle_id, version)
);
CREATE UNIQUE INDEX circle_agreements_one_active ON circle_agreements (circle_id) WHERE status = 'active';
CREATE UNIQUE INDEX circle_agreements_one_draft ON circle_agreements (circle_id) WHERE status = 'draft';

-- Per version and member: their personal goal and when they confirmed the version.
CREATE TABLE circle_agreement_members (
    circle_id      text NOT NULL,
    version        integer NOT NULL,
    participant_id text NOT NULL,
    personal_goal  text,
    confirmed_at   timestamptz,
    PRIMARY KEY (circle_id, version, participant_id),
    FOREIGN KEY (circle_id, version) REFERENCES circle_agreements (circle_id, version)
);

-- Group sessions: one calendar invite (UID for life, SEQUENCE raised by every change) to every member.
CREATE TABLE circle_sessions (
    id               uuid PRIMARY KEY,
    circle_id        text NOT NULL REFERENCES circles (id),
    status           text NOT NULL CHECK (status IN ('scheduled', 'held', 'cancelled')),
    starts_at        timestamptz NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 15 AND 480),
    location         text,
    activity_id      text,
    ical_uid         text NOT NULL UNIQUE,
    ical_sequence    integer NOT NULL DEFAULT 0,
    scheduled_by     text NOT NULL,
    cancelled_by     text,
    cancel_reason    text,
    cancelled_at     timestamptz,
    held_at          timestamptz,
    recorded_by      text,
    logged           boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX circle_sessions_circle ON circle_sessions (circle_id, starts_at);
CREATE INDEX circle_sessions_held ON circle_sessions (circle_id, held_at DESC) WHERE status = 'held';

-- Attendance of a held session: one row per member at the time, present or not (the rate's base).
CREATE TABLE circle_attendance (
    session_id     uuid NOT NULL REFERENCES circle_sessions (id),
    participant_id text NOT NULL,
    present        boolean NOT NULL,
    PRIMARY KEY (session_id, participant_id)
);

-- The activity's outcome: ideas, each attributed to the member who brought it.
CREATE TABLE circle_ideas (
    id             bigserial PRIMARY KEY,
    session_id     uuid NOT NULL REFERENCES circle_sessions (id),
    position       integer NOT NULL,
    participant_id text NOT NULL,
    text           text NOT NULL,
    UNIQUE (session_id, position)
);

-- The learning record: who taught what to whom, with both generations at the time.
CREATE TABLE circle_learning (
    id              bigserial PRIMARY KEY,
    session_id      uuid NOT NULL REFERENCES circle_sessions (id),
    position        integer NOT NULL,
    from_id         text NOT NULL,
    to_id           text NOT NULL,
    from_generation text NOT NULL CHECK (from_generation IN ('junior', 'senior', 'other')),
    to_generation   text NOT NULL CHECK (to_generation IN ('junior', 'senior', 'other')),
    topic           text NOT NULL,
    UNIQUE (session_id, position),
    CHECK (from_id <> to_id)
);

-- Circle health, as health_signals: at most one open row per (circle, reason), the row that makes
-- "signal once when it starts" hold across ticks, restarts and instances. escalate_at: when the
-- facilitator's nudge becomes HR's.
CREATE TABLE circle_health_signals (
    id          bigserial PRIMARY KEY,
    circle_id   text NOT NULL REFERENCES circles (id),
    reason      text NOT NULL CHECK (reason IN ('falling_attendance', 'dominant_voice', 'inactive')),
    detail      text NOT NULL,
    detected_at timestamptz NOT NULL,
    escalate_at timestamptz NOT NULL,
    resolved_at timestamptz
);
CREATE UNIQUE INDEX circle_health_signals_open ON circle_health_signals (circle_id, reason)
    WHERE resolved_at IS NULL;
