-- Programme health for HR's weekly digest, kept from sessions' events: ids, counts and ratings only
-- (no names, no text). One row per event, so a redelivered event counts once.
CREATE TABLE health_facts (
    event_id        text PRIMARY KEY,
    cohort_id       text NOT NULL,
    relationship_id text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('held', 'pulse', 'at_risk', 'resolved', 'closed')),
    reason          text,
    at              timestamptz NOT NULL,
    m2e             integer NOT NULL DEFAULT 0,
    e2m             integer NOT NULL DEFAULT 0,
    rating          integer
);
CREATE INDEX health_facts_cohort ON health_facts (cohort_id, at);
