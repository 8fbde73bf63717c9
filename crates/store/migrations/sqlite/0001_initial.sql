-- tenantlink schema, SQLite flavour. Keep in step with migrations/postgres/0001_initial.sql:
-- same tables, columns, constraints and indexes; only the type names differ.
-- Timestamps are BIGINT unix microseconds (UTC); ids are lower-case hyphenated UUID text.

CREATE TABLE organizations (
    id                TEXT PRIMARY KEY,
    tenant            TEXT NOT NULL,
    cloud             TEXT NOT NULL,
    backup_app_id     TEXT NOT NULL,
    app_object_id     TEXT,
    display_name      TEXT NOT NULL,
    connection_state  TEXT NOT NULL CHECK (connection_state IN ('unknown', 'connected', 'broken')),
    last_error        TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (cloud, tenant, backup_app_id)
);

CREATE TABLE certificates (
    id                     TEXT PRIMARY KEY,
    organization_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    sha1_thumbprint        TEXT NOT NULL,
    sha256_thumbprint      TEXT NOT NULL,
    subject                TEXT NOT NULL,
    not_before             BIGINT NOT NULL,
    not_after              BIGINT NOT NULL,
    source                 TEXT NOT NULL CHECK (source IN ('generated', 'uploaded')),
    public_der             BLOB NOT NULL,
    encrypted_private_key  BLOB NOT NULL,
    state                  TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired', 'discarded')),
    created_at             BIGINT NOT NULL,
    activated_at           BIGINT,
    retired_at             BIGINT
);
-- The invariant the whole product rests on: never two active certificates for one organization.
CREATE UNIQUE INDEX certificates_one_active_per_organization
    ON certificates (organization_id) WHERE state = 'active';
CREATE UNIQUE INDEX certificates_unique_live_thumbprint
    ON certificates (organization_id, sha256_thumbprint) WHERE state <> 'discarded';
CREATE INDEX certificates_by_organization ON certificates (organization_id, created_at);

CREATE TABLE certificate_operations (
    id                        TEXT PRIMARY KEY,
    organization_id           TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind                      TEXT NOT NULL CHECK (kind IN ('generate', 'upload')),
    state                     TEXT NOT NULL,
    step                      TEXT NOT NULL,
    started_by                TEXT NOT NULL,
    expected_active_id        TEXT REFERENCES certificates (id),
    new_certificate_id        TEXT REFERENCES certificates (id),
    user_code                 TEXT,
    verification_uri          TEXT,
    device_code_expires_at    BIGINT,
    error_kind                TEXT,
    error_message             TEXT,
    owner                     TEXT,
    lease_expires_at          BIGINT,
    version                   BIGINT NOT NULL,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);
CREATE INDEX certificate_operations_by_organization ON certificate_operations (organization_id, created_at);
CREATE INDEX certificate_operations_by_state ON certificate_operations (state);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('administrator', 'operator', 'viewer')),
    disabled       BOOLEAN NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE sessions (
    id_hash       BLOB PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_hash     BLOB NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    token_hash    BLOB NOT NULL UNIQUE,
    label         TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('administrator', 'operator', 'viewer')),
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    username  TEXT NOT NULL,
    ip        TEXT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX login_failures_by_username ON login_failures (username, at);
CREATE INDEX login_failures_by_ip ON login_failures (ip, at);

CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    at               BIGINT NOT NULL,
    actor            TEXT NOT NULL,
    organization_id  TEXT,
    action           TEXT NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    thumbprints      TEXT NOT NULL,
    details          TEXT NOT NULL
);
CREATE INDEX audit_log_by_organization ON audit_log (organization_id, id);
CREATE INDEX audit_log_by_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE backup_policies (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    schedule         TEXT NOT NULL,
    scope            TEXT NOT NULL,
    enabled          BOOLEAN NOT NULL,
    next_due_at      BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (organization_id, name)
);
CREATE INDEX backup_policies_due ON backup_policies (enabled, next_due_at);

CREATE TABLE backup_runs (
    id               TEXT PRIMARY KEY,
    policy_id        TEXT NOT NULL REFERENCES backup_policies (id) ON DELETE CASCADE,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    trigger_kind     TEXT NOT NULL CHECK (trigger_kind IN ('scheduled', 'manual')),
    status           TEXT NOT NULL CHECK (status IN ('running', 'success', 'warning', 'failed')),
    started_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    users            BIGINT NOT NULL,
    items_new        BIGINT NOT NULL,
    items_changed    BIGINT NOT NULL,
    error_text       TEXT
);
-- "Never two runs of the same policy at once", enforced where it cannot be raced.
CREATE UNIQUE INDEX backup_runs_one_running_per_policy ON backup_runs (policy_id) WHERE status = 'running';
CREATE INDEX backup_runs_by_policy ON backup_runs (policy_id, started_at);

CREATE TABLE mailbox_items (
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL,
    message_id       TEXT NOT NULL,
    subject          TEXT NOT NULL,
    sender           TEXT NOT NULL,
    received_at      BIGINT NOT NULL,
    size             BIGINT NOT NULL,
    content_hash     BLOB NOT NULL,
    first_seen_run   TEXT NOT NULL,
    last_changed_run TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id, message_id)
);

CREATE TABLE delta_links (
    policy_id   TEXT NOT NULL REFERENCES backup_policies (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    delta_link  TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (policy_id, user_id)
);
