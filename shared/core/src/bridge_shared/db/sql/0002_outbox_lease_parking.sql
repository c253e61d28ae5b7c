-- Fenced relay leadership: one lease row per schema. Taking over bumps the epoch (the fencing token);
-- the leader renews the lease with every batch it claims and records results only while the epoch
-- is still its own. A new leader may take over only once the lease has expired or been released.
CREATE TABLE outbox_relay_lease (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    epoch       bigint NOT NULL DEFAULT 0,
    holder      text,
    acquired_at timestamptz,
    renewed_at  timestamptz,
    expires_at  timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO outbox_relay_lease DEFAULT VALUES;

-- Parking: a row that cannot be published is set aside with its reason. Later rows of the same
-- topic + key wait behind it (per-key order); an operator retries it (bridge-outbox retry) or
-- discards it (bridge-outbox discard), which releases them. `rejections` counts non-transient
-- broker errors (transient ones, such as a broker being down, never park a row).
ALTER TABLE outbox
    ADD COLUMN rejections    integer NOT NULL DEFAULT 0,
    ADD COLUMN parked_at     timestamptz,
    ADD COLUMN parked_reason text,
    ADD COLUMN discarded_at  timestamptz;

DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_parked ON outbox (topic, partition_key, id)
    WHERE parked_at IS NOT NULL AND discarded_at IS NULL;
CREATE INDEX outbox_discarded_at ON outbox (discarded_at) WHERE discarded_at IS NOT NULL;

-- Pruning the inbox by age without scanning it.
CREATE INDEX inbox_processed_at ON inbox (processed_at);
