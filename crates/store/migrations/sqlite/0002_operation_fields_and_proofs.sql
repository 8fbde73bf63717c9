-- 0002, SQLite flavour. Keep in step with migrations/postgres/0002_operation_fields_and_proofs.sql.
--
-- 1. Real columns for what the service adapter used to pack into text: who signed in at the
--    device page (was "signed in as …" in `step`), what to do about a failure (was appended to
--    `error_message` after "\nWhat to do: "), and a `cancelled` state (was `failed` with
--    error_kind 'cancelled'). Rows written before this migration are unpacked below.
-- 2. At most one unfinished operation per organization, enforced by a partial unique index.
-- 3. The outcome of the latest app-only token request made with each certificate (its proof),
--    so the certificate page can say "not attached" without asking Graph on every view.

ALTER TABLE certificate_operations ADD COLUMN signed_in_as TEXT;
ALTER TABLE certificate_operations ADD COLUMN error_remediation TEXT;

UPDATE certificate_operations
   SET signed_in_as = substr(step, length('signed in as ') + 1)
 WHERE step LIKE 'signed in as %';

-- Both SET expressions read the row as it was before this statement.
UPDATE certificate_operations
   SET error_remediation = substr(error_message,
                                  instr(error_message, char(10) || 'What to do: ') + length(char(10) || 'What to do: ')),
       error_message = substr(error_message, 1, instr(error_message, char(10) || 'What to do: ') - 1)
 WHERE instr(error_message, char(10) || 'What to do: ') > 0;

UPDATE certificate_operations
   SET state = 'cancelled', error_kind = NULL, error_message = NULL
 WHERE state = 'failed' AND error_kind = 'cancelled';

-- Before 0002 only the application checked for a running operation, so a race could leave two
-- unfinished operations for one organization. Keep the oldest; fail the others (their pending
-- certificates were never activated, so they are discarded), or the index below cannot be built.
UPDATE certificate_operations
   SET state = 'failed',
       error_kind = 'superseded',
       error_message = 'Another operation for this organization was started first; only one can run at a time.',
       error_remediation = 'Open the SSL Certificate page and start again if the certificate still needs replacing.'
 WHERE state NOT IN ('succeeded', 'failed', 'cancelled')
   AND EXISTS (
       SELECT 1 FROM certificate_operations AS older
        WHERE older.organization_id = certificate_operations.organization_id
          AND older.state NOT IN ('succeeded', 'failed', 'cancelled')
          AND (older.created_at < certificate_operations.created_at
               OR (older.created_at = certificate_operations.created_at
                   AND older.id < certificate_operations.id)));

UPDATE certificates
   SET state = 'discarded'
 WHERE state = 'pending'
   AND id IN (SELECT new_certificate_id FROM certificate_operations
               WHERE error_kind = 'superseded' AND new_certificate_id IS NOT NULL);

-- "Two administrators cannot both start replacing the certificate", where it cannot be raced.
CREATE UNIQUE INDEX certificate_operations_one_unfinished_per_organization
    ON certificate_operations (organization_id)
    WHERE state NOT IN ('succeeded', 'failed', 'cancelled');

ALTER TABLE certificates ADD COLUMN proof_outcome TEXT
    CHECK (proof_outcome IN ('accepted', 'key_not_registered', 'key_expired', 'refused'));
ALTER TABLE certificates ADD COLUMN proof_source TEXT
    CHECK (proof_source IN ('activation', 'connection_check', 'backup_run'));
ALTER TABLE certificates ADD COLUMN proof_detail TEXT;
ALTER TABLE certificates ADD COLUMN proof_at BIGINT;
