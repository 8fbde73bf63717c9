//! Certificate operations (Generate / Upload) as durable state machines, and the atomic
//! activation that ends them.
//!
//! The store guarantees that every change is a compare-and-swap on the row's `version`, that
//! only the transitions of [`OperationState::reachable_from`] happen (finished operations never
//! change again), that an organization has at most one unfinished operation (a partial unique
//! index), and that activation is all-or-nothing.

use time::OffsetDateTime;

use crate::Store;
use crate::certificates::{self, CertificateRecord};
use crate::db::{Columns, opt_to_micros, to_micros, with_pool};
use crate::error::{Conflict, StoreError, StoreResult};
use crate::ids::{CertificateId, OperationId, OrganizationId, text_enum};

text_enum!(
    OperationKind {
        Generate => "generate",
        Upload => "upload",
    }
);

text_enum!(
    /// Where an operation stands. `succeeded`, `failed` and `cancelled` are final.
    OperationState {
        AwaitingSignIn => "awaiting_sign_in",
        AwaitingInput => "awaiting_input",
        Attaching => "attaching",
        Proving => "proving",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

impl OperationState {
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            OperationState::Succeeded | OperationState::Failed | OperationState::Cancelled
        )
    }

    /// The states [`Store::update_operation`] may move an operation from into `self`:
    ///
    /// ```text
    /// awaiting_sign_in ─► awaiting_input ─► attaching ─► proving ─► (activate) succeeded
    ///                          └──────────────────────────► proving
    /// any unfinished ─► failed;   awaiting_sign_in / awaiting_input ─► cancelled
    /// ```
    ///
    /// Staying in a state is allowed (progress text, sign-in prompt). `succeeded` is reached
    /// only through [`Store::activate_certificate`], and a finished state is never left.
    pub fn reachable_from(self) -> &'static [OperationState] {
        use OperationState::*;
        match self {
            AwaitingSignIn => &[AwaitingSignIn],
            AwaitingInput => &[AwaitingSignIn, AwaitingInput],
            Attaching => &[AwaitingInput, Attaching],
            Proving => &[AwaitingInput, Attaching, Proving],
            Failed => &[AwaitingSignIn, AwaitingInput, Attaching, Proving],
            Cancelled => &[AwaitingSignIn, AwaitingInput],
            Succeeded => &[],
        }
    }
}

/// The non-secret half of a device-code sign-in: what the administrator is shown. The
/// device code itself is a bearer secret and is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSignIn {
    pub user_code: String,
    pub verification_uri: String,
    pub expires_at: OffsetDateTime,
}

