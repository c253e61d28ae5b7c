-- Who can be notified, as learnt from matching's participant events.
CREATE TABLE recipients (
    participant_id text PRIMARY KEY,
    employee_id    text NOT NULL,
    cohort_id      text NOT NULL,
    display_name   text NOT NULL,
    email          text NOT NULL,
    locale         text NOT NULL DEFAULT 'en',
    timezone       text NOT NULL DEFAULT 'UTC',
    active         boolean NOT NULL DEFAULT true,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recipients_employee ON recipients (employee_id);

-- One row per (source event, recipient, channel): the dedup key makes delivery at-most-once.
CREATE TABLE deliveries (
    id              uuid PRIMARY KEY,
    dedup_key       text NOT NULL UNIQUE,
    source_event_id text NOT NULL,
    recipient_id    text NOT NULL,
    cohort_id       text,
    channel         text NOT NULL CHECK (channel IN ('email', 'chat', 'inbox')),
    kind            text NOT NULL,
    to_address      text NOT NULL,
    subject         text NOT NULL,
    body_text       text NOT NULL,
    body_html       text,
    attachments     jsonb NOT NULL DEFAULT '[]'::jsonb,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    due_at          timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_recipient ON deliveries (recipient_id, created_at DESC);
