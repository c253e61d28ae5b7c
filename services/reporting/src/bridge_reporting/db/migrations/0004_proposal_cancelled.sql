-- matching.match.cancelled: an open proposal closed because one of its people left (withdrew or was
-- erased), no longer folded in as a decline.
ALTER TABLE rm_proposals ADD COLUMN cancelled_at timestamptz;
