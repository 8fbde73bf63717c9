-- 0013, PostgreSQL flavour. Keep in step with migrations/sqlite/0013_notices.sql.
--
-- Notices (issue #13): a durable outbox of events and their deliveries, the webhook endpoints
-- they go to, the instance's notice settings and each organization's e-mail recipients.
-- A notice is recorded in one transaction with its deliveries, once per occurrence (the
-- UNIQUE occurrence), so nothing is lost on a crash and nothing is sent twice after a restart.
-- Lists (event types, recipients, thresholds) are JSON arrays of text; the enum-like texts
-- (event_type, channel, status, email_mode) are parsed by the store, which reports a value it
-- does not know as corrupt, naming table and column. Times are unix microseconds. `seq` keeps
-- the order rows were written in ("newest first"), which random UUIDs do not.

-- An endpoint is never removed: deleting one marks it deleted and drops its secret, so its
-- delivery log keeps naming it. The signing secret is sealed under the master key like the
-- private keys (AES-256-GCM), bound to the endpoint's id.
CREATE TABLE webhook_endpoints (
    id                    TEXT PRIMARY KEY,
    url                   TEXT NOT NULL,
    description           TEXT NOT NULL,
    event_types           TEXT NOT NULL,
    enabled               BOOLEAN NOT NULL,
    failing_since         BIGINT,
    consecutive_failures  BIGINT NOT NULL,
    encrypted_secret      BYTEA,
    deleted               BOOLEAN NOT NULL,
    created_by            TEXT NOT NULL,
    created_at            BIGINT NOT NULL
);

CREATE TABLE notices (
    seq                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                    TEXT NOT NULL UNIQUE,
    -- Recording the same occurrence again records nothing: enforced where it cannot be raced.
    occurrence            TEXT NOT NULL UNIQUE,
    event_type            TEXT NOT NULL,
    organization_id       TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    occurred_at           BIGINT NOT NULL,
    -- The payload as recorded (the service's NoticeData as JSON): a retry sends exactly it.
    data                  TEXT NOT NULL
);
CREATE INDEX notices_newest ON notices (occurred_at, seq);
CREATE INDEX notices_by_organization ON notices (organization_id, occurred_at, seq);

-- One delivery of a notice through one channel: a webhook endpoint, or e-mail to the
-- recipients fixed when the notice was recorded. A dispatcher claims a delivery (holder until
-- a time) in one statement before sending it, so of several instances one sends it.
CREATE TABLE notice_deliveries (
    seq                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                    TEXT NOT NULL UNIQUE,
    notice_id             TEXT NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    channel               TEXT NOT NULL,
    webhook_id            TEXT REFERENCES webhook_endpoints (id),
    recipients            TEXT NOT NULL,
    status                TEXT NOT NULL,
    attempts              BIGINT NOT NULL,
    next_attempt_at       BIGINT NOT NULL,
    last_attempt_at       BIGINT,
    last_status_code      BIGINT,
    last_error            TEXT,
    delivered_at          BIGINT,
    claim_holder          TEXT,
    claim_until           BIGINT
);
-- The dispatcher's question: which pending deliveries are due, oldest due first.
CREATE INDEX notice_deliveries_due ON notice_deliveries (next_attempt_at, seq)
    WHERE status = 'pending';
-- An endpoint's delivery log, newest first.
CREATE INDEX notice_deliveries_by_webhook ON notice_deliveries (webhook_id, seq);
CREATE INDEX notice_deliveries_by_notice ON notice_deliveries (notice_id);

-- The instance's notice settings: one row (id 1), written the first time they are set; no row
-- means the service's defaults.
CREATE TABLE notice_settings (
    id                      BIGINT PRIMARY KEY CHECK (id = 1),
    expiry_thresholds_days  TEXT NOT NULL,
    default_recipients      TEXT NOT NULL,
    email_mode              TEXT NOT NULL,
    digest_hour_utc         BIGINT NOT NULL,
    email_event_types       TEXT NOT NULL,
    updated_at              BIGINT NOT NULL
);

-- An organization's own e-mail recipients; no row (or an empty list): the default ones apply.
CREATE TABLE organization_notice_recipients (
    organization_id  TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    recipients       TEXT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- The fleet's question: each organization's latest backup run, for all of them at once.
CREATE INDEX backup_runs_by_organization ON backup_runs (organization_id, started_at);
