//! Taking rotated-out keys off the application once their overlap has ended: not part of the
//! rotation operation (the overlap lasts days, and must not block Generate or Upload), but a
//! sweep the scheduler runs. Only the certificates [`crate::Repository::keys_to_remove`] lists
//! (retired by a succeeded rotation, not yet removed) are ever touched; every other key of the
//! application is left alone. The key is found by the thumbprint the adapter computed from the
//! key itself, never by `customKeyIdentifier`, which anyone editing the application can set.

mod due;

pub use due::{DEFAULT_OVERLAP_GRACE, KeyRemoval, key_removal, planned_key_removal};

use super::{KeyRemovalReport, RENEWAL_ACTOR, Workflows};
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Organization, StoredCertificate};
use crate::ports::DirectoryError;
use tenantlink_certificate::Credential;

/// Why one removal did not happen this pass (it is tried again at the next).
#[derive(Debug)]
enum NotRemoved {
    /// No active certificate to sign the proof with (and to read the application with).
    NoSigner(String),
    Directory(DirectoryError),
    Storage(ServiceError),
}

impl std::fmt::Display for NotRemoved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSigner(why) => write!(f, "no certificate can sign the proof: {why}"),
            Self::Directory(err) => write!(f, "{:?} {:?}: {}", err.kind, err.code, err.message),
            Self::Storage(err) => write!(f, "{err}"),
        }
    }
}

impl From<ServiceError> for NotRemoved {
    fn from(err: ServiceError) -> Self {
        Self::Storage(err)
    }
}

impl From<crate::ports::RepositoryError> for NotRemoved {
    fn from(err: crate::ports::RepositoryError) -> Self {
        Self::Storage(err.into())
    }
}

/// What Graph answered removeKey for a key that is no longer there (another instance removed it
/// first, or an administrator did): the key is gone, which is all the sweep wanted.
const KEY_NOT_FOUND: &str = "Request_ResourceNotFound";

impl Workflows {
    /// One pass of the sweep: each listed certificate is removed when due, else counted waiting.
    /// A failure with one certificate is logged and counted; the others still get their turn.
    pub(super) async fn sweep_retired_keys(&self) -> ServiceResult<KeyRemovalReport> {
        let mut report = KeyRemovalReport::default();
        for retired in self.repository.keys_to_remove().await? {
            let outcome = match self.active_of(&retired).await {
                Ok((organization, active)) => {
                    match key_removal(
                        &retired,
                        active.as_ref(),
                        self.config.overlap_grace,
                        self.now(),
                    ) {
                        KeyRemoval::Removed => continue,
                        KeyRemoval::Waiting { .. } => {
                            report.waiting += 1;
                            continue;
                        }
                        KeyRemoval::Due => {
                            self.remove_retired_key(&organization, &retired, active)
                                .await
                        }
                    }
                }
                Err(err) => Err(err),
            };
            match outcome {
                Ok(()) => report.removed += 1,
                Err(why) => {
                    report.failed += 1;
                    tracing::warn!(organization = %retired.organization, certificate = %retired.id, thumbprint = %retired.sha1_thumbprint, reason = %why, "could not remove a rotated-out key; will try again");
                    if let NotRemoved::Directory(DirectoryError {
                        retry_after: Some(wait),
                        ..
                    }) = why
                    {
                        // Graph asked this client to slow down: more removals now would only
                        // earn more 429s. The rest wait for a pass after the pause.
                        report.retry_after = Some(wait);
                        break;
                    }
                }
            }
        }
        Ok(report)
    }

    /// The organization of `retired` and its active certificate, if it has one.
    async fn active_of(
        &self,
        retired: &StoredCertificate,
    ) -> Result<(Organization, Option<StoredCertificate>), NotRemoved> {
        let organization = self.repository.organization(retired.organization).await?;
        let active = match organization.active_certificate {
            Some(id) => Some(self.repository.certificate(id).await?),
            None => None,
        };
        Ok((organization, active))
    }

