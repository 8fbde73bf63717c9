//! Certificate operations (Generate / Upload / Rotate) as durable state machines, read and
//! written as the service's [`Operation`], and the atomic activation that ends them.
//!
//! The store guarantees that every change is a compare-and-swap on the row's `version`, that
//! only the steps of [`OperationStep::reachable_from`] follow each other (finished operations
//! never change again), that an organization has at most one unfinished operation (a partial
//! unique index), and that activation is all-or-nothing. Holding an operation (its holder's
//! heartbeat, and taking it over from a holder that went silent) is recorded here; deciding when
//! a holder is gone is the service's (`workflows::decisions::holder_gone`).

use tenantlink_service::{
    CertificateId, Operation, OperationFailure, OperationId, OperationStep, OrganizationId,
    SignInPrompt, StoredCertificate,
};
use time::OffsetDateTime;

use crate::Store;
use crate::certificates;
use crate::db::{Columns, in_table, opt_to_micros, to_micros, with_pool};
use crate::error::{Conflict, StoreError, StoreResult};

/// Fields to change; `None` leaves a field as it is (a field set once is never cleared).
#[derive(Debug, Clone, Default)]
pub struct OperationUpdate {
    pub step: Option<OperationStep>,
    pub sign_in: Option<SignInPrompt>,
    pub signed_in_as: Option<String>,
    pub certificate: Option<CertificateId>,
    pub failure: Option<OperationFailure>,
    /// Recorded when the operation starts, by the instance that asked for its device code.
    pub sign_in_holder: Option<String>,
}

/// "Activate `certificate` for `organization` if its active certificate is still
/// `expected_active` and `operation` is still at `expected_step` and `expected_version`."
#[derive(Debug, Clone)]
pub struct Activation {
    pub organization: OrganizationId,
    pub operation: OperationId,
    pub expected_step: OperationStep,
    pub expected_version: u64,
    pub certificate: CertificateId,
    pub expected_active: Option<CertificateId>,
}

/// The operation's columns plus the SHA-1 thumbprint of its certificate.
const SELECT: &str = "SELECT op.id, op.organization_id, op.kind, op.step, op.started_by, \
                      op.signed_in_as, op.replaces_id, op.certificate_id, op.user_code, \
                      op.verification_uri, op.device_code_expires_at, op.failure_code, \
                      op.failure_message, op.failure_remediation, \
                      op.sign_in_holder, op.heartbeat_at, op.version, op.started_at, op.updated_at, \
                      (SELECT c.sha1_thumbprint FROM certificates c WHERE c.id = op.certificate_id) \
                      AS sha1_thumbprint \
                      FROM certificate_operations op";

/// Same predicate as the partial unique index `certificate_operations_one_unfinished_per_organization`.
const NOT_FINAL: &str = "step NOT IN ('succeeded', 'failed', 'cancelled')";

