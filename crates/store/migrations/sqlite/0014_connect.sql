-- 0014, SQLite flavour. Keep in step with migrations/postgres/0014_connect.sql.
--
-- Connect an organization (issue #14): a certificate operation of kind `connect` registers the
-- backup application in the tenant with the administrator's sign-in (application, service
-- principal, admin consent, ownership), then generates, attaches and proves the first
-- certificate.
--
-- Operations may be of kind 'connect'. 0012 limited `kind` with a CHECK, which SQLite cannot
-- change in place, so the table is rebuilt as 0012 did (create the new one, copy every row,
-- drop the old, rename) with the same columns, foreign keys and indexes - among them the
-- partial unique index "one unfinished operation per organization". No table refers to
-- certificate_operations, so dropping the old one touches no other row. The new steps
-- ('application_created', 'service_principal_created', 'permissions_granted', 'owner_added')
-- need nothing: `step` has never had a CHECK; the store parses it and reports a value it does
-- not know as corrupt.
--
-- An organization Connect adds has an empty app_id until its application exists
-- (organizations.app_id is NOT NULL and stays so); UNIQUE (cloud, tenant, app_id) then also
-- keeps a tenant from being added twice while its first Connect has no application yet.

CREATE TABLE certificate_operations_0014 (
    id                      TEXT PRIMARY KEY,
    organization_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind                    TEXT NOT NULL CHECK (kind IN ('generate', 'upload', 'rotate', 'connect')),
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
INSERT INTO certificate_operations_0014 (id, organization_id, kind, step, started_by,
    replaces_id, certificate_id, user_code, verification_uri, device_code_expires_at,
    failure_code, failure_message, version, started_at, updated_at, signed_in_as,
    failure_remediation, sign_in_holder, heartbeat_at)
SELECT id, organization_id, kind, step, started_by,
    replaces_id, certificate_id, user_code, verification_uri, device_code_expires_at,
    failure_code, failure_message, version, started_at, updated_at, signed_in_as,
    failure_remediation, sign_in_holder, heartbeat_at
FROM certificate_operations;
DROP TABLE certificate_operations;
ALTER TABLE certificate_operations_0014 RENAME TO certificate_operations;

-- The indexes of 0001/0002/0012 (as 0012 recreated them), under their old names.
CREATE INDEX certificate_operations_by_organization ON certificate_operations (organization_id, started_at);
CREATE INDEX certificate_operations_by_state ON certificate_operations (step);
-- "Two administrators cannot both start replacing the certificate", where it cannot be raced.
CREATE UNIQUE INDEX certificate_operations_one_unfinished_per_organization
    ON certificate_operations (organization_id)
    WHERE step NOT IN ('succeeded', 'failed', 'cancelled');
-- The key-removal sweep's question: which certificates did a rotation replace.
CREATE INDEX certificate_operations_rotation_replaces
    ON certificate_operations (replaces_id) WHERE kind = 'rotate';
