-- Erasure (docs/privacy.md): the participant ids of erased people, and nothing else about them. A
-- late or replayed event about one of them is never planned, and never re-creates their recipient row.
CREATE TABLE erased_participants (
    participant_id text PRIMARY KEY,
    erasure_id     text NOT NULL,
    erased_at      timestamptz NOT NULL
);

-- Retention: finished deliveries by age, inbox items by when they were read or became visible.
CREATE INDEX deliveries_finished ON deliveries (coalesce(updated_at, created_at))
    WHERE status IN ('sent', 'failed', 'cancelled', 'digested');
CREATE INDEX inbox_read_at ON inbox_items (read_at) WHERE read_at IS NOT NULL;
CREATE INDEX inbox_unread_visible ON inbox_items (visible_at) WHERE read_at IS NULL;
