-- 0009, PostgreSQL flavour. Keep in step with migrations/sqlite/0009_operation_heartbeat.sql.
--
-- Certificate operations run on background tasks of the instance holding them
-- (`sign_in_holder`). That instance refreshes `heartbeat_at` while it runs; another instance
-- takes over (compare-and-swap on version and holder), or an administrator abandons, an
-- unfinished operation whose holder has been silent for longer than the configured time.
-- NULL on rows written before 0009: no heartbeat, so their holder counts as gone.
--
-- `owner` / `lease_expires_at` (a lease scheme from 0001 that the service never used) go: the
-- holder and its heartbeat replace them.
--
-- Backup runs record the instance running them and its heartbeat too, so that an instance
-- recovering interrupted runs at start-up fails only its own (or those of a silent instance),
-- never a run another live instance is carrying. NULL on older rows: recovered as before.

ALTER TABLE certificate_operations ADD COLUMN heartbeat_at BIGINT;
ALTER TABLE certificate_operations DROP COLUMN owner;
ALTER TABLE certificate_operations DROP COLUMN lease_expires_at;

ALTER TABLE backup_runs ADD COLUMN held_by TEXT;
ALTER TABLE backup_runs ADD COLUMN heartbeat_at BIGINT;
