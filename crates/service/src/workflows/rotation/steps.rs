//! The steps of a rotation, each persisted (compare-and-swap) before the next begins, so that a
//! restart — or another instance taking over — rolls forward from the last one:
//!
//! - `certificate_stored`: addKey, proven by the active certificate. Resumed, the application is
//!   read first: addKey may have reached Graph before the process died. Before addKey, keys that
//!   earlier rotations left on the application are taken off (`make_room_for_new_key`), so that
//!   it never holds more than two of tenantlink's keys.
//! - `key_added`: read the application back (app-only) until it lists the new key.
//! - `attached`: prove the new key with an app-only token and activate it (shared with Generate
//!   and Upload).
//!
//! A failure fails the operation and, when the key may be on the application, takes it off again
//! with a proof signed by the still-active certificate. Each attempt ends in the renewal state.

use super::decide;
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::ServiceResult;
use crate::model::Organization;
use crate::operation::{Operation, OperationFailure, OperationStep};
use crate::ports::{DirectoryError, DirectoryErrorKind};
use crate::renewal::catalogue_entry;
use crate::workflows::{Workflows, decisions, directory_failure, failure};
use tenantlink_certificate::Credential;

/// Where the steps start from.
pub(in crate::workflows) enum Progress {
    /// Just created here, with the new credential in hand: addKey cannot have happened yet.
    Fresh(Box<Credential>),
    /// Found unfinished (a restart, a takeover, a failed write): what Graph holds is unknown.
    Resumed,
}

/// What the steps need besides the operation.
pub(super) struct Rotating {
    pub(super) organization: Organization,
    /// The active certificate the rotation started from: it signs every proof and reads.
    pub(super) signer: Credential,
    pub(super) new: Credential,
    pub(super) new_thumbprint: String,
}

/// Whether the new key may be on the application when the rotation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyOnApplication {
    No,
    Maybe,
}

/// How the steps ended: the operation as stored (succeeded or failed), Graph's or Entra's
/// refusal when one ended it, and whether the new key may need taking off again.
pub(super) struct Ended {
    pub(super) operation: Operation,
    pub(super) cause: Option<DirectoryError>,
    pub(super) key: KeyOnApplication,
}

impl Workflows {
    /// Carries a rotation from its stored step to its end, then records the attempt in the
    /// renewal state (and takes a failed rotation's key off the application again).
    pub(in crate::workflows) async fn roll_rotation_forward(
        &self,
        operation: Operation,
        progress: Progress,
    ) -> ServiceResult<Operation> {
        let (ended, rotating) = self.rotation_steps(operation, progress).await?;
        if let Some(rotating) = &rotating
            && ended.operation.step == OperationStep::Failed
            && ended.key == KeyOnApplication::Maybe
        {
            self.take_new_key_off(&ended.operation, rotating).await;
        }
        self.record_attempt(&ended).await;
        Ok(ended.operation)
    }

