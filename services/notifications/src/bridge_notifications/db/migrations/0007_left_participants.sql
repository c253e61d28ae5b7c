-- Issue 19: participants who left the company (matching.person.left, or named as the one who left by
-- sessions' pair.closed v2): ids and dates only. Nothing of any kind is sent to them again, in any
-- cohort: planning skips them, their waiting deliveries are cancelled, and the dispatcher and the
-- daily digest check this table at send time. A table of its own (as erased_participants), not a
-- flag on `recipients`, so it holds whatever order the directory's and the routing's events arrive in,
-- and a late participant.updated cannot undo it.
CREATE TABLE left_participants (
    participant_id text PRIMARY KEY,
    left_on        date,
    recorded_at    timestamptz NOT NULL
);
-- Their inbox items not visible yet are withdrawn (db/inbox.withdraw_for).
CREATE INDEX inbox_recipient_waiting ON inbox_items (recipient_id) WHERE withdrawn_at IS NULL;
