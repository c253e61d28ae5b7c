-- Issue 16.
-- The mid-point survey opens at the midpoint of the agreement in force (or of the relationship's
-- start and planned end) and is announced once per relationship (com.bridge.sessions.survey.opened.v1):
-- a 'midpoint_survey' row, never resolved, at most one per relationship, is that "once", as the
-- ending_soon row was.
ALTER TABLE health_signals DROP CONSTRAINT health_signals_reason_check;
ALTER TABLE health_signals ADD CONSTRAINT health_signals_reason_check
    CHECK (reason IN ('inactive', 'cadence_slipping', 'one_directional', 'ending_soon', 'midpoint_survey'));
CREATE UNIQUE INDEX health_signals_midpoint_once ON health_signals (relationship_id)
    WHERE reason = 'midpoint_survey';

-- relationship.ending_soon is signalled once per relationship *and end date*: when an amendment moves
-- the end date, the new date is announced in its turn (and the old one, no longer the end, never
-- again). end_date is the date a row announced; rows from before take it from their detail
-- ("ends on YYYY-MM-DD (...)"), else from the relationship's end date now.
ALTER TABLE health_signals ADD COLUMN end_date date;
UPDATE health_signals h
   SET end_date = coalesce(substring(h.detail FROM '^ends on ([0-9]{4}-[0-9]{2}-[0-9]{2})')::date,
                           r.planned_end)
  FROM relationships r
 WHERE r.id = h.relationship_id AND h.reason = 'ending_soon';
ALTER TABLE health_signals ADD CONSTRAINT health_signals_ending_soon_has_end_date
    CHECK (reason <> 'ending_soon' OR end_date IS NOT NULL);
DROP INDEX health_signals_ending_once;
-- The notices are never resolved, so "one open row per (relationship, reason)" is for the risks only
-- (it would otherwise hold a relationship to one ending_soon ever).
DROP INDEX health_signals_open;
CREATE UNIQUE INDEX health_signals_open ON health_signals (relationship_id, reason)
    WHERE resolved_at IS NULL AND reason NOT IN ('ending_soon', 'midpoint_survey');
CREATE UNIQUE INDEX health_signals_ending_once_per_end_date ON health_signals (relationship_id, end_date)
    WHERE reason = 'ending_soon';
