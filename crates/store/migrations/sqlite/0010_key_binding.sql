-- 0010, SQLite flavour. Keep in step with migrations/postgres/0010_key_binding.sql.
--
-- Which associated data a certificate's encrypted private key is bound to:
--   1: the certificate's id only (rows written before 0010);
--   2: the certificate's id, its organization and its SHA-256 thumbprint, so a row moved to
--      another organization, or given another certificate, no longer decrypts.
-- Re-encrypting needs the master key, which SQL never sees: `tenantlink serve` rewraps the
-- rows still at 1 when it starts (Store::upgrade_key_bindings), before it serves.

ALTER TABLE certificates ADD COLUMN key_binding INTEGER NOT NULL DEFAULT 1
    CHECK (key_binding IN (1, 2));
