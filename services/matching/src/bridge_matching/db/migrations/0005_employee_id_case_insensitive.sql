-- Employee ids are compared case-insensitively: `a1` and `A1` are one person in a cohort. The id is
-- kept as HR first wrote it; uniqueness (and the upserts' ON CONFLICT) is on lower(employee_id).
-- A cohort that already holds two spellings of one id stops the migration with their names: the two
-- are one person, so an operator erases the extra row (or corrects its id) before the service starts.
DO $$
DECLARE
    dup record;
BEGIN
    SELECT cohort_id, string_agg(employee_id, ', ' ORDER BY employee_id) AS ids
      INTO dup
      FROM participants
     GROUP BY cohort_id, lower(employee_id)
    HAVING count(*) > 1
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cohort % has employee ids that differ only in case: %; keep one of them',
            dup.cohort_id, dup.ids;
    END IF;
END
$$;

CREATE UNIQUE INDEX participants_cohort_employee_ci ON participants (cohort_id, lower(employee_id));
ALTER TABLE participants DROP CONSTRAINT participants_cohort_id_employee_id_key;
