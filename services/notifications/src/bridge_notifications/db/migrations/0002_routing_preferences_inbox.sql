-- Cohorts as learnt from matching (HR contact for escalations and the weekly digest).
CREATE TABLE cohorts (
    cohort_id        text PRIMARY KEY,
    name             text,
    hr_contact_email text,
    regions          text[] NOT NULL DEFAULT '{}',
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- HR's defaults per cohort; NULL means "use the service default".
CREATE TABLE cohort_defaults (
    cohort_id            text PRIMARY KEY,
    channels             text[],
    quiet_start          time,
    quiet_end            time,
    digest               text CHECK (digest IN ('immediate', 'daily')),
    locale               text,
    escalate_after_days  integer CHECK (escalate_after_days BETWEEN 1 AND 90),
    hr_locale            text,
    hr_timezone          text,
    hr_chat_webhook_url  text,
    hr_chat_format       text CHECK (hr_chat_format IN ('slack', 'teams')),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- A participant's own preferences (keyed by employee id = the token's subject); NULL = inherit.
CREATE TABLE preferences (
    employee_id       text PRIMARY KEY,
    channels          text[],
    quiet_start       time,
    quiet_end         time,
    digest            text CHECK (digest IN ('immediate', 'daily')),
    locale            text,
    timezone          text,
    chat_webhook_url  text,
    chat_format       text CHECK (chat_format IN ('slack', 'teams')),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'digest', 'digested'));
ALTER TABLE deliveries
    ADD COLUMN group_key   text,
    ADD COLUMN held_reason text,
    ADD COLUMN locale      text,
    ADD COLUMN employee_id text,
    ADD COLUMN chat_format text,
    ADD COLUMN digest_id   uuid,
    ADD COLUMN updated_at  timestamptz;
CREATE INDEX deliveries_group ON deliveries (group_key text_pattern_ops) WHERE status IN ('pending', 'digest');
CREATE INDEX deliveries_digest ON deliveries (due_at) WHERE status = 'digest';
CREATE INDEX deliveries_cohort ON deliveries (cohort_id, created_at DESC);

-- The in-app inbox: written when a notification is planned, visible from visible_at (a reminder
-- shows up when it is due); a cancelled reminder is withdrawn. One item per (event, recipient).
CREATE TABLE inbox_items (
    id              uuid PRIMARY KEY,
    dedup_key       text NOT NULL UNIQUE,
    employee_id     text NOT NULL,
    recipient_id    text NOT NULL,
    cohort_id       text,
    kind            text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    link            text,
    group_key       text,
    visible_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    read_at         timestamptz,
    withdrawn_at    timestamptz
);
CREATE INDEX inbox_employee ON inbox_items (employee_id, visible_at DESC);
CREATE INDEX inbox_group ON inbox_items (group_key text_pattern_ops) WHERE withdrawn_at IS NULL;
