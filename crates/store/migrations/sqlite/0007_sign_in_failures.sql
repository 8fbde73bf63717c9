-- 0007, SQLite flavour. Keep in step with migrations/postgres/0007_sign_in_failures.sql.
--
-- Failed sign-ins are kept per (user name, client address) as one row with a count and the time
-- of the last failure, instead of one row per attempt: the service's delay schedule needs only
-- those two values, a row per pair is updated by compare-and-swap on its count (so parallel
-- attempts are all counted before any password is checked), and a flood of attempts for one
-- pair costs one row, not one per attempt. The per-attempt table goes: its rows only fed the
-- per-name lockout this replaces, and they expire within minutes anyway.

DROP TABLE login_failures;

CREATE TABLE sign_in_failures (
    username         TEXT NOT NULL,
    address          TEXT NOT NULL,
    failures         BIGINT NOT NULL CHECK (failures > 0),
    last_failure_at  BIGINT NOT NULL,
    PRIMARY KEY (username, address)
);
CREATE INDEX sign_in_failures_by_last_failure ON sign_in_failures (last_failure_at);