impl Store {
    /// Stores a new operation as given, except that the organization's active certificate at
    /// this moment becomes the one activation must replace (`replaces`). While another
    /// operation of the organization is unfinished this fails with
    /// [`Conflict::OperationInProgress`]: the database's partial unique index decides, so of
    /// two concurrent calls exactly one wins.
    pub async fn create_operation(&self, operation: &Operation) -> StoreResult<Operation> {
        let organization = operation.organization;
        let sign_in = operation.sign_in.as_ref();
        let sign_in_expiry = opt_to_micros(sign_in.map(|s| s.expires_at))?;
        let failure = operation.failure.as_ref();
        let (started, updated) = (
            to_micros(operation.started_at)?,
            to_micros(operation.updated_at)?,
        );
        let version = version_column(operation.version)?;
        let heartbeat = opt_to_micros(operation.heartbeat_at)?;
        let inserted = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO certificate_operations (id, organization_id, kind, step, \
                 started_by, signed_in_as, replaces_id, certificate_id, user_code, \
                 verification_uri, device_code_expires_at, failure_code, failure_message, \
                 failure_remediation, sign_in_holder, heartbeat_at, version, started_at, \
                 updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, \
                 (SELECT id FROM certificates WHERE organization_id = $2 AND state = 'active'), \
                 $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            )
            .bind(operation.id.to_string())
            .bind(organization.to_string())
            .bind(operation.kind.as_str())
            .bind(operation.step.as_str())
            .bind(&operation.started_by)
            .bind(operation.signed_in_as.as_deref())
            .bind(operation.certificate.map(|c| c.to_string()))
            .bind(sign_in.map(|s| s.user_code.as_str()))
            .bind(sign_in.map(|s| s.verification_uri.as_str()))
            .bind(sign_in_expiry)
            .bind(failure.map(|f| f.code.as_str()))
            .bind(failure.map(|f| f.message.as_str()))
            .bind(failure.and_then(|f| remediation(f)))
            .bind(operation.sign_in_holder.as_deref())
            .bind(heartbeat)
            .bind(version)
            .bind(started)
            .bind(updated)
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(StoreError::db("start the certificate operation"))
        });
        match inserted {
            Ok(_) => self.operation(operation.id).await,
            // Unique constraints an insert can hit: the index of unfinished operations per
            // organization, or (an id used twice) the primary key.
            Err(err) if err.is_already_exists() => Err(self.in_progress(organization).await),
            Err(err) => Err(err),
        }
    }

    /// The conflict naming the organization's unfinished operation (read after losing the
    /// race, so it may in rare cases have finished meanwhile: then it is named generically).
    async fn in_progress(&self, organization: OrganizationId) -> StoreError {
        let running = self
            .operations(organization)
            .await
            .ok()
            .and_then(|ops| ops.into_iter().find(|op| !op.is_finished()));
        Conflict::OperationInProgress {
            operation: running
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |op| op.id.to_string()),
            started_by: running
                .map_or_else(|| "another administrator".to_owned(), |op| op.started_by),
        }
        .into()
    }

    pub async fn operation(&self, id: OperationId) -> StoreResult<Operation> {
        let sql = format!("{SELECT} WHERE op.id = $1");
        with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the operation"))?
                .ok_or_else(|| StoreError::not_found("certificate operation", id))?;
            decode(&row)
        })
    }

    /// The organization's operations, newest first.
    pub async fn operations(&self, organization: OrganizationId) -> StoreResult<Vec<Operation>> {
        let sql =
            format!("{SELECT} WHERE op.organization_id = $1 ORDER BY op.started_at DESC, op.id");
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(organization.to_string())
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list operations"))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    /// Unfinished operations, oldest first: what a starting service resumes or leaves to
    /// their holders.
    pub async fn unfinished_operations(&self) -> StoreResult<Vec<Operation>> {
        let sql = format!("{SELECT} WHERE op.{NOT_FINAL} ORDER BY op.started_at, op.id");
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list unfinished operations"))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    /// Sets `heartbeat_at` of `holder`'s unfinished operations to `at` (not the version: a
    /// heartbeat is not a change of the operation). Returns how many.
    pub async fn heartbeat_operations(&self, holder: &str, at: OffsetDateTime) -> StoreResult<u64> {
        let sql = format!(
            "UPDATE certificate_operations SET heartbeat_at = $2 \
             WHERE sign_in_holder = $1 AND {NOT_FINAL}"
        );
        let at = to_micros(at)?;
        Ok(with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(holder)
                .bind(at)
                .execute(pool)
                .await
                .map_err(StoreError::db("record the operations' heartbeat"))?
                .rows_affected()
        }))
    }

    /// Makes `new_holder` the holder of operation `id` with a heartbeat at `at`, only if it is
    /// unfinished, at `expected_version` and held by `expected_holder` (`None`: no holder);
    /// bumps the version. Otherwise [`Conflict::OperationTakenOver`] and nothing changes, so of
    /// two instances taking over one operation exactly one wins.
    pub async fn take_over_operation(
        &self,
        id: OperationId,
        expected_version: u64,
        expected_holder: Option<&str>,
        new_holder: &str,
        at: OffsetDateTime,
    ) -> StoreResult<Operation> {
        let sql = format!(
            "UPDATE certificate_operations SET sign_in_holder = $4, heartbeat_at = $5, \
             version = version + 1 \
             WHERE id = $1 AND version = $2 AND {NOT_FINAL} \
             AND (sign_in_holder = $3 OR (sign_in_holder IS NULL AND $3 IS NULL))"
        );
        let expected = version_column(expected_version)?;
        let at = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .bind(expected)
                .bind(expected_holder)
                .bind(new_holder)
                .bind(at)
                .execute(pool)
                .await
                .map_err(StoreError::db("take the operation over"))?
                .rows_affected()
        });
        let current = self.operation(id).await?;
        if affected == 0 {
            return Err(Conflict::OperationTakenOver {
                operation: id.to_string(),
            }
            .into());
        }
        Ok(current)
    }

    /// Applies `update` if the operation is still at `expected_version` and the change of
    /// step (if any) is one of [`OperationStep::reachable_from`]. A stale version is
    /// [`Conflict::OperationVersionChanged`] (or `OperationStepChanged` when someone finished
    /// it meanwhile); a step that may not follow is [`StoreError::InvalidTransition`].
    pub async fn update_operation(
        &self,
        id: OperationId,
        expected_version: u64,
        update: OperationUpdate,
        at: OffsetDateTime,
    ) -> StoreResult<Operation> {
        let sign_in = update.sign_in.as_ref();
        let sign_in_expiry = opt_to_micros(sign_in.map(|s| s.expires_at))?;
        let allowed_from = match update.step {
            Some(next) => step_list(next.reachable_from()),
            None => NOT_FINAL.to_owned(),
        };
        let failure = update.failure.as_ref();
        let sql = format!(
            "UPDATE certificate_operations SET \
             step = COALESCE($3, step), \
             user_code = COALESCE($4, user_code), verification_uri = COALESCE($5, verification_uri), \
             device_code_expires_at = COALESCE($6, device_code_expires_at), \
             certificate_id = COALESCE($7, certificate_id), \
             failure_code = COALESCE($8, failure_code), failure_message = COALESCE($9, failure_message), \
             failure_remediation = COALESCE($10, failure_remediation), \
             signed_in_as = COALESCE($11, signed_in_as), \
             sign_in_holder = COALESCE($13, sign_in_holder), \
             version = version + 1, updated_at = $12 \
             WHERE id = $1 AND version = $2 AND {allowed_from}"
        );
        let at = to_micros(at)?;
        let expected = version_column(expected_version)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .bind(expected)
                .bind(update.step.map(|s| s.as_str()))
                .bind(sign_in.map(|s| s.user_code.as_str()))
                .bind(sign_in.map(|s| s.verification_uri.as_str()))
                .bind(sign_in_expiry)
                .bind(update.certificate.map(|c| c.to_string()))
                .bind(failure.map(|f| f.code.as_str()))
                .bind(failure.map(|f| f.message.as_str()))
                .bind(failure.and_then(|f| remediation(f)))
                .bind(update.signed_in_as.as_deref())
                .bind(at)
                .bind(update.sign_in_holder.as_deref())
                .execute(pool)
                .await
                .map_err(StoreError::db("update the operation"))?
                .rows_affected()
        });
        let current = self.operation(id).await?;
        if affected == 0 {
            return Err(match update.step {
                // Our view was current, so the change of step itself is what is refused.
                Some(to) if current.version == expected_version => StoreError::InvalidTransition {
                    operation: id.to_string(),
                    from: current.step,
                    to,
                },
                _ if current.is_finished() => Conflict::OperationStepChanged {
                    operation: id.to_string(),
                    expected: "an unfinished step".into(),
                }
                .into(),
                _ => Conflict::OperationVersionChanged {
                    operation: id.to_string(),
                    expected: expected_version,
                }
                .into(),
            });
        }
        Ok(current)
    }

    /// Activates a pending certificate and finishes its operation, atomically:
    /// the operation must still be at `expected_step` and `expected_version`, the organization's active
    /// certificate must still be `expected_active` (which is retired), and the certificate
    /// must be pending. If any check fails nothing changes and a [`Conflict`] says which.
    /// The partial unique index on active certificates backs this up against any race.
    pub async fn activate_certificate(
        &self,
        activation: Activation,
        at: OffsetDateTime,
    ) -> StoreResult<StoredCertificate> {
        let Activation {
            organization,
            operation,
            expected_step,
            expected_version,
            certificate,
            expected_active,
        } = activation;
        let (org, op, cert) = (
            organization.to_string(),
            operation.to_string(),
            certificate.to_string(),
        );
        let expected_version = version_column(expected_version)?;
        let active_changed = || Conflict::ActiveCertificateChanged {
            expected: expected_active.map_or_else(|| "none".to_owned(), |id| id.to_string()),
        };
        let at = to_micros(at)?;
        with_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("begin a transaction"))?;
            // First statement is a write: SQLite takes its write lock here, so concurrent
            // activations queue instead of deadlocking on a lock upgrade.
            let finished = sqlx::query(
                "UPDATE certificate_operations SET step = 'succeeded', \
                 certificate_id = $4, version = version + 1, updated_at = $5 \
                 WHERE id = $1 AND organization_id = $2 AND step = $3 AND version = $6 \
                 AND (certificate_id IS NULL OR certificate_id = $4)",
            )
            .bind(&op)
            .bind(&org)
            .bind(expected_step.as_str())
            .bind(&cert)
            .bind(at)
            .bind(expected_version)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("finish the operation"))?
            .rows_affected();
            if finished == 0 {
                return Err(Conflict::OperationStepChanged {
                    operation: op,
                    expected: format!("{expected_step} at version {expected_version}"),
                }
                .into());
            }

            match expected_active {
                Some(previous) => {
                    let retired = sqlx::query(
                        "UPDATE certificates SET state = 'retired', retired_at = $3 \
                         WHERE id = $1 AND organization_id = $2 AND state = 'active'",
                    )
                    .bind(previous.to_string())
                    .bind(&org)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::db("retire the previous certificate"))?
                    .rows_affected();
                    if retired == 0 {
                        return Err(active_changed().into());
                    }
                }
                None => {
                    let row = sqlx::query(
                        "SELECT COUNT(*) AS active FROM certificates \
                         WHERE organization_id = $1 AND state = 'active'",
                    )
                    .bind(&org)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(StoreError::db("check the active certificate"))?;
                    if in_table("certificates", &row).int("active")? != 0 {
                        return Err(active_changed().into());
                    }
                }
            }

            let activated = sqlx::query(
                "UPDATE certificates SET state = 'active', activated_at = $3 \
                 WHERE id = $1 AND organization_id = $2 AND state = 'pending'",
            )
            .bind(&cert)
            .bind(&org)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::db("activate the certificate")(e) {
                // Lost a race that the checks above could not see (PostgreSQL, no previous
                // active certificate): the index says someone else activated first.
                StoreError::AlreadyExists { .. } => active_changed().into(),
                other => other,
            })?
            .rows_affected();
            if activated == 0 {
                return Err(Conflict::CertificateNotPending { certificate: cert }.into());
            }

            let sql = format!(
                "SELECT {} FROM certificates WHERE id = $1",
                certificates::COLUMNS
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&cert)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::db("read the activated certificate"))?;
            let record = certificates::decode(&row)?;
            tx.commit()
                .await
                .map_err(StoreError::db("commit the activation"))?;
            Ok(record)
        })
    }
}