    async fn rotation_steps(
        &self,
        operation: Operation,
        progress: Progress,
    ) -> ServiceResult<(Ended, Option<Rotating>)> {
        let resumed = matches!(progress, Progress::Resumed);
        let rotating = match self.rotating(&operation, progress).await? {
            Ok(rotating) => rotating,
            Err(why) => {
                let ended = self.end(operation, why, None, KeyOnApplication::No).await?;
                return Ok((ended, None));
            }
        };
        let organization = self.repository.organization(operation.organization).await?;
        if decisions::superseded(&operation, &organization) {
            let operation = self
                .fail_superseded(operation, "so this rotation stopped before activating")
                .await?;
            let ended = Ended {
                operation,
                cause: None,
                key: KeyOnApplication::Maybe,
            };
            return Ok((ended, Some(rotating)));
        }
        let mut operation = operation;
        let mut read_first_done = false;
        loop {
            operation = match operation.step {
                OperationStep::CertificateStored => {
                    if resumed && !read_first_done {
                        // addKey may have reached Graph before the process stopped.
                        match self.lists_new_key(&rotating).await {
                            Ok(true) => self.attached(operation).await?,
                            Ok(false) => {
                                read_first_done = true;
                                continue;
                            }
                            Err(err) => {
                                let why = refused_by_graph("reading the application", &err);
                                let ended = self
                                    .end(operation, why, Some(err), KeyOnApplication::Maybe)
                                    .await?;
                                return Ok((ended, Some(rotating)));
                            }
                        }
                    } else {
                        if let Err(err) = self
                            .make_room_for_new_key(
                                &rotating.organization,
                                &rotating.signer,
                                &operation.started_by,
                            )
                            .await?
                        {
                            let why =
                                refused_by_graph("removeKey of an earlier rotation's key", &err);
                            let ended = self
                                .end(operation, why, Some(err), KeyOnApplication::No)
                                .await?;
                            return Ok((ended, Some(rotating)));
                        }
                        match self
                            .directory
                            .add_key(
                                &rotating.organization,
                                &rotating.signer,
                                rotating.new.certificate(),
                            )
                            .await
                        {
                            Ok(_) => {
                                let mut operation = operation;
                                operation.step = OperationStep::KeyAdded;
                                self.save(operation).await?
                            }
                            Err(err) => {
                                let why = refused_by_graph("addKey", &err);
                                let key = key_after_refused_add(&err);
                                let ended = self.end(operation, why, Some(err), key).await?;
                                return Ok((ended, Some(rotating)));
                            }
                        }
                    }
                }
                OperationStep::KeyAdded => {
                    match self.wait_until_listed(&operation, &rotating).await {
                        Ok(()) => self.attached(operation).await?,
                        Err((why, cause)) => {
                            let ended = self
                                .end(operation, why, cause, KeyOnApplication::Maybe)
                                .await?;
                            return Ok((ended, Some(rotating)));
                        }
                    }
                }
                OperationStep::Attached => {
                    let (operation, cause) = self.prove_and_activate_explained(operation).await?;
                    let ended = Ended {
                        operation,
                        cause,
                        key: KeyOnApplication::Maybe,
                    };
                    return Ok((ended, Some(rotating)));
                }
                _ => {
                    // Finished (elsewhere, or before this task began), or a step a rotation
                    // never has: nothing to carry.
                    let ended = Ended {
                        operation,
                        cause: None,
                        key: KeyOnApplication::No,
                    };
                    return Ok((ended, None));
                }
            };
        }
    }

    /// The credentials the steps sign with; the error says why the rotation cannot go on.
    async fn rotating(
        &self,
        operation: &Operation,
        progress: Progress,
    ) -> ServiceResult<Result<Rotating, OperationFailure>> {
        let organization = self.repository.organization(operation.organization).await?;
        let (Some(active), Some(new_id)) = (operation.replaces, operation.certificate) else {
            return Ok(Err(failure(
                "no_active_certificate",
                "The rotation has no active certificate to prove addKey with, or no new certificate.",
                "Generate or upload a certificate while signed in as an administrator of the tenant.",
            )));
        };
        let signer = match self.signing_credential(active).await? {
            Ok(signer) => signer,
            Err(detail) => {
                return Ok(Err(failure(
                    "active_certificate_unreadable",
                    format!("The active certificate cannot sign the proof: {detail}"),
                    "Generate or upload a certificate while signed in as an administrator of the tenant.",
                )));
            }
        };
        let new = match progress {
            Progress::Fresh(new) => *new,
            Progress::Resumed => match self.signing_credential(new_id).await? {
                Ok(new) => new,
                Err(detail) => {
                    return Ok(Err(failure(
                        "stored_certificate_unreadable",
                        detail,
                        "Rotate again.",
                    )));
                }
            },
        };
        let new_thumbprint = new.certificate().thumbprints().sha1_hex();
        Ok(Ok(Rotating {
            organization,
            signer,
            new,
            new_thumbprint,
        }))
    }

