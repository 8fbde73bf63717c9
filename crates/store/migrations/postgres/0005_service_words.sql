-- 0005, PostgreSQL flavour. Keep in step with migrations/sqlite/0005_service_words.sql.
--
-- One word per concept: the database now says what the service (tenantlink_service) and the
-- API say, so rows decode straight into the service's types without a translation table.
--
-- 1. Operation steps: the stored states awaiting_input / attaching / proving were the service's
--    signed_in / certificate_stored / attached under other names (the binary's adapter mapped
--    them one to one). The other four (awaiting_sign_in, succeeded, failed, cancelled) are
--    spelled the same already.
UPDATE certificate_operations SET state = 'signed_in' WHERE state = 'awaiting_input';
UPDATE certificate_operations SET state = 'certificate_stored' WHERE state = 'attaching';
UPDATE certificate_operations SET state = 'attached' WHERE state = 'proving';

-- 2. The free-text `step` column only ever held a copy of the state ("signed in", "attached"…,
--    written by the adapter, read by nobody); the state column takes its name, the service's.
ALTER TABLE certificate_operations DROP COLUMN step;
ALTER TABLE certificate_operations RENAME COLUMN state TO step;

-- 3. Operation fields under the service's names (Operation.certificate, .replaces, .failure,
--    .started_at).
ALTER TABLE certificate_operations RENAME COLUMN new_certificate_id TO certificate_id;
ALTER TABLE certificate_operations RENAME COLUMN expected_active_id TO replaces_id;
ALTER TABLE certificate_operations RENAME COLUMN error_kind TO failure_code;
ALTER TABLE certificate_operations RENAME COLUMN error_message TO failure_message;
ALTER TABLE certificate_operations RENAME COLUMN error_remediation TO failure_remediation;
ALTER TABLE certificate_operations RENAME COLUMN created_at TO started_at;

-- 4. Organizations: the API's and the service's name, app_id and connection.
ALTER TABLE organizations RENAME COLUMN display_name TO name;
ALTER TABLE organizations RENAME COLUMN backup_app_id TO app_id;
ALTER TABLE organizations RENAME COLUMN connection_state TO connection;

-- 5. API tokens: the API's and the service's name (was label).
ALTER TABLE api_tokens RENAME COLUMN label TO name;

-- 6. Certificates: the DER is StoredCertificate.der (was public_der; the private key has its
--    own, encrypted column).
ALTER TABLE certificates RENAME COLUMN public_der TO der;
