-- 0008, PostgreSQL flavour. Keep in step with migrations/sqlite/0008_api_token_owner.sql.
--
-- An API token acts for an account (its owner): when the account is disabled or deleted, the
-- token stops working, and it never acts above the account's role. Until now a token only named
-- its creator in created_by (a user name, or 'token:NAME' when made with another token), which
-- cannot be followed to an account reliably. Tokens whose creator is an account get it as owner;
-- the rest (made with a token, or by a name no longer present) cannot be tied to an account and
-- are revoked here rather than left working for nobody in particular.

ALTER TABLE api_tokens ADD COLUMN owner_id TEXT REFERENCES users (id) ON DELETE CASCADE;

UPDATE api_tokens
SET owner_id = (SELECT users.id FROM users WHERE users.username = api_tokens.created_by);

UPDATE api_tokens
SET revoked_at = created_at
WHERE owner_id IS NULL AND revoked_at IS NULL;

CREATE INDEX api_tokens_by_owner ON api_tokens (owner_id);

-- A session's CSRF token is derived from the session id by the service (nothing to store), so
-- the hash of a second secret that nothing read goes.
ALTER TABLE sessions DROP COLUMN csrf_hash;
