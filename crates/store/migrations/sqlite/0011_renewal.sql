-- 0011, SQLite flavour. Keep in step with migrations/postgres/0011_renewal.sql.
--
-- Each organization's certificate renewal policy and what happened so far in renewing it. One
-- row per organization, written the first time its policy or state changes; an organization
-- without a row has the service's default policy and an empty state. Durations are seconds,
-- times unix microseconds like everywhere else. The enum-like texts (renew_at_fraction,
-- uploaded_certificates) are parsed by the store, which reports a value it does not know as
-- corrupt, naming table and column.

CREATE TABLE organization_renewal (
    organization_id           TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    automatic                 BOOLEAN NOT NULL,
    lifetime_days             BIGINT,
    tenant_max_lifetime_days  BIGINT,
    renew_at_fraction         TEXT NOT NULL,
    jitter_seconds            BIGINT NOT NULL,
    backoff_base_seconds      BIGINT NOT NULL,
    backoff_cap_seconds       BIGINT NOT NULL,
    uploaded_certificates     TEXT NOT NULL,
    failed_attempts           BIGINT NOT NULL,
    last_attempt_at           BIGINT,
    last_failure_at           BIGINT,
    last_failure_code         TEXT,
    last_failure_message      TEXT,
    last_failure_retryable    BOOLEAN NOT NULL,
    next_renewal_at           BIGINT,
    updated_at                BIGINT NOT NULL
);
-- The scheduler's question: which organizations are planned to renew before a given time.
CREATE INDEX organization_renewal_next ON organization_renewal (next_renewal_at);
