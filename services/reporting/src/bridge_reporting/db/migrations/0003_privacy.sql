-- Privacy by design (issue 14).
--
-- Minimisation: columns no report, export or timeline reads are dropped (the people's own words
-- and failure texts that could quote an address); the timeline keeps a readable summary without
-- names, and its detail keeps only the event's internal fields (no names, e-mails, actors'
-- employee ids, free text or calendar invites). New rows are written that way by domain/timeline.py.
ALTER TABLE rm_pairs DROP COLUMN IF EXISTS dissolved_reason, DROP COLUMN IF EXISTS close_reason;
ALTER TABLE rm_goals DROP COLUMN IF EXISTS title;
ALTER TABLE rm_notifications DROP COLUMN IF EXISTS reason;

UPDATE rm_timeline SET summary = 'Pair formed' WHERE event_type = 'matching.pair.formed';
UPDATE rm_timeline SET detail =
    (detail - ARRAY['invite', 'reason', 'title', 'cancelled_by', 'closed_by', 'dissolved_by',
                    'hr_contact_email', 'summary'])
    || CASE WHEN jsonb_typeof(detail -> 'mentor') = 'object'
            THEN jsonb_build_object('mentor', (detail -> 'mentor') - ARRAY['display_name', 'email', 'employee_id'])
            ELSE '{}'::jsonb END
    || CASE WHEN jsonb_typeof(detail -> 'mentee') = 'object'
            THEN jsonb_build_object('mentee', (detail -> 'mentee') - ARRAY['display_name', 'email', 'employee_id'])
            ELSE '{}'::jsonb END
    || CASE WHEN jsonb_typeof(detail -> 'explanation') = 'object'
            THEN jsonb_build_object('explanation', (detail -> 'explanation') - 'summary')
            ELSE '{}'::jsonb END;

-- The erasure ledger: participant ids (pseudonymous) erased on request, and by which erasure. Not a
-- read model: a rebuild keeps it and re-applies every erasure in it to the rebuilt tables, and the
-- live projection re-anonymises any row a late or replayed event writes about these people.
CREATE TABLE privacy_erased (
    participant_id  text PRIMARY KEY,
    erasure_id      text NOT NULL,
    erased_at       timestamptz NOT NULL
);