    /// Removes `retired`'s key with the active certificate as the proof's signer (see
    /// [`Workflows::take_key_off`]).
    async fn remove_retired_key(
        &self,
        organization: &Organization,
        retired: &StoredCertificate,
        active: Option<StoredCertificate>,
    ) -> Result<(), NotRemoved> {
        let active = active.ok_or_else(|| {
            NotRemoved::NoSigner("the organization has no active certificate".into())
        })?;
        let signer = self
            .signing_credential(active.id)
            .await?
            .map_err(NotRemoved::NoSigner)?;
        self.take_key_off(organization, retired, &signer, RENEWAL_ACTOR, None)
            .await
    }

    /// Before a rotation adds its key: takes off the keys earlier rotations of `organization`
    /// retired and left on the application, whether their overlap has ended or not, so that the
    /// application never holds more than two of tenantlink's keys — the active one, which signs
    /// the proof and stays, and the one being added. It happens only when rotations follow each
    /// other within an overlap (a second Rotate now, or a lifetime shorter than the grace); the
    /// key this rotation retires then gets the overlap. `Err` inside: Graph refused a removal
    /// (the rotation then fails before addKey and is retried like any failed attempt).
    pub(super) async fn make_room_for_new_key(
        &self,
        organization: &Organization,
        signer: &Credential,
        actor: &str,
    ) -> ServiceResult<Result<(), DirectoryError>> {
        for retired in self
            .repository
            .organization_keys_to_remove(organization.id)
            .await?
        {
            let why = "a new rotation started during its overlap";
            let removed = self
                .take_key_off(organization, &retired, signer, actor, Some(why))
                .await;
            match removed {
                Ok(()) => {}
                Err(NotRemoved::Directory(err)) => return Ok(Err(err)),
                Err(NotRemoved::Storage(err)) => return Err(err),
                Err(NotRemoved::NoSigner(why)) => return Err(ServiceError::Internal(why)),
            }
        }
        Ok(Ok(()))
    }

    /// Reads the application with `signer`, removes the key whose thumbprint is `retired`'s (a
    /// key already absent counts as removed) with a proof signed by `signer`, records it and
    /// audits `key_removed` as `actor`, with `why` when the overlap was cut short.
    async fn take_key_off(
        &self,
        organization: &Organization,
        retired: &StoredCertificate,
        signer: &Credential,
        actor: &str,
        why: Option<&str>,
    ) -> Result<(), NotRemoved> {
        if signer
            .certificate()
            .thumbprints()
            .sha1_hex()
            .eq_ignore_ascii_case(&retired.sha1_thumbprint)
        {
            // The same key is in use again (uploaded anew): removing it would cut the
            // organization off. Recorded as removed so that nobody asks again.
            self.repository
                .mark_key_removed(retired.id, self.now())
                .await?;
            return Ok(());
        }
        let application = self
            .directory
            .application_app_only(organization, signer)
            .await
            .map_err(NotRemoved::Directory)?;
        let listed = application.keys.iter().find(|key| {
            key.sha1_thumbprint
                .eq_ignore_ascii_case(&retired.sha1_thumbprint)
        });
        let detail = match listed {
            None => "already absent".to_owned(),
            Some(key) => match self
                .directory
                .remove_key(organization, signer, &key.key_id)
                .await
            {
                Ok(()) => format!("removed key {} from the application", key.key_id),
                Err(err) if err.code.as_deref() == Some(KEY_NOT_FOUND) => {
                    "already absent".to_owned()
                }
                Err(err) => return Err(NotRemoved::Directory(err)),
            },
        };
        self.repository
            .mark_key_removed(retired.id, self.now())
            .await?;
        let detail = match why {
            Some(why) => format!("{detail} ({why})"),
            None => detail,
        };
        self.audit(
            actor,
            AuditAction::KeyRemoved,
            Some(organization.id),
            vec![retired.sha1_thumbprint.clone()],
            AuditOutcome::Success,
            Some(detail),
        )
        .await;
        Ok(())
    }
}
