-- Issue 15: mentoring circles, from matching's circle events (bridge.matching.circle) and sessions'
-- (bridge.sessions.circle). Ids, attributes and counts only: no names, no ideas' or topics' words
-- (they travel sealed and are not needed for any figure).
--
-- A circle: when it was proposed, formed (every member accepted), started, closed or dissolved.
CREATE TABLE rm_circles (
    circle_id      text PRIMARY KEY,
    cohort_id      text NOT NULL,
    facilitator_id text,
    member_count   integer,
    proposed_at    timestamptz,
    formed_at      timestamptz,
    started_at     timestamptz,
    closed_at      timestamptz,
    dissolved_at   timestamptz,
    outcome        text
);
CREATE INDEX rm_circles_cohort ON rm_circles (cohort_id);

-- Its members as circle.formed describes them (region, department, seniority band as reporting
-- defines it, and the generation under the cohort's policy): what circle figures are attributed to.
CREATE TABLE rm_circle_members (
    circle_id       text NOT NULL,
    participant_id  text NOT NULL,
    cohort_id       text NOT NULL,
    region          text,
    department      text,
    band            text,
    generation      text,
    seniority_level integer,
    facilitator     boolean,
    joined_at       timestamptz,
    PRIMARY KEY (circle_id, participant_id)
);
CREATE INDEX rm_circle_members_participant ON rm_circle_members (participant_id);

-- Group sessions: scheduled, moved, cancelled, held (with how many members, attended, ideas and
-- learning flows, and sessions' running exchange index of the circle).
CREATE TABLE rm_circle_sessions (
    session_id     text PRIMARY KEY,
    circle_id      text NOT NULL,
    cohort_id      text NOT NULL,
    starts_at      timestamptz,
    scheduled_at   timestamptz,
    cancelled_at   timestamptz,
    held_at        timestamptz,
    activity_id    text,
    members        integer,
    attended       integer,
    ideas          integer,
    learning_flows integer,
    exchange_index float8
);
CREATE INDEX rm_circle_sessions_circle ON rm_circle_sessions (circle_id);

-- Attendance as facts: one row per member of a held session (insert-only).
CREATE TABLE rm_circle_attendance (
    session_id     text NOT NULL,
    participant_id text NOT NULL,
    circle_id      text NOT NULL,
    cohort_id      text NOT NULL,
    attended       boolean NOT NULL,
    held_at        timestamptz NOT NULL,
    PRIMARY KEY (session_id, participant_id)
);
CREATE INDEX rm_circle_attendance_circle ON rm_circle_attendance (circle_id, participant_id);

-- Who taught whom in a held session, by generation (insert-only; `seq` = the flow's place in the
-- event): direction junior_to_senior, senior_to_junior or other. No topic.
CREATE TABLE rm_circle_learning (
    session_id      text NOT NULL,
    seq             integer NOT NULL,
    circle_id       text NOT NULL,
    cohort_id       text NOT NULL,
    from_id         text NOT NULL,
    to_id           text NOT NULL,
    from_generation text,
    to_generation   text,
    direction       text NOT NULL CHECK (direction IN ('junior_to_senior', 'senior_to_junior', 'other')),
    held_at         timestamptz NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX rm_circle_learning_circle ON rm_circle_learning (circle_id, to_id);
