-- 0004, PostgreSQL flavour. Keep in step with migrations/sqlite/0004_operation_sign_in_holder.sql.
--
-- A certificate operation's device code and delegated token live only in the memory of the
-- tenantlink instance that started it (no token is ever stored). With several instances on one
-- PostgreSQL database, the others must know that the secrets are elsewhere rather than lost:
-- `sign_in_holder` is the stable id of the instance (DATA_DIR/instance-id) holding them. Only
-- that instance (or its next incarnation after a restart) may end the operation as lost or
-- resume it; any instance may still cancel it or end it once its sign-in code has expired.
-- NULL on rows written before 0004: those keep the earlier behaviour (any instance ends them).

ALTER TABLE certificate_operations ADD COLUMN sign_in_holder TEXT;
