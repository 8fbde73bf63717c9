-- 0003, SQLite flavour. Keep in step with migrations/postgres/0003_due_policies_order.sql.
--
-- The scheduler reads only as many due policies as it has free run slots:
--   WHERE enabled = $2 AND next_due_at IS NOT NULL AND next_due_at <= $1
--   ORDER BY next_due_at, id LIMIT $3
-- The index of 0001, (enabled, next_due_at), orders by due time but not by id, so when many
-- policies share one due time (a fleet created at once, every interval policy dispatched in one
-- tick) the database still reads and sorts every tied row to find the first few. With id in
-- the index the first rows in index order are the answer, whatever the ties. It replaces the
-- old index, of which it is an extension.

CREATE INDEX backup_policies_due_order ON backup_policies (enabled, next_due_at, id);
DROP INDEX backup_policies_due;
