-- Who is in a proposal or a pair (from match.proposed and pair.formed), for the events that name only
-- the proposal or the pair (agreement drafted/amended/confirmed, match.declined): ids only.
CREATE TABLE pairings (
    ref_id    text PRIMARY KEY,  -- a proposal id or a pair id
    cohort_id text NOT NULL,
    mentor_id text NOT NULL,
    mentee_id text NOT NULL
);
CREATE INDEX pairings_mentor ON pairings (mentor_id);
CREATE INDEX pairings_mentee ON pairings (mentee_id);

-- Declined proposals per participant, for HR's "declining repeatedly" alert: ids and times only.
CREATE TABLE declines (
    proposal_id    text PRIMARY KEY,
    cohort_id      text NOT NULL,
    participant_id text NOT NULL,
    declined_at    timestamptz NOT NULL
);
CREATE INDEX declines_participant ON declines (participant_id, cohort_id);
