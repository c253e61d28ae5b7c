-- Issue 19: a relationship that ended because one of the two left the company (matching's
-- pair.dissolved v2 with left_participant_id) remembers who left (a participant id, no more): the
-- relationship API shows it as why it ended, and pair.closed v2 carries it on.
ALTER TABLE relationships ADD COLUMN left_participant_id text;
ALTER TABLE relationships ADD CONSTRAINT relationships_left_participant_is_a_side
    CHECK (left_participant_id IS NULL OR left_participant_id IN (mentor_id, mentee_id));
