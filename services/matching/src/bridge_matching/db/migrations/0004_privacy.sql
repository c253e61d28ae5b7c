-- Privacy (docs/privacy.md): the erasure ledger, the other services' answers, data exports.

-- One row per erased person. Only a keyed hash of the employee id (HMAC-SHA256 with
-- settings.privacy_pepper) is kept, never the id, name or e-mail: enough to answer a repeated request
-- idempotently and to refuse re-enrolling an erased person, not enough to tell who it was.
CREATE TABLE erasures (
    id                    uuid PRIMARY KEY,
    subject_hash          text NOT NULL UNIQUE CHECK (subject_hash ~ '^[0-9a-f]{64}$'),
    participant_ids       uuid[] NOT NULL,
    cohort_ids            uuid[] NOT NULL,
    requested_at          timestamptz NOT NULL,
    requested_by          text NOT NULL,  -- who asked (the HR or privacy officer's token subject)
    matching_completed_at timestamptz,
    matching_erased       jsonb NOT NULL DEFAULT '{}'::jsonb,
    completed_at          timestamptz
);
CREATE INDEX erasures_requested ON erasures (requested_at, id);

-- Each answering service's confirmation (<Svc>ErasureCompletedV1).
CREATE TABLE erasure_answers (
    erasure_id   uuid NOT NULL REFERENCES erasures (id),
    service      text NOT NULL,
    completed_at timestamptz NOT NULL,
    erased       jsonb NOT NULL DEFAULT '{}'::jsonb,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (erasure_id, service)
);

-- A data export (Art. 15/20): matching's own section computed at request time, the others' parts as
-- they arrive. Personal data: deleted when the person is erased and after retention_exports_days.
CREATE TABLE exports (
    id               uuid PRIMARY KEY,
    subject_hash     text NOT NULL CHECK (subject_hash ~ '^[0-9a-f]{64}$'),
    participant_ids  uuid[] NOT NULL,
    person           jsonb NOT NULL,
    matching_section jsonb NOT NULL,
    requested_at     timestamptz NOT NULL
);
CREATE INDEX exports_subject ON exports (subject_hash);
CREATE INDEX exports_requested ON exports (requested_at);

CREATE TABLE export_parts (
    export_id   uuid NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
    service     text NOT NULL,
    chunk       integer NOT NULL CHECK (chunk >= 1),
    chunks      integer NOT NULL CHECK (chunks >= 1),
    data        jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (export_id, service, chunk)
);

-- Retention: withdrawn participants are anonymised a while after they left; import reports cleared.
CREATE INDEX participants_withdrawn ON participants (withdrawn_at) WHERE status = 'withdrawn';
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX import_jobs_finished ON import_jobs (finished_at) WHERE report IS NOT NULL OR error IS NOT NULL;
