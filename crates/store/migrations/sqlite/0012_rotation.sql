-- 0012, SQLite flavour. Keep in step with migrations/postgres/0012_rotation.sql.
--
-- Zero-touch rotation (issue #12): a certificate operation of kind `rotate` renews an
-- organization's certificate through Graph addKey, without an administrator.
--
-- 1. Operations may be of kind 'rotate'. 0001 limited `kind` with a CHECK, which SQLite cannot
--    change in place, so the table is rebuilt (create the new one, copy every row, drop the
--    old, rename) with the same columns, foreign keys and indexes - among them the partial
--    unique index "one unfinished operation per organization". No table refers to
--    certificate_operations, so dropping the old one touches no other row. The new step
--    'key_added' (addKey returned) needs nothing: `step` has never had a CHECK; the store
--    parses it and reports a value it does not know as corrupt.
-- 2. certificates.key_removed_at: when tenantlink removed the certificate's key from the
--    application (removeKey), after a rotation retired it and the overlap ended. NULL: not
--    removed, as on every row written before 0012 (their keys stay; only certificates that a
--    succeeded rotation replaced are ever listed for removal, and none existed before 0012).
-- 3. organization_renewal: `retry_not_before`, the Retry-After Graph sent with the last
--    failure; and the organization's renewal claim (`claim_holder`, the instance id holding
--    it, until `claim_until`), so that of several instances on one database exactly one
--    rotates an organization at a time. A claim is taken in one statement (an upsert whose
--    update only applies when the claim is free, expired or already the holder's). NULL on
--    older rows: no Retry-After, no claim. Times are unix microseconds like everywhere else.

CREATE TABLE certificate_operations_0012 (
    id                      TEXT PRIMARY KEY,
    organization_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind                    TEXT NOT NULL CHECK (kind IN ('generate', 'upload', 'rotate')),
    step                    TEXT NOT NULL,
    started_by              TEXT NOT NULL,
    replaces_id             TEXT REFERENCES certificates (id),
    certificate_id          TEXT REFERENCES certificates (id),
    user_code               TEXT,
    verification_uri        TEXT,
    device_code_expires_at  BIGINT,
    failure_code            TEXT,
    failure_message         TEXT,
    version                 BIGINT NOT NULL,
    started_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    signed_in_as            TEXT,
    failure_remediation     TEXT,
    sign_in_holder          TEXT,
    heartbeat_at            BIGINT
);
INSERT INTO certificate_operations_0012 (id, organization_id, kind, step, started_by,
    replaces_id, certificate_id, user_code, verification_uri, device_code_expires_at,
    failure_code, failure_message, version, started_at, updated_at, signed_in_as,
    failure_remediation, sign_in_holder, heartbeat_at)
SELECT id, organization_id, kind, step, started_by,
    replaces_id, certificate_id, user_code, verification_uri, device_code_expires_at,
    failure_code, failure_message, version, started_at, updated_at, signed_in_as,
    failure_remediation, sign_in_holder, heartbeat_at
FROM certificate_operations;
DROP TABLE certificate_operations;
ALTER TABLE certificate_operations_0012 RENAME TO certificate_operations;

-- The indexes of 0001/0002 (renamed columns as 0005 left them), under their old names.
CREATE INDEX certificate_operations_by_organization ON certificate_operations (organization_id, started_at);
CREATE INDEX certificate_operations_by_state ON certificate_operations (step);
-- "Two administrators cannot both start replacing the certificate", where it cannot be raced.
CREATE UNIQUE INDEX certificate_operations_one_unfinished_per_organization
    ON certificate_operations (organization_id)
    WHERE step NOT IN ('succeeded', 'failed', 'cancelled');
-- The key-removal sweep's question: which certificates did a rotation replace.
CREATE INDEX certificate_operations_rotation_replaces
    ON certificate_operations (replaces_id) WHERE kind = 'rotate';

ALTER TABLE certificates ADD COLUMN key_removed_at BIGINT;
-- The sweep reads retired certificates whose key is still on the application, oldest first.
CREATE INDEX certificates_key_not_removed
    ON certificates (retired_at, created_at) WHERE state = 'retired' AND key_removed_at IS NULL;

ALTER TABLE organization_renewal ADD COLUMN retry_not_before BIGINT;
ALTER TABLE organization_renewal ADD COLUMN claim_holder TEXT;
ALTER TABLE organization_renewal ADD COLUMN claim_until BIGINT;
