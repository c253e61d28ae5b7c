CREATE TABLE cohorts (
    id                uuid PRIMARY KEY,
    name              text NOT NULL,
    regions           text[] NOT NULL,
    hr_contact_email  text NOT NULL,
    enrolment_opens   date,
    enrolment_closes  date,
    matching_date     date,
    programme_start   date,
    programme_end     date,
    phase             text NOT NULL DEFAULT 'draft',
    policy            jsonb NOT NULL DEFAULT '{}'::jsonb,
    inactivity_threshold_days integer NOT NULL DEFAULT 21,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE participants (
    id                  uuid PRIMARY KEY,
    cohort_id           uuid NOT NULL REFERENCES cohorts (id),
    employee_id         text NOT NULL,
    role                text NOT NULL CHECK (role IN ('mentor', 'mentee', 'either')),
    display_name        text NOT NULL,
    email               text NOT NULL,
    seniority_level     integer NOT NULL,
    department          text NOT NULL,
    manager_employee_id text,
    region              text NOT NULL,
    languages           text[] NOT NULL,
    timezone            text NOT NULL,
    locale              text NOT NULL DEFAULT 'en',
    availability        jsonb NOT NULL DEFAULT '[]'::jsonb,
    skills_to_share     text[] NOT NULL DEFAULT '{}',
    skills_to_learn     text[] NOT NULL DEFAULT '{}',
    meeting_preference  text NOT NULL DEFAULT 'either',
    capacity            integer NOT NULL DEFAULT 1,
    requested_partners  text[] NOT NULL DEFAULT '{}',
    blocked_partners    text[] NOT NULL DEFAULT '{}',
    status              text NOT NULL DEFAULT 'enrolled' CHECK (status IN ('enrolled', 'withdrawn')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cohort_id, employee_id)
);
CREATE INDEX participants_cohort ON participants (cohort_id) WHERE status = 'enrolled';

CREATE TABLE matching_runs (
    id          uuid PRIMARY KEY,
    cohort_id   uuid NOT NULL REFERENCES cohorts (id),
    status      text NOT NULL,
    stats       jsonb NOT NULL DEFAULT '{}'::jsonb,
    unmatched   jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pairs (
    id            uuid PRIMARY KEY,
    cohort_id     uuid NOT NULL REFERENCES cohorts (id),
    run_id        uuid REFERENCES matching_runs (id),
    mentor_id     uuid NOT NULL REFERENCES participants (id),
    mentee_id     uuid NOT NULL REFERENCES participants (id),
    score         double precision NOT NULL,
    breakdown     jsonb NOT NULL,
    explanation   text NOT NULL,
    status        text NOT NULL DEFAULT 'formed',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pairs_cohort ON pairs (cohort_id);