/// Why an operation failed: a machine-readable kind, the explained message and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationError {
    pub kind: String,
    pub message: String,
    /// What the administrator can do about it; `None` on rows that never recorded one.
    pub remediation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub id: OperationId,
    pub organization_id: OrganizationId,
    pub kind: OperationKind,
    pub state: OperationState,
    /// Human-readable progress within the state (e.g. "proof attempt 3 of 8").
    pub step: String,
    pub started_by: String,
    /// The account that completed the device sign-in (user principal name), once known.
    pub signed_in_as: Option<String>,
    /// The organization's active certificate when the operation started; activation
    /// succeeds only if it is still the active one.
    pub expected_active_id: Option<CertificateId>,
    pub new_certificate_id: Option<CertificateId>,
    pub device_sign_in: Option<DeviceSignIn>,
    pub error: Option<OperationError>,
    /// Worker currently driving the operation, and until when its claim holds.
    pub owner: Option<String>,
    pub lease_expires_at: Option<OffsetDateTime>,
    /// The tenantlink instance whose memory holds the device code and delegated token (they
    /// are never stored); `None` on operations started before migration 0004.
    pub sign_in_holder: Option<String>,
    /// Incremented on every change; the token for optimistic concurrency.
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewOperation {
    pub organization_id: OrganizationId,
    pub kind: OperationKind,
    pub started_by: String,
    pub step: String,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OperationUpdate {
    pub state: Option<OperationState>,
    pub step: Option<String>,
    pub device_sign_in: Option<DeviceSignIn>,
    pub signed_in_as: Option<String>,
    pub new_certificate_id: Option<CertificateId>,
    pub error: Option<OperationError>,
    /// Recorded when the operation starts, by the instance that asked for its device code.
    pub sign_in_holder: Option<String>,
}

/// "Activate `certificate` for `organization` if its active certificate is still
/// `expected_active` and `operation` is still in `expected_operation_state`."
#[derive(Debug, Clone)]
pub struct Activation {
    pub organization_id: OrganizationId,
    pub operation_id: OperationId,
    pub expected_operation_state: OperationState,
    pub certificate_id: CertificateId,
    pub expected_active: Option<CertificateId>,
}

const COLUMNS: &str = "id, organization_id, kind, state, step, started_by, signed_in_as, \
                       expected_active_id, new_certificate_id, user_code, verification_uri, \
                       device_code_expires_at, error_kind, error_message, error_remediation, \
                       owner, lease_expires_at, sign_in_holder, version, created_at, updated_at";

/// Same predicate as the partial unique index `certificate_operations_one_unfinished_per_organization`.
const NOT_FINAL: &str = "state NOT IN ('succeeded', 'failed', 'cancelled')";

impl Store {
    /// Starts an operation in state `awaiting_sign_in`, recording the organization's
    /// active certificate at this moment as the one activation must replace. While another
    /// operation of the organization is unfinished this fails with
    /// [`Conflict::OperationInProgress`]: the database's partial unique index decides, so of
    /// two concurrent calls exactly one wins.
    pub async fn create_operation(
        &self,
        new: NewOperation,
        at: OffsetDateTime,
    ) -> StoreResult<Operation> {
        let id = OperationId::new();
        let organization = new.organization_id;
        let at = to_micros(at)?;
        let inserted = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO certificate_operations (id, organization_id, kind, state, step, \
                 started_by, expected_active_id, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, \
                 (SELECT id FROM certificates WHERE organization_id = $2 AND state = 'active'), \
                 1, $7, $7)",
            )
            .bind(id.to_string())
            .bind(new.organization_id.to_string())
            .bind(new.kind.as_str())
            .bind(OperationState::AwaitingSignIn.as_str())
            .bind(&new.step)
            .bind(&new.started_by)
            .bind(at)
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(StoreError::db("start the certificate operation"))
        });
        match inserted {
            Ok(_) => self.operation(id).await,
            // The only unique constraint an insert with a fresh id can hit is the index of
            // unfinished operations per organization.
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
            .and_then(|ops| ops.into_iter().find(|op| !op.state.is_final()));
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
        let sql = format!("SELECT {COLUMNS} FROM certificate_operations WHERE id = $1");
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
        let sql = format!(
            "SELECT {COLUMNS} FROM certificate_operations WHERE organization_id = $1 \
             ORDER BY created_at DESC, id"
        );
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

    /// Unfinished operations nobody holds a live lease on: what a restarted service must
    /// resume or fail.
    pub async fn resumable_operations(&self, now: OffsetDateTime) -> StoreResult<Vec<Operation>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM certificate_operations WHERE {NOT_FINAL} \
             AND (owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= $1) \
             ORDER BY created_at, id"
        );
        let now = to_micros(now)?;
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list resumable operations"))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    /// Applies `update` if the operation is still at `expected_version` and the change of
    /// state (if any) is one of [`OperationState::reachable_from`]. A stale version is
    /// [`Conflict::OperationVersionChanged`] (or `OperationStateChanged` when someone finished
    /// it meanwhile); a transition that is not allowed is [`StoreError::InvalidTransition`].
    pub async fn update_operation(
        &self,
        id: OperationId,
        expected_version: i64,
        update: OperationUpdate,
        at: OffsetDateTime,
    ) -> StoreResult<Operation> {
        let sign_in = update.device_sign_in.as_ref();
        let sign_in_expiry = opt_to_micros(sign_in.map(|s| s.expires_at))?;
        let allowed_from = match update.state {
            Some(next) => state_list(next.reachable_from()),
            None => NOT_FINAL.to_owned(),
        };
        let error = update.error.as_ref();
        let sql = format!(
            "UPDATE certificate_operations SET \
             state = COALESCE($3, state), step = COALESCE($4, step), \
             user_code = COALESCE($5, user_code), verification_uri = COALESCE($6, verification_uri), \
             device_code_expires_at = COALESCE($7, device_code_expires_at), \
             new_certificate_id = COALESCE($8, new_certificate_id), \
             error_kind = COALESCE($9, error_kind), error_message = COALESCE($10, error_message), \
             error_remediation = COALESCE($11, error_remediation), \
             signed_in_as = COALESCE($12, signed_in_as), \
             sign_in_holder = COALESCE($14, sign_in_holder), \
             version = version + 1, updated_at = $13 \
             WHERE id = $1 AND version = $2 AND {allowed_from}"
        );
        let at = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .bind(expected_version)
                .bind(update.state.map(|s| s.as_str()))
                .bind(update.step.as_deref())
                .bind(sign_in.map(|s| s.user_code.as_str()))
                .bind(sign_in.map(|s| s.verification_uri.as_str()))
                .bind(sign_in_expiry)
                .bind(update.new_certificate_id.map(|c| c.to_string()))
                .bind(error.map(|e| e.kind.as_str()))
                .bind(error.map(|e| e.message.as_str()))
                .bind(error.and_then(|e| e.remediation.as_deref()))
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
            return Err(match update.state {
                // Our view was current, so the state change itself is what is refused.
                Some(to) if current.version == expected_version => StoreError::InvalidTransition {
                    operation: id.to_string(),
                    from: current.state,
                    to,
                },
                _ if current.state.is_final() => Conflict::OperationStateChanged {
                    operation: id.to_string(),
                    expected: "an unfinished state".into(),
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

    /// Claims an unfinished operation for `owner` until `lease_until`. Succeeds when nobody
    /// holds it, when `owner` already does, or when the previous holder's lease ran out
    /// (its process died); this is how a restarted service takes an operation over.
    pub async fn claim_operation(
        &self,
        id: OperationId,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> StoreResult<Operation> {
        let sql = format!(
            "UPDATE certificate_operations SET owner = $2, lease_expires_at = $3, \
             version = version + 1 \
             WHERE id = $1 AND {NOT_FINAL} \
             AND (owner IS NULL OR owner = $2 OR lease_expires_at IS NULL OR lease_expires_at <= $4)"
        );
        let (lease_until, now) = (to_micros(lease_until)?, to_micros(now)?);
        let affected = with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .bind(owner)
                .bind(lease_until)
                .bind(now)
                .execute(pool)
                .await
                .map_err(StoreError::db("claim the operation"))?
                .rows_affected()
        });
        let current = self.operation(id).await?;
        if affected == 0 {
            return Err(if current.state.is_final() {
                Conflict::OperationStateChanged {
                    operation: id.to_string(),
                    expected: "an unfinished state".into(),
                }
            } else {
                Conflict::OperationLeased {
                    operation: id.to_string(),
                }
            }
            .into());
        }
        Ok(current)
    }

    /// Activates a pending certificate and finishes its operation, atomically:
    /// the operation must still be in `expected_operation_state`, the organization's active
    /// certificate must still be `expected_active` (which is retired), and the certificate
    /// must be pending. If any check fails nothing changes and a [`Conflict`] says which.
    /// The partial unique index on active certificates backs this up against any race.
    pub async fn activate_certificate(
        &self,
        activation: Activation,
        at: OffsetDateTime,
    ) -> StoreResult<CertificateRecord> {
        let Activation {
            organization_id,
            operation_id,
            expected_operation_state,
            certificate_id,
            expected_active,
        } = activation;
        let (org, op, cert) = (
            organization_id.to_string(),
            operation_id.to_string(),
            certificate_id.to_string(),
        );
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
                "UPDATE certificate_operations SET state = 'succeeded', \
                 new_certificate_id = $4, version = version + 1, updated_at = $5 \
                 WHERE id = $1 AND organization_id = $2 AND state = $3 \
                 AND (new_certificate_id IS NULL OR new_certificate_id = $4)",
            )
            .bind(&op)
            .bind(&org)
            .bind(expected_operation_state.as_str())
            .bind(&cert)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("finish the operation"))?
            .rows_affected();
            if finished == 0 {
                return Err(Conflict::OperationStateChanged {
                    operation: op,
                    expected: expected_operation_state.to_string(),
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
                    if row.int("active")? != 0 {
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
    let device_sign_in = match (
        row.opt_text("user_code")?,
        row.opt_text("verification_uri")?,
        row.opt_time("device_code_expires_at")?,
    ) {
        (Some(user_code), Some(verification_uri), Some(expires_at)) => Some(DeviceSignIn {
            user_code,
            verification_uri,
            expires_at,
        }),
        _ => None,
    };
    let error = match (row.opt_text("error_kind")?, row.opt_text("error_message")?) {
        (Some(kind), Some(message)) => Some(OperationError {
            kind,
            message,
            remediation: row.opt_text("error_remediation")?,
        }),
        _ => None,
    };
    Ok(Operation {
        id: row.parsed("id")?,
        organization_id: row.parsed("organization_id")?,
        kind: row.parsed("kind")?,
        state: row.parsed("state")?,
        step: row.text("step")?,
        started_by: row.text("started_by")?,
        signed_in_as: row.opt_text("signed_in_as")?,
        expected_active_id: row.opt_parsed("expected_active_id")?,
        new_certificate_id: row.opt_parsed("new_certificate_id")?,
        device_sign_in,
        error,
        owner: row.opt_text("owner")?,
        lease_expires_at: row.opt_time("lease_expires_at")?,
        sign_in_holder: row.opt_text("sign_in_holder")?,
        version: row.int("version")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// `state IN ('a', 'b')` from closed-set values (never user input); `1 = 0` when empty.
fn state_list(states: &[OperationState]) -> String {
    if states.is_empty() {
        return "1 = 0".to_owned();
    }
    let quoted: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
    format!("state IN ({})", quoted.join(", "))
}
