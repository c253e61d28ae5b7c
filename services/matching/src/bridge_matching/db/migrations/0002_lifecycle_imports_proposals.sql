-- Cohort lifecycle, taxonomy; participant withdrawal; HRIS imports; draft review; proposals; audit.
ALTER TABLE cohorts
    ADD COLUMN skill_taxonomy   text[] NOT NULL DEFAULT '{}',
    ADD COLUMN phase_changed_at timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT cohorts_phase CHECK (phase IN ('draft', 'enrolling', 'matching', 'active', 'closing',
                                                  'closed'));

ALTER TABLE participants
    ADD COLUMN withdrawn_at     timestamptz,
    ADD COLUMN withdrawn_reason text;
CREATE INDEX participants_employee ON participants (employee_id);

-- HRIS imports run as jobs; the report holds accepted/rejected counts and the rejected rows.
CREATE TABLE import_jobs (
    id          uuid PRIMARY KEY,
    cohort_id   uuid NOT NULL REFERENCES cohorts (id),
    status      text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    total       integer NOT NULL DEFAULT 0,
    processed   integer NOT NULL DEFAULT 0,
    report      jsonb,
    error       text,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX import_jobs_cohort ON import_jobs (cohort_id);

-- Runs are drafts until HR publishes them; at most one open draft per cohort.
ALTER TABLE matching_runs
    ADD COLUMN published_at timestamptz,
    ADD COLUMN published_by text,
    ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now();
ALTER TABLE matching_runs ALTER COLUMN status SET DEFAULT 'draft';
UPDATE matching_runs SET status = 'published' WHERE status = 'completed';
CREATE UNIQUE INDEX matching_runs_one_draft ON matching_runs (cohort_id) WHERE status = 'draft';

CREATE TABLE draft_pairs (
    id          uuid PRIMARY KEY,
    run_id      uuid NOT NULL REFERENCES matching_runs (id),
    mentor_id   uuid NOT NULL REFERENCES participants (id),
    mentee_id   uuid NOT NULL REFERENCES participants (id),
    score       double precision NOT NULL,
    breakdown   jsonb NOT NULL,
    explanation text NOT NULL,
    violations  text[] NOT NULL DEFAULT '{}',
    pinned      boolean NOT NULL DEFAULT false,
    removed     boolean NOT NULL DEFAULT false,
    origin      text NOT NULL DEFAULT 'matched'
);
CREATE INDEX draft_pairs_run ON draft_pairs (run_id);

-- A proposal asks both sides; when both accept it becomes a pair.
CREATE TABLE proposals (
    id                 uuid PRIMARY KEY,
    cohort_id          uuid NOT NULL REFERENCES cohorts (id),
    run_id             uuid REFERENCES matching_runs (id),
    source             text NOT NULL CHECK (source IN ('matching_run', 'participant_request')),
    requested_by       uuid REFERENCES participants (id),
    mentor_id          uuid NOT NULL REFERENCES participants (id),
    mentee_id          uuid NOT NULL REFERENCES participants (id),
    score              double precision NOT NULL,
    breakdown          jsonb NOT NULL,
    explanation        text NOT NULL,
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'cancelled')),
    mentor_response    text CHECK (mentor_response IN ('accepted', 'declined')),
    mentee_response    text CHECK (mentee_response IN ('accepted', 'declined')),
    mentor_responded_at timestamptz,
    mentee_responded_at timestamptz,
    decline_reason     text,
    declined_by        uuid REFERENCES participants (id),
    expires_at         timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    resolved_at        timestamptz,
    pair_id            uuid
);
CREATE INDEX proposals_cohort ON proposals (cohort_id, status);
CREATE INDEX proposals_mentor ON proposals (mentor_id);
CREATE INDEX proposals_mentee ON proposals (mentee_id);
CREATE INDEX proposals_pending_expiry ON proposals (expires_at) WHERE status = 'pending';

ALTER TABLE pairs
    ADD COLUMN proposal_id      uuid REFERENCES proposals (id),
    ADD COLUMN origin           text NOT NULL DEFAULT 'matching_run',
    ADD COLUMN formed_at        timestamptz,
    ADD COLUMN dissolved_at     timestamptz,
    ADD COLUMN dissolved_reason text,
    ADD COLUMN dissolved_by     text;
UPDATE pairs SET formed_at = created_at WHERE formed_at IS NULL;
CREATE INDEX pairs_mentor ON pairs (mentor_id);
CREATE INDEX pairs_mentee ON pairs (mentee_id);

-- Every HR intervention (review edits, overrides) with who, why and what.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    cohort_id  uuid NOT NULL REFERENCES cohorts (id),
    actor      text NOT NULL,
    action     text NOT NULL,
    reason     text,
    details    jsonb NOT NULL DEFAULT '{}'::jsonb,
    at         timestamptz NOT NULL
);
CREATE INDEX audit_log_cohort ON audit_log (cohort_id, id);
