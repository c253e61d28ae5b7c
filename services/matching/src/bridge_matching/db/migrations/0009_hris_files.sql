-- HRIS delta files taken from the inbox folder (app/hris_sync.py): one row per delivery, a delivery
-- being a file name with its content (SHA-256), so the same file polled again, or delivered again
-- with the same content, is not applied twice, while a changed file under the same name is a new
-- delivery. The row is claimed by a unique insert; the file's valid rows are then written in
-- batches, each batch's transaction also advancing rows_done, so a poll that takes over a delivery
-- left 'processing' (its poll stopped) resumes after the rows already written, each row written once.
CREATE TABLE hris_files (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
    modified_at timestamptz NOT NULL,                 -- the file's modification time when read
    status      text NOT NULL CHECK (status IN ('processing', 'processed', 'failed')),
    error       text,                                 -- why a failed delivery stopped
    report      jsonb,                                -- counts and rejected rows, once finished
    rows_done   integer NOT NULL DEFAULT 0 CHECK (rows_done >= 0),  -- valid rows written, in file order
    progress    jsonb NOT NULL DEFAULT '{}'::jsonb,   -- the written batches' counts and refused rows
    owner       text NOT NULL,                        -- the poll that processes (or processed) it
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    CONSTRAINT hris_files_delivery UNIQUE (name, sha256),
    CONSTRAINT hris_files_outcome CHECK (
        (status = 'processing' AND finished_at IS NULL AND error IS NULL AND report IS NULL)
        OR (status = 'processed' AND finished_at IS NOT NULL AND error IS NULL AND report IS NOT NULL)
        OR (status = 'failed' AND finished_at IS NOT NULL AND error IS NOT NULL))
);
-- GET /hris/files: newest first.
CREATE INDEX hris_files_newest ON hris_files (started_at DESC, id DESC);
