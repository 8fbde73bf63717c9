-- 0006, PostgreSQL flavour. Keep in step with migrations/sqlite/0006_organization_assertion_profile.sql.
--
-- How an organization's client assertions are shaped when tenantlink asks Entra ID for an
-- app-only token: 'rs256' (RS256 + x5t, SHA-1; what every Entra deployment accepts) or 'ps256'
-- (PS256 + x5t#S256, SHA-256). Existing organizations keep what they were signed with so far.

ALTER TABLE organizations ADD COLUMN assertion_profile TEXT NOT NULL DEFAULT 'rs256';
