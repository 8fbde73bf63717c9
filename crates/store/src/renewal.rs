//! Each organization's renewal policy and state (table `organization_renewal`, migrations 0011
//! and 0012), read as the service's [`RenewalRecord`], and the organization's renewal claim.
//! No row means the service's defaults; the first write of either half, or the first claim,
//! inserts the row with the rest at its defaults.

use tenantlink_service::OrganizationId;
use tenantlink_service::renewal::{RenewalFailure, RenewalPolicy, RenewalRecord, RenewalState};
use time::{Duration, OffsetDateTime};

use crate::Store;
use crate::db::{Columns, in_table, opt_to_micros, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};

const TABLE: &str = "organization_renewal";

/// The record's columns (the claim's are the scheduler's): what [`decode`] reads.
pub(crate) const COLUMNS: &str = "organization_id, automatic, lifetime_days, tenant_max_lifetime_days, \
                       renew_at_fraction, jitter_seconds, backoff_base_seconds, \
                       backoff_cap_seconds, uploaded_certificates, failed_attempts, \
                       last_attempt_at, last_failure_at, last_failure_code, \
                       last_failure_message, last_failure_retryable, next_renewal_at, updated_at, \
                       retry_not_before";

const POLICY_UPDATE: &str = "automatic = excluded.automatic, \
                             lifetime_days = excluded.lifetime_days, \
                             tenant_max_lifetime_days = excluded.tenant_max_lifetime_days, \
                             renew_at_fraction = excluded.renew_at_fraction, \
                             jitter_seconds = excluded.jitter_seconds, \
                             backoff_base_seconds = excluded.backoff_base_seconds, \
                             backoff_cap_seconds = excluded.backoff_cap_seconds, \
                             uploaded_certificates = excluded.uploaded_certificates, \
                             updated_at = excluded.updated_at";

const STATE_UPDATE: &str = "failed_attempts = excluded.failed_attempts, \
                            last_attempt_at = excluded.last_attempt_at, \
                            last_failure_at = excluded.last_failure_at, \
                            last_failure_code = excluded.last_failure_code, \
                            last_failure_message = excluded.last_failure_message, \
                            last_failure_retryable = excluded.last_failure_retryable, \
                            next_renewal_at = excluded.next_renewal_at, \
                            retry_not_before = excluded.retry_not_before, \
                            updated_at = excluded.updated_at";

/// The claim is taken when it is free (never taken or released), expired, or already the
/// holder's; `$21` is the claimer's now. The row is the target table's, `excluded` the claim.
const CLAIM_UPDATE: &str = "claim_holder = excluded.claim_holder, \
                            claim_until = excluded.claim_until \
                            WHERE organization_renewal.claim_until IS NULL \
                            OR organization_renewal.claim_until < $21 \
                            OR organization_renewal.claim_holder = excluded.claim_holder";

/// What a write replaces: one half of the row, or the claim (both halves kept).
#[derive(Clone, Copy)]
enum Write<'a> {
    Policy,
    State,
    Claim {
        holder: &'a str,
        now: i64,
        until: i64,
    },
}

