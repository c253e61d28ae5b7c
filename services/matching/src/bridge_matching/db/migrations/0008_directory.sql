-- The company directory (issue 19): one entry per employee, kept from the identity provider (SCIM) and
-- from HRIS delta files. `record` is the DirectoryRecord as written (it reads back exactly); the columns
-- beside it are the record's fields that entries are looked up, filtered and joined by. Employee ids and
-- user names are unique case-insensitively, external ids exactly, among entries not deleted: a deleted
-- entry keeps its row (deleted_at) and frees its ids for a new entry.
CREATE TABLE directory_entries (
    id                  uuid PRIMARY KEY,
    seq                 bigint GENERATED ALWAYS AS IDENTITY,  -- creation order (SCIM lists by it)
    employee_id         text NOT NULL,
    user_name           text,
    external_id         text,
    display_name        text NOT NULL,
    email               text NOT NULL,
    department          text,
    manager_employee_id text,
    region              text,
    start_date          date,
    termination_date    date,
    active              boolean NOT NULL,
    record              jsonb NOT NULL,
    version             integer NOT NULL DEFAULT 1,
    source              text NOT NULL CHECK (source IN ('scim', 'hris_file', 'scheduler')),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    left_at             timestamptz,
    left_cause          text CHECK (left_cause IN ('deactivated', 'deleted', 'terminated')),
    deleted_at          timestamptz,
    CHECK ((left_at IS NULL) = (left_cause IS NULL))
);
CREATE UNIQUE INDEX directory_employee_ci ON directory_entries (lower(employee_id)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX directory_user_name_ci ON directory_entries (lower(user_name))
    WHERE deleted_at IS NULL AND user_name IS NOT NULL;
CREATE UNIQUE INDEX directory_external_id ON directory_entries (external_id)
    WHERE deleted_at IS NULL AND external_id IS NOT NULL;
-- Lists (SCIM by creation, HR by name), management chains below a person, the termination-date pass.
CREATE INDEX directory_created ON directory_entries (seq) WHERE deleted_at IS NULL;
CREATE INDEX directory_name ON directory_entries (lower(display_name), id) WHERE deleted_at IS NULL;
CREATE INDEX directory_manager_ci ON directory_entries (lower(manager_employee_id))
    WHERE deleted_at IS NULL AND left_at IS NULL;
CREATE INDEX directory_termination_due ON directory_entries (termination_date)
    WHERE deleted_at IS NULL AND left_at IS NULL AND termination_date IS NOT NULL;

-- A person's enrolments across cohorts, by employee id compared case-insensitively.
CREATE INDEX participants_employee_ci ON participants (lower(employee_id)) WHERE status = 'enrolled';

-- Formed pairs flagged to HR because they broke a hard rule after a person moved (never dissolved by
-- this): one row per pair, rule and state (a hash of the management chain that breaks it, no employee
-- id), so the same pair is flagged once for the same state.
CREATE TABLE pair_flags (
    pair_id         uuid NOT NULL REFERENCES pairs (id),
    rule            text NOT NULL CHECK (rule IN ('management_chain')),
    state           text NOT NULL,
    moved_person_id uuid NOT NULL REFERENCES directory_entries (id),
    flagged_at      timestamptz NOT NULL,
    PRIMARY KEY (pair_id, rule, state)
);
