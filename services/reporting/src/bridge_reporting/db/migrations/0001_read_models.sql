CREATE TABLE rm_cohorts (
    cohort_id   text PRIMARY KEY,
    name        text NOT NULL,
    regions     text[] NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE rm_participants (
    participant_id  text PRIMARY KEY,
    cohort_id       text NOT NULL,
    role            text NOT NULL,
    region          text NOT NULL,
    department      text NOT NULL,
    seniority_level integer NOT NULL,
    status          text NOT NULL DEFAULT 'enrolled',
    enrolled_at     timestamptz NOT NULL
);
CREATE INDEX rm_participants_cohort ON rm_participants (cohort_id);

CREATE TABLE rm_pairs (
    pair_id     text PRIMARY KEY,
    cohort_id   text NOT NULL,
    mentor_id   text NOT NULL,
    mentee_id   text NOT NULL,
    region      text NOT NULL,
    status      text NOT NULL DEFAULT 'active',
    formed_at   timestamptz NOT NULL
);
CREATE INDEX rm_pairs_cohort ON rm_pairs (cohort_id);
