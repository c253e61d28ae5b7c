-- Both people's home regions, for the one region rule (docs/access.md): a relationship is visible to
-- regional HR when at least one of its two people is in scope. `region` (the mentee's, as before)
-- stays for compatibility.
ALTER TABLE relationships ADD COLUMN mentor_region text, ADD COLUMN mentee_region text;
-- Backfill: `region` has always been the mentee's; the mentor's is certain only in a single-region
-- cohort. Elsewhere it stays unknown (NULL) and the relationship is scoped by the mentee alone, as
-- before; relationships opened from now on carry both from pair.formed (ParticipantRef.region).
UPDATE relationships SET mentee_region = region WHERE mentee_region IS NULL;
UPDATE relationships r SET mentor_region = c.regions[1]
  FROM cohorts c
 WHERE c.cohort_id = r.cohort_id AND cardinality(c.regions) = 1 AND r.mentor_region IS NULL;
CREATE INDEX relationships_mentor_region ON relationships (mentor_region);
CREATE INDEX relationships_mentee_region ON relationships (mentee_region);
