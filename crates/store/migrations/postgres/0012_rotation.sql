-- 0012, PostgreSQL flavour. Keep in step with migrations/sqlite/0012_rotation.sql.
--
-- Zero-touch rotation (issue #12): a certificate operation of kind `rotate` renews an
-- organization's certificate through Graph addKey, without an administrator.
--
-- 1. Operations may be of kind 'rotate': 0001's CHECK on `kind` (PostgreSQL's default name
--    certificate_operations_kind_check) is replaced by one that allows it. (SQLite cannot
--    change a CHECK in place and rebuilds the table; the result is the same columns,
--    constraints and indexes.) The new step 'key_added' (addKey returned) needs nothing:
--    `step` has never had a CHECK; the store parses it and reports a value it does not know
--    as corrupt.
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

ALTER TABLE certificate_operations DROP CONSTRAINT certificate_operations_kind_check;
ALTER TABLE certificate_operations ADD CONSTRAINT certificate_operations_kind_check
    CHECK (kind IN ('generate', 'upload', 'rotate'));
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
