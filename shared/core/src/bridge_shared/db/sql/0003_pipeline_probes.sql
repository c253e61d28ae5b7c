-- The end-to-end pipeline probe (bridge_shared.observability.probe): one row per probe sent, written
-- in the transaction that puts the probe in the outbox; the probe consumer sets received_at in its
-- inbox transaction. A probe not received within probe_timeout_seconds gets lost_at (counted once,
-- whichever instance notices). Rows are pruned after a day. No personal data.
CREATE TABLE pipeline_probes (
    probe_id    text PRIMARY KEY,
    instance    text NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    received_at timestamptz,
    lost_at     timestamptz
);
CREATE INDEX pipeline_probes_outstanding ON pipeline_probes (sent_at)
    WHERE received_at IS NULL AND lost_at IS NULL;
CREATE INDEX pipeline_probes_sent_at ON pipeline_probes (sent_at);
