-- Mentoring circles (issue 15). A cohort runs one-to-one pairs, circles, or both (`formats`); HR marks
-- the participants who may facilitate a circle (`facilitator_eligible`, a profile field).
ALTER TABLE cohorts
    ADD COLUMN formats text[] NOT NULL DEFAULT '{pairs}'
        CHECK (cardinality(formats) BETWEEN 1 AND 2 AND formats <@ ARRAY['pairs', 'circles']::text[]);
ALTER TABLE participants ADD COLUMN facilitator_eligible boolean NOT NULL DEFAULT false;

-- A circle run is solved in the request that starts it (or re-solves it) and is a draft until HR
-- publishes it: at most one open draft per cohort (a new run supersedes it). `version` grows with every
-- review edit and re-solve, so a re-solve that read an older draft does not overwrite newer edits.
-- `left_out` holds everyone the draft does not place, with the reason; `removed` the people HR took out
-- (a re-solve leaves them out until HR moves them back into a circle).
CREATE TABLE circle_runs (
    id           uuid PRIMARY KEY,
    cohort_id    uuid NOT NULL REFERENCES cohorts (id),
    status       text NOT NULL CHECK (status IN ('draft', 'published', 'superseded')),
    version      integer NOT NULL DEFAULT 1,
    stats        jsonb NOT NULL DEFAULT '{}'::jsonb,
    left_out     jsonb NOT NULL DEFAULT '[]'::jsonb,
    removed      uuid[] NOT NULL DEFAULT '{}',
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    published_at timestamptz,
    published_by text
);
CREATE INDEX circle_runs_cohort ON circle_runs (cohort_id, created_at);
CREATE UNIQUE INDEX circle_runs_one_draft ON circle_runs (cohort_id) WHERE status = 'draft';

-- One circle from draft to its end: draft (in a run under review) -> proposed (published: each member
-- accepts or declines) -> formed (everyone accepted) or dissolved. `violations` are the hard rules a
-- draft circle breaks after HR forced an edit (empty otherwise); `facilitator_by_hr` marks a facilitator
-- HR named (who need not be facilitator-eligible). `invite_ttl_hours` is the answer time given at
-- publishing, given again to a newcomer when a freed place is refilled.
CREATE TABLE circles (
    id                uuid PRIMARY KEY,
    cohort_id         uuid NOT NULL REFERENCES cohorts (id),
    run_id            uuid REFERENCES circle_runs (id),
    status            text NOT NULL CHECK (status IN ('draft', 'proposed', 'formed', 'dissolved')),
    facilitator_id    uuid REFERENCES participants (id),
    facilitator_by_hr boolean NOT NULL DEFAULT false,
    language          text,
    weekly_slot       jsonb,
    score             double precision NOT NULL DEFAULT 0,
    breakdown         jsonb NOT NULL DEFAULT '{}'::jsonb,
    explanation       text NOT NULL DEFAULT '',
    violations        text[] NOT NULL DEFAULT '{}',
    pinned            boolean NOT NULL DEFAULT false,
    origin            text NOT NULL DEFAULT 'engine' CHECK (origin IN ('engine', 'edited')),
    invite_ttl_hours  integer,
    expires_at        timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    proposed_at       timestamptz,
    formed_at         timestamptz,
    dissolved_at      timestamptz,
    dissolved_reason  text,
    dissolved_by      text
);
CREATE INDEX circles_cohort ON circles (cohort_id, status);
CREATE INDEX circles_run ON circles (run_id);
CREATE INDEX circles_pending_expiry ON circles (expires_at) WHERE status = 'proposed';

-- Who is in a circle: draft (a draft circle), invited -> accepted | declined | expired (no answer in
-- time), left (withdrew, left the company or was erased), released (the circle was dissolved).
-- `origin`: placed by the engine, by HR's review, or by a refill. `id` only names a row for the
-- erasure's scrubbing of texts (a decline's reason may name someone).
CREATE TABLE circle_members (
    id             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    circle_id      uuid NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    participant_id uuid NOT NULL REFERENCES participants (id),
    status         text NOT NULL
                   CHECK (status IN ('draft', 'invited', 'accepted', 'declined', 'expired', 'left', 'released')),
    origin         text NOT NULL DEFAULT 'engine' CHECK (origin IN ('engine', 'hr', 'refill')),
    invited_at     timestamptz,
    responded_at   timestamptz,
    decline_reason text,
    left_at        timestamptz,
    PRIMARY KEY (circle_id, participant_id)
);
CREATE INDEX circle_members_participant ON circle_members (participant_id);
-- Capacity, kept by the database: a participant is in at most one live circle (invited or accepted).
CREATE UNIQUE INDEX circle_members_one_live ON circle_members (participant_id)
    WHERE status IN ('invited', 'accepted');
