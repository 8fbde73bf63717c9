-- 0014, PostgreSQL flavour. Keep in step with migrations/sqlite/0014_connect.sql.
--
-- Connect an organization (issue #14): a certificate operation of kind `connect` registers the
-- backup application in the tenant with the administrator's sign-in (application, service
-- principal, admin consent, ownership), then generates, attaches and proves the first
-- certificate.
--
-- Operations may be of kind 'connect': 0012's CHECK on `kind` (certificate_operations_kind_check)
-- is replaced by one that allows it. (SQLite cannot change a CHECK in place and rebuilds the
-- table; the result is the same columns, constraints and indexes.) The new steps
-- ('application_created', 'service_principal_created', 'permissions_granted', 'owner_added')
-- need nothing: `step` has never had a CHECK; the store parses it and reports a value it does
-- not know as corrupt.
--
-- An organization Connect adds has an empty app_id until its application exists
-- (organizations.app_id is NOT NULL and stays so); UNIQUE (cloud, tenant, app_id) then also
-- keeps a tenant from being added twice while its first Connect has no application yet.

ALTER TABLE certificate_operations DROP CONSTRAINT certificate_operations_kind_check;
ALTER TABLE certificate_operations ADD CONSTRAINT certificate_operations_kind_check
    CHECK (kind IN ('generate', 'upload', 'rotate', 'connect'));