impl Store {
    /// The organization's renewal policy and state; the defaults when none was written.
    pub async fn renewal(&self, organization: OrganizationId) -> StoreResult<RenewalRecord> {
        let sql = format!(
            "SELECT o.id AS known, r.* FROM organizations o \
             LEFT JOIN {TABLE} r ON r.organization_id = o.id WHERE o.id = $1"
        );
        with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(organization.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the renewal policy"))?
                .ok_or_else(|| StoreError::not_found("organization", organization))?;
            decode(&row)
        })
    }

    /// Replaces the policy, keeping the state; returns both.
    pub async fn set_renewal_policy(
        &self,
        organization: OrganizationId,
        policy: &RenewalPolicy,
        at: OffsetDateTime,
    ) -> StoreResult<RenewalRecord> {
        let record = RenewalRecord {
            policy: policy.clone(),
            state: RenewalState::default(),
        };
        self.upsert_renewal(organization, &record, Write::Policy, at)
            .await?;
        self.renewal(organization).await
    }

    /// Replaces the state, keeping the policy.
    pub async fn set_renewal_state(
        &self,
        organization: OrganizationId,
        state: &RenewalState,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let record = RenewalRecord {
            policy: RenewalPolicy::default(),
            state: state.clone(),
        };
        self.upsert_renewal(organization, &record, Write::State, at)
            .await
            .map(|_| ())
    }

    /// Claims the organization's renewal for `holder` until `until`, if nobody else holds an
    /// unexpired claim (at `now`); true when claimed (also when it already was the holder's,
    /// whose claim is extended). One statement, so of two instances claiming at once exactly one
    /// gets it; a row the claim creates has the default policy and an empty state.
    pub async fn claim_renewal(
        &self,
        organization: OrganizationId,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<bool> {
        let claim = Write::Claim {
            holder,
            now: to_micros(now)?,
            until: to_micros(until)?,
        };
        let affected = self
            .upsert_renewal(organization, &RenewalRecord::default(), claim, now)
            .await?;
        Ok(affected > 0)
    }

    /// Ends `holder`'s claim on the organization's renewal; another holder's claim stays.
    pub async fn release_renewal(
        &self,
        organization: OrganizationId,
        holder: &str,
    ) -> StoreResult<()> {
        let sql = format!(
            "UPDATE {TABLE} SET claim_holder = NULL, claim_until = NULL \
             WHERE organization_id = $1 AND claim_holder = $2"
        );
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(organization.to_string())
                .bind(holder)
                .execute(pool)
                .await
                .map_err(StoreError::db("release the renewal claim"))?;
        });
        Ok(())
    }

    /// One statement, so two writers of different halves (or a claim) cannot undo each other.
    /// Returns the rows written: 0 only for a claim someone else holds.
    async fn upsert_renewal(
        &self,
        organization: OrganizationId,
        record: &RenewalRecord,
        write: Write<'_>,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        // The foreign key would refuse an unknown organization too, but as a storage error.
        self.organization(organization).await?;
        const VALUES: &str =
            "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18";
        let sql = match write {
            Write::Policy => format!(
                "INSERT INTO {TABLE} ({COLUMNS}) VALUES ({VALUES}) \
                 ON CONFLICT (organization_id) DO UPDATE SET {POLICY_UPDATE}"
            ),
            Write::State => format!(
                "INSERT INTO {TABLE} ({COLUMNS}) VALUES ({VALUES}) \
                 ON CONFLICT (organization_id) DO UPDATE SET {STATE_UPDATE}"
            ),
            Write::Claim { .. } => format!(
                "INSERT INTO {TABLE} ({COLUMNS}, claim_holder, claim_until) \
                 VALUES ({VALUES}, $19, $20) \
                 ON CONFLICT (organization_id) DO UPDATE SET {CLAIM_UPDATE}"
            ),
        };
        let policy = &record.policy;
        let state = &record.state;
        let failure = state.last_failure.as_ref();
        let seconds = |d: Duration| d.whole_seconds();
        let days = |d: Option<u32>| d.map(i64::from);
        let failure_at = opt_to_micros(failure.map(|f| f.at))?;
        let last_attempt_at = opt_to_micros(state.last_attempt_at)?;
        let next_renewal_at = opt_to_micros(state.next_renewal_at)?;
        let retry_not_before = opt_to_micros(state.retry_not_before)?;
        let at = to_micros(at)?;
        Ok(with_pool!(self, |pool| {
            let query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(organization.to_string())
                .bind(policy.automatic)
                .bind(days(policy.lifetime_days))
                .bind(days(policy.tenant_max_lifetime_days))
                .bind(policy.renew_at.to_string())
                .bind(seconds(policy.jitter))
                .bind(seconds(policy.backoff_base))
                .bind(seconds(policy.backoff_cap))
                .bind(policy.uploaded.as_str())
                .bind(i64::from(state.failed_attempts))
                .bind(last_attempt_at)
                .bind(failure_at)
                .bind(failure.map(|f| f.code.clone()))
                .bind(failure.map(|f| f.message.clone()))
                .bind(failure.is_some_and(|f| f.retryable))
                .bind(next_renewal_at)
                .bind(at)
                .bind(retry_not_before);
            let query = match write {
                Write::Claim { holder, now, until } => query.bind(holder).bind(until).bind(now),
                Write::Policy | Write::State => query,
            };
            query
                .execute(pool)
                .await
                .map_err(StoreError::db("write the renewal policy, state or claim"))?
                .rows_affected()
        }))
    }
}

pub(crate) fn decode(row: &impl Columns) -> StoreResult<RenewalRecord> {
    let row = &in_table(TABLE, row);
    if row.opt_text("organization_id")?.is_none() {
        return Ok(RenewalRecord::default());
    }
    let policy = RenewalPolicy {
        automatic: row.flag("automatic")?,
        lifetime_days: opt_days(row, "lifetime_days")?,
        tenant_max_lifetime_days: opt_days(row, "tenant_max_lifetime_days")?,
        renew_at: row.parsed("renew_at_fraction")?,
        jitter: Duration::seconds(row.int("jitter_seconds")?),
        backoff_base: Duration::seconds(row.int("backoff_base_seconds")?),
        backoff_cap: Duration::seconds(row.int("backoff_cap_seconds")?),
        uploaded: row.parsed("uploaded_certificates")?,
    };
    // A policy the service would refuse (written by hand, or by a later release) is not used.
    if let Err(refused) = policy.validate() {
        // The service's field names are the column names.
        return Err(row.corrupt(refused.field, refused.problem));
    }
    let failed_attempts = row.unsigned("failed_attempts")?;
    let failed_attempts = u32::try_from(failed_attempts)
        .map_err(|_| row.corrupt("failed_attempts", failed_attempts.to_string()))?;
    let last_failure = match (
        row.opt_time("last_failure_at")?,
        row.opt_text("last_failure_code")?,
        row.opt_text("last_failure_message")?,
    ) {
        (None, None, None) => None,
        (Some(at), Some(code), Some(message)) => Some(RenewalFailure {
            at,
            code,
            message,
            retryable: row.flag("last_failure_retryable")?,
        }),
        // Half a failure: which part is missing is what the error names.
        (at, code, _) => {
            let column = if at.is_none() {
                "last_failure_at"
            } else if code.is_none() {
                "last_failure_code"
            } else {
                "last_failure_message"
            };
            return Err(row.corrupt(column, "NULL beside a recorded failure"));
        }
    };
    Ok(RenewalRecord {
        policy,
        state: RenewalState {
            failed_attempts,
            last_attempt_at: row.opt_time("last_attempt_at")?,
            last_failure,
            next_renewal_at: row.opt_time("next_renewal_at")?,
            retry_not_before: row.opt_time("retry_not_before")?,
        },
    })
}

fn opt_days(row: &impl Columns, column: &'static str) -> StoreResult<Option<u32>> {
    match row.opt_int(column)? {
        None => Ok(None),
        Some(days) => u32::try_from(days)
            .map(Some)
            .map_err(|_| row.corrupt(column, days.to_string())),
    }
}
