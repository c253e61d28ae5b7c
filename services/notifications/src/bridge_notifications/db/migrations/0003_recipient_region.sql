-- The recipient's home region, for the one region rule (docs/access.md): regional HR sees the
-- preferences and delivery-log rows of people whose home region is one of theirs.
ALTER TABLE recipients ADD COLUMN region text;
-- Backfill what is certain: everyone in a single-region cohort lives in that region. Recipients of
-- mixed-region cohorts get theirs from the next participant or match event that names them (until
-- then only hr_admin and service see their rows).
UPDATE recipients r SET region = c.regions[1]
  FROM cohorts c
 WHERE c.cohort_id = r.cohort_id AND cardinality(c.regions) = 1 AND r.region IS NULL;
CREATE INDEX recipients_region ON recipients (region);
