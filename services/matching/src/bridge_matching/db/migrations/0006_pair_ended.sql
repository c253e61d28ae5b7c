-- The relationship behind a pair ended in sessions (sessions.pair.closed): the pair is 'ended' with
-- how it ended. Its two people are free again (no longer occupied) and are never re-proposed together.
ALTER TABLE pairs
    ADD COLUMN ended_at      timestamptz,
    ADD COLUMN ended_outcome text CHECK (ended_outcome IN ('completed', 'ended_early'));