    /// Whether the application, read app-only with the active certificate, lists the new key.
    async fn lists_new_key(&self, rotating: &Rotating) -> Result<bool, DirectoryError> {
        let application = self
            .directory
            .application_app_only(&rotating.organization, &rotating.signer)
            .await?;
        Ok(application.keys.iter().any(|key| {
            key.sha1_thumbprint
                .eq_ignore_ascii_case(&rotating.new_thumbprint)
        }))
    }

    /// Reads the application until it lists the new key (Graph's reads lag its writes), with
    /// the proof policy's backoff on the injected sleeper; a throttled read waits as long as
    /// Graph asked, unless that is longer than the longest backoff (then the rotation fails and
    /// the renewal state keeps `Retry-After`).
    async fn wait_until_listed(
        &self,
        operation: &Operation,
        rotating: &Rotating,
    ) -> Result<(), (OperationFailure, Option<DirectoryError>)> {
        let policy = self.config.proof;
        let mut attempt = 1;
        loop {
            let wait_at_least = match self.lists_new_key(rotating).await {
                Ok(true) => return Ok(()),
                Ok(false) => None,
                Err(err) if is_passing(&err, policy.max_delay) => err.retry_after,
                Err(err) => {
                    return Err((refused_by_graph("reading the application", &err), Some(err)));
                }
            };
            let Some(delay) = decide::listing_retry_delay(&policy, attempt) else {
                return Err((not_listed(attempt), None));
            };
            let delay = wait_at_least.map_or(delay, |asked| asked.max(delay));
            tracing::info!(operation = %operation.id, attempt, "the application does not list the new key yet; Graph may still be propagating it");
            self.sleeper.sleep(delay).await;
            attempt += 1;
        }
    }

    /// Records that the application lists the new key.
    async fn attached(&self, mut operation: Operation) -> ServiceResult<Operation> {
        operation.step = OperationStep::Attached;
        let operation = self.save(operation).await?;
        self.audit_operation(
            &operation,
            AuditAction::CertificateAttached,
            AuditOutcome::Success,
            Some("rotate: addKey, listed on the application".into()),
        )
        .await;
        Ok(operation)
    }

    async fn end(
        &self,
        operation: Operation,
        why: OperationFailure,
        cause: Option<DirectoryError>,
        key: KeyOnApplication,
    ) -> ServiceResult<Ended> {
        let operation = self.fail(operation, why).await?;
        Ok(Ended {
            operation,
            cause,
            key,
        })
    }
}

/// A refusal as the rotation's failure: Graph's code and text, what it was doing, and the
/// catalogue's advice (which knows rotation's fixes) instead of the adapter's.
fn refused_by_graph(doing: &str, err: &DirectoryError) -> OperationFailure {
    let mut why = directory_failure(err);
    why.message = format!("Microsoft Graph refused {doing}: {}", err.message);
    why.remediation = catalogue_entry(err).what_to_do.to_owned();
    why
}

/// After a refused addKey, whether the key may be there anyway: an outage or an unknown answer
/// may have come after Graph applied the write; a refusal with a reason did not.
fn key_after_refused_add(err: &DirectoryError) -> KeyOnApplication {
    match err.kind {
        DirectoryErrorKind::Unavailable | DirectoryErrorKind::Other => KeyOnApplication::Maybe,
        _ => KeyOnApplication::No,
    }
}

/// A read failure worth waiting out while the key propagates: an outage, or throttling whose
/// `Retry-After` fits in the backoff.
fn is_passing(err: &DirectoryError, longest_wait: std::time::Duration) -> bool {
    match err.kind {
        DirectoryErrorKind::Unavailable => true,
        DirectoryErrorKind::Throttled => err.retry_after.is_none_or(|wait| wait <= longest_wait),
        _ => false,
    }
}

fn not_listed(reads: u32) -> OperationFailure {
    failure(
        "key_not_listed",
        format!(
            "Graph accepted addKey, but the application still did not list the new key after {reads} reads."
        ),
        "Nothing to do: tenantlink tries again later. If it keeps happening, check the application's certificates in the Microsoft Entra admin center.",
    )
}
