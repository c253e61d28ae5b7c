-- Imports and matching runs are background jobs with a lease: the instance running a job renews
-- lease_expires_at; a job still 'running' after its lease expired lost its owner and is claimed again.
ALTER TABLE import_jobs
    ADD COLUMN source           text,          -- the uploaded CSV, kept until the job finishes
    ADD COLUMN lease_owner      text,
    ADD COLUMN lease_expires_at timestamptz,
    ADD COLUMN attempts         integer NOT NULL DEFAULT 0;

ALTER TABLE matching_runs
    ADD COLUMN lease_owner      text,
    ADD COLUMN lease_expires_at timestamptz,
    ADD COLUMN attempts         integer NOT NULL DEFAULT 0,
    ADD COLUMN error            text,
    ADD COLUMN finished_at      timestamptz,
    ADD CONSTRAINT matching_runs_status
        CHECK (status IN ('queued', 'running', 'draft', 'failed', 'published', 'superseded'));
-- At most one queued or running run per cohort.
CREATE UNIQUE INDEX matching_runs_one_active ON matching_runs (cohort_id) WHERE status IN ('queued', 'running');
CREATE INDEX matching_runs_active ON matching_runs (lease_expires_at) WHERE status IN ('queued', 'running');
CREATE INDEX import_jobs_active ON import_jobs (lease_expires_at) WHERE status IN ('queued', 'running');
