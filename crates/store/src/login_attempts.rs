//! Failed sign-ins per (user name, client address): one row per pair with its count and last
//! failure, written by compare-and-swap on the count; and the service's [`SignInRecords`] port
//! over it (with the pruning of expired sessions). The rule that reads them (how long a pair
//! waits) is the service's `LoginThrottle`.

use tenantlink_service::{BoxFuture, RepoResult, SignInFailures, SignInRecords};
use time::OffsetDateTime;

use crate::db::{Columns, in_table, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};
use crate::repository::InPort;
use crate::{Store, StoreRepository};

impl Store {
    pub async fn sign_in_failures(
        &self,
        username: &str,
        address: &str,
    ) -> StoreResult<Option<SignInFailures>> {
        with_pool!(self, |pool| {
            sqlx::query(
                "SELECT failures, last_failure_at FROM sign_in_failures \
                 WHERE username = $1 AND address = $2",
            )
            .bind(username)
            .bind(address)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read failed sign-ins"))?
            .as_ref()
            .map(decode_failures)
            .transpose()
        })
    }

    /// Sets the pair's count to `next` and its last failure to `at` if its stored count is
    /// `seen` (0: no row); returns whether it did. One statement, so atomic on both databases.
    pub async fn count_sign_in_failure(
        &self,
        username: &str,
        address: &str,
        seen: u32,
        next: u32,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let at = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            let statement = if seen == 0 {
                sqlx::query(
                    "INSERT INTO sign_in_failures (username, address, failures, last_failure_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (username, address) DO NOTHING",
                )
            } else {
                sqlx::query(
                    "UPDATE sign_in_failures SET failures = $3, last_failure_at = $4 \
                     WHERE username = $1 AND address = $2 AND failures = $5",
                )
            };
            statement
                .bind(username)
                .bind(address)
                .bind(i64::from(next))
                .bind(at)
                .bind(i64::from(seen))
                .execute(pool)
                .await
                .map_err(StoreError::db("count a failed sign-in"))?
                .rows_affected()
        });
        Ok(affected == 1)
    }

    /// Forgets one pair's failures (after its right password).
    pub async fn clear_sign_in_failures(&self, username: &str, address: &str) -> StoreResult<()> {
        with_pool!(self, |pool| {
            sqlx::query("DELETE FROM sign_in_failures WHERE username = $1 AND address = $2")
                .bind(username)
                .bind(address)
                .execute(pool)
                .await
                .map_err(StoreError::db("clear failed sign-ins"))?;
        });
        Ok(())
    }

    /// Drops the pairs whose last failure is before `before`; returns how many.
    pub async fn prune_sign_in_failures(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let before = to_micros(before)?;
        Ok(with_pool!(self, |pool| {
            sqlx::query("DELETE FROM sign_in_failures WHERE last_failure_at < $1")
                .bind(before)
                .execute(pool)
                .await
                .map_err(StoreError::db("prune failed sign-ins"))?
                .rows_affected()
        }))
    }
}

fn decode_failures(row: &impl Columns) -> StoreResult<SignInFailures> {
    let row = &in_table("sign_in_failures", row);
    let failures = row.unsigned("failures")?;
    Ok(SignInFailures {
        failures: u32::try_from(failures)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| row.corrupt("failures", failures.to_string()))?,
        last_failure_at: row.time("last_failure_at")?,
    })
}

impl SignInRecords for StoreRepository {
    fn sign_in_failures<'a>(
        &'a self,
        username: &'a str,
        address: &'a str,
    ) -> BoxFuture<'a, RepoResult<Option<SignInFailures>>> {
        Box::pin(async move {
            self.store()
                .sign_in_failures(username, address)
                .await
                .port("read failed sign-ins")
        })
    }

    fn count_sign_in_failure<'a>(
        &'a self,
        username: &'a str,
        address: &'a str,
        seen: u32,
        next: u32,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<bool>> {
        Box::pin(async move {
            self.store()
                .count_sign_in_failure(username, address, seen, next, at)
                .await
                .port("count a failed sign-in")
        })
    }

    fn clear_sign_in_failures<'a>(
        &'a self,
        username: &'a str,
        address: &'a str,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            self.store()
                .clear_sign_in_failures(username, address)
                .await
                .port("clear failed sign-ins")
        })
    }

    fn prune_sign_in_failures(&self, before: OffsetDateTime) -> BoxFuture<'_, RepoResult<u64>> {
        Box::pin(async move {
            self.store()
                .prune_sign_in_failures(before)
                .await
                .port("prune failed sign-ins")
        })
    }

    fn prune_expired_sessions(&self, now: OffsetDateTime) -> BoxFuture<'_, RepoResult<u64>> {
        Box::pin(async move {
            self.store()
                .delete_expired_sessions(now)
                .await
                .port("remove expired sessions")
        })
    }
}
