-- The company directory under the privacy rules (docs/privacy.md): an erasure deletes the person's
-- entries, the retention job purges leavers' and deleted entries and clears HRIS delivery reports.

-- A pair flag outlives the entry of the person whose move raised it: it only stops the same formed
-- pair being flagged twice for the same chain, so when that entry is purged or erased the mover
-- becomes unknown rather than the flag going (or the purge failing).
ALTER TABLE pair_flags ALTER COLUMN moved_person_id DROP NOT NULL;
ALTER TABLE pair_flags DROP CONSTRAINT pair_flags_moved_person_id_fkey;
ALTER TABLE pair_flags ADD CONSTRAINT pair_flags_moved_person_id_fkey
    FOREIGN KEY (moved_person_id) REFERENCES directory_entries (id) ON DELETE SET NULL;
CREATE INDEX pair_flags_moved_person ON pair_flags (moved_person_id) WHERE moved_person_id IS NOT NULL;

-- What the retention job purges: leavers by when they left, deleted entries by when they were deleted.
CREATE INDEX directory_left ON directory_entries (left_at) WHERE deleted_at IS NULL AND left_at IS NOT NULL;
CREATE INDEX directory_deleted ON directory_entries (deleted_at) WHERE deleted_at IS NOT NULL;
-- What an erasure finds: every entry of the person (deleted ones keep their record until purged) and
-- every entry that names them as manager, by employee id compared case-insensitively.
CREATE INDEX directory_employee_any_ci ON directory_entries (lower(employee_id));
CREATE INDEX directory_manager_any_ci ON directory_entries (lower(manager_employee_id))
    WHERE manager_employee_id IS NOT NULL;

-- An HRIS delivery's report is cleared (rejected rows, progress, failure reason: they name people)
-- after retention_hris_reports_days; the delivery's row stays with its counts, so the same file is
-- still never applied twice.
ALTER TABLE hris_files ADD COLUMN cleared_at timestamptz;
CREATE INDEX hris_files_to_clear ON hris_files (finished_at)
    WHERE cleared_at IS NULL AND finished_at IS NOT NULL;
