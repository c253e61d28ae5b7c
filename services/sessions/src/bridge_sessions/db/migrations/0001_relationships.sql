CREATE TABLE relationships (
    id               uuid PRIMARY KEY,
    pair_id          text NOT NULL UNIQUE,
    cohort_id        text NOT NULL,
    mentor_id        text NOT NULL,
    mentor_employee_id text NOT NULL,
    mentor_name      text NOT NULL,
    mentor_timezone  text NOT NULL,
    mentee_id        text NOT NULL,
    mentee_employee_id text NOT NULL,
    mentee_name      text NOT NULL,
    mentee_timezone  text NOT NULL,
    region           text NOT NULL,
    status           text NOT NULL DEFAULT 'forming',
    planned_end      date,
    hr_contact_email text,
    started_at       timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX relationships_cohort ON relationships (cohort_id);
CREATE INDEX relationships_mentor ON relationships (mentor_employee_id);
CREATE INDEX relationships_mentee ON relationships (mentee_employee_id);
