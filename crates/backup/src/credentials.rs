//! Where a run gets the certificate it signs with: the organization's active certificate and
//! its private key, read through the service's [`Repository`] (which decrypts the key). Parsing
//! an RSA key costs more than a signature, so a parsed certificate is kept per certificate id; a
//! new active certificate has a new id, so it is picked up by the next run without any
//! invalidation.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use tenantlink_entra::SigningCertificate;
use tenantlink_service::{
    CertificateId, Organization, OrganizationId, Repository, RepositoryError,
};

use crate::report::{FailureStage, RunFailure, certificate_page};
use crate::runner::BoxFuture;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("cannot read the organization's certificate: {0}")]
    Repository(#[from] RepositoryError),
    #[error("the active certificate {thumbprint} cannot sign: {detail}")]
    Unusable { thumbprint: String, detail: String },
}

impl CredentialError {
    /// The job-log entry of a run that could not load its credential.
    pub fn to_failure(&self, organization: &Organization) -> RunFailure {
        let (explanation, remediation, credential_problem) = match self {
            Self::Repository(_) => (
                "tenantlink could not read the organization's certificate from its database.",
                "Check the database and the master key configuration, then run the policy again.",
                false,
            ),
            Self::Unusable { .. } => (
                "The organization's active certificate cannot be used to sign in.",
                "Generate a new certificate or upload a custom certificate in Settings → System → SSL Certificate.",
                true,
            ),
        };
        RunFailure {
            stage: FailureStage::Credential,
            service: "tenantlink",
            code: None,
            message: self.to_string(),
            explanation: explanation.to_owned(),
            remediation: remediation.to_owned(),
            remediation_link: Some(certificate_page(organization.id)),
            client_thumbprint: None,
            credential_problem,
        }
    }
}

/// The certificate an organization's runs sign with; `Ok(None)` when it has no active one.
pub trait CredentialSource: Send + Sync + Debug {
    fn active_credential<'a>(
        &'a self,
        organization: &'a Organization,
    ) -> BoxFuture<'a, Result<Option<Arc<SigningCertificate>>, CredentialError>>;
}

/// Active certificates through the service's repository: the organization's
/// `active_certificate`, its public part ([`Repository::certificate`]) and its decrypted
/// private key ([`Repository::private_key`]).
#[derive(Debug)]
pub struct RepositoryCredentials {
    repository: Arc<dyn Repository>,
    /// Per organization: the parsed active certificate (replaced when another becomes active).
    parsed: Mutex<HashMap<OrganizationId, (CertificateId, Arc<SigningCertificate>)>>,
}

impl RepositoryCredentials {
    pub fn new(repository: Arc<dyn Repository>) -> Self {
        Self {
            repository,
            parsed: Mutex::default(),
        }
    }

    async fn load(
        &self,
        organization: &Organization,
    ) -> Result<Option<Arc<SigningCertificate>>, CredentialError> {
        let Some(active) = organization.active_certificate else {
            return Ok(None);
        };
        if let Some(parsed) = self.cached(organization.id, active) {
            return Ok(Some(parsed));
        }
        let certificate = self.repository.certificate(active).await?;
        let key = self.repository.private_key(active).await?;
        let signer = SigningCertificate::from_parts(
            certificate.der.clone(),
            Vec::new(),
            key.pkcs8_der(),
            certificate.not_before,
            certificate.not_after,
        )
        .map_err(|e| CredentialError::Unusable {
            thumbprint: certificate.sha1_thumbprint.clone(),
            detail: e.to_string(),
        })?;
        let signer = Arc::new(signer);
        self.parsed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(organization.id, (active, signer.clone()));
        Ok(Some(signer))
    }

    fn cached(
        &self,
        organization: OrganizationId,
        certificate: CertificateId,
    ) -> Option<Arc<SigningCertificate>> {
        self.parsed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&organization)
            .filter(|(id, _)| *id == certificate)
            .map(|(_, signer)| signer.clone())
    }
}

impl CredentialSource for RepositoryCredentials {
    fn active_credential<'a>(
        &'a self,
        organization: &'a Organization,
    ) -> BoxFuture<'a, Result<Option<Arc<SigningCertificate>>, CredentialError>> {
        Box::pin(self.load(organization))
    }
}
