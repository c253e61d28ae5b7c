-- Matching runs say where they came from: 'hr' (POST /cohorts/{id}/matching-runs) or 'auto_rematch'
-- (queued by a decline or an expiry in a cohort whose policy has auto_rematch on), with a reason in
-- words (ids only, never names). Each failed attempt of a run is kept in failed_attempts (attempt,
-- stage, error, transient, at, retry_in_seconds): transient failures are retried with backoff.
ALTER TABLE matching_runs
    ADD COLUMN origin          text NOT NULL DEFAULT 'hr' CHECK (origin IN ('hr', 'auto_rematch')),
    ADD COLUMN reason          text,
    ADD COLUMN failed_attempts jsonb NOT NULL DEFAULT '[]'::jsonb;
