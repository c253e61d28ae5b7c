-- Issue 19: joiners, movers and leavers in live programmes.
--
-- A pair that ended because one of its two people left the company (pair.dissolved v2 / sessions'
-- pair.closed v2 with left_participant_id) keeps who left: counted as its own outcome
-- (`left_company`), beside completed and ended early. A pair matching flagged after a move (the
-- management-chain rule, matching.pair.flagged) keeps its latest flag: when, which rule, and
-- matching's plain reason (which names no one).
ALTER TABLE rm_pairs
    ADD COLUMN left_participant_id text,
    ADD COLUMN flagged_at          timestamptz,
    ADD COLUMN flag_rule           text,
    ADD COLUMN flag_reason         text;

-- Directory changes of enrolled people, as facts (one row per event and participant, insert-only):
-- matching.person.left ('left', detail = its cause) and matching.person.moved ('moved', detail = the
-- fields that changed, comma-separated). Participant ids only, no person id; attributed at query
-- time through rm_participants, so it converges whichever of the two topics is read first.
CREATE TABLE rm_directory_changes (
    event_id        text NOT NULL,
    participant_id  text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('left', 'moved')),
    at              timestamptz NOT NULL,
    left_on         date,
    detail          text,
    PRIMARY KEY (event_id, participant_id)
);
CREATE INDEX rm_directory_changes_participant ON rm_directory_changes (participant_id, kind);
CREATE INDEX rm_pairs_flagged ON rm_pairs (cohort_id) WHERE flagged_at IS NOT NULL;