fn decode(row: &impl Columns) -> StoreResult<Operation> {
    let row = &in_table("certificate_operations", row);
    let sign_in = match (
        row.opt_text("user_code")?,
        row.opt_text("verification_uri")?,
        row.opt_time("device_code_expires_at")?,
    ) {
        (Some(user_code), Some(verification_uri), Some(expires_at)) => Some(SignInPrompt {
            user_code,
            verification_uri,
            expires_at,
        }),
        _ => None,
    };
    let failure = match (
        row.opt_text("failure_code")?,
        row.opt_text("failure_message")?,
    ) {
        (Some(code), Some(message)) => Some(OperationFailure {
            code,
            message,
            // NULL: none was recorded, which the service spells as an empty text.
            remediation: row.opt_text("failure_remediation")?.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(Operation {
        id: row.parsed("id")?,
        organization: row.parsed("organization_id")?,
        kind: row.parsed("kind")?,
        step: row.parsed("step")?,
        started_by: row.text("started_by")?,
        started_at: row.time("started_at")?,
        updated_at: row.time("updated_at")?,
        version: row.unsigned("version")?,
        sign_in,
        signed_in_as: row.opt_text("signed_in_as")?,
        certificate: row.opt_parsed("certificate_id")?,
        sha1_thumbprint: row.opt_text("sha1_thumbprint")?,
        replaces: row.opt_parsed("replaces_id")?,
        failure,
        sign_in_holder: row.opt_text("sign_in_holder")?,
        heartbeat_at: row.opt_time("heartbeat_at")?,
    })
}

/// A failure's remediation as stored: `NULL` when there is none.
fn remediation(failure: &OperationFailure) -> Option<&str> {
    Some(failure.remediation.as_str()).filter(|r| !r.is_empty())
}

/// Versions are BIGINT columns; one beyond `i64::MAX` cannot be stored.
fn version_column(version: u64) -> StoreResult<i64> {
    i64::try_from(version).map_err(|_| StoreError::VersionOutOfRange { version })
}

/// `step IN ('a', 'b')` from closed-set values (never user input); `1 = 0` when empty.
fn step_list(steps: &[OperationStep]) -> String {
    if steps.is_empty() {
        return "1 = 0".to_owned();
    }
    let quoted: Vec<String> = steps.iter().map(|s| format!("'{}'", s.as_str())).collect();
    format!("step IN ({})", quoted.join(", "))
}
