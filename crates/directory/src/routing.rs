//! The [`Directory`] the workflows get: each call goes to the directory of the organization's
//! own cloud. Transports and clients are built once per cloud at start; an organization whose
//! cloud has no directory here is refused before anything is asked of Entra or stored.

use crate::{CloudTarget, EntraDirectory};
use tenantlink_clock::SharedClock;
use tenantlink_entra::{Cloud, ProofAudience, SharedCallObserver, TransportError};
use tenantlink_service::browser_sign_in::{AuthorizeParameters, BrowserSignedIn, CodeRedemption};
use tenantlink_service::{
    Application, ApplicationKey, BoxFuture, DelegatedToken, DeviceCode, DeviceSignIn, Directory,
    DirectoryError, DirectoryErrorKind, Organization, ProvenToken, SignInPoll, SignInPurpose,
};

#[derive(Debug)]
pub struct CloudDirectories {
    /// One directory per named cloud, in the order given.
    clouds: Vec<(Cloud, EntraDirectory)>,
    /// The in-process sandbox's, when it runs.
    sandbox: Option<EntraDirectory>,
    /// The `aud` of addKey/removeKey proofs, for every directory (also one added later).
    proof_audience: ProofAudience,
    observer: Option<SharedCallObserver>,
}

impl CloudDirectories {
    /// A directory for every named cloud. Reads each configured CA file now, so a bad one stops
    /// the start naming it.
    pub fn new<'a>(
        clouds: impl IntoIterator<Item = (Cloud, &'a CloudTarget)>,
        clock: &SharedClock,
    ) -> Result<Self, TransportError> {
        Self::observed(clouds, clock, None)
    }

    /// [`Self::new`], every directory's calls (also the sandbox's, added later) reported to
    /// `observer`.
    pub fn observed<'a>(
        clouds: impl IntoIterator<Item = (Cloud, &'a CloudTarget)>,
        clock: &SharedClock,
        observer: Option<SharedCallObserver>,
    ) -> Result<Self, TransportError> {
        let clouds = clouds
            .into_iter()
            .map(|(cloud, target)| {
                let directory = EntraDirectory::observed(target, clock.clone(), observer.clone())?;
                Ok((cloud, directory))
            })
            .collect::<Result<_, TransportError>>()?;
        Ok(Self {
            clouds,
            sandbox: None,
            proof_audience: ProofAudience::default(),
            observer,
        })
    }

    /// Organizations of the sandbox cloud go to the in-process sandbox at `target`.
    pub fn with_sandbox(
        mut self,
        target: &CloudTarget,
        clock: &SharedClock,
    ) -> Result<Self, TransportError> {
        self.sandbox = Some(
            EntraDirectory::observed(target, clock.clone(), self.observer.clone())?
                .with_proof_audience(self.proof_audience),
        );
        Ok(self)
    }

    /// Every cloud's directory signs addKey/removeKey proofs with this `aud`.
    pub fn with_proof_audience(mut self, audience: ProofAudience) -> Self {
        self.clouds = self
            .clouds
            .into_iter()
            .map(|(cloud, directory)| (cloud, directory.with_proof_audience(audience)))
            .collect();
        self.sandbox = self
            .sandbox
            .map(|directory| directory.with_proof_audience(audience));
        self.proof_audience = audience;
        self
    }

    /// The directory of `organization`'s cloud, or why there is none.
    pub fn route(&self, organization: &Organization) -> Result<&EntraDirectory, DirectoryError> {
        let Some(cloud) = organization.cloud.microsoft() else {
            return self.sandbox.as_ref().ok_or_else(|| {
                unavailable(
                    organization,
                    "this tenantlink serve runs no sandbox tenant (it starts one only when no organization is configured)",
                    "Start tenantlink serve without [organization] / TENANTLINK_TENANT to use the sandbox tenant, or add the organization again with its real cloud (global, usgov or china).",
                )
            });
        };
        let found = self
            .clouds
            .iter()
            .find(|(c, _)| *c == cloud)
            .map(|(_, d)| d);
        if let Some(directory) = found {
            // Which hosts an organization talks to, for an operator tracing a wrong cloud.
            tracing::debug!(organization = %organization.id, cloud = %organization.cloud,
                authority = %directory.endpoints.authority(), "directory of the organization's cloud");
        }
        found.ok_or_else(|| {
            unavailable(
                organization,
                "tenantlink knows no endpoints for that cloud",
                "Add the organization again with one of the clouds global, usgov, china or sandbox.",
            )
        })
    }
}

/// "Unavailable": nothing was asked of Entra, so the workflows record nothing (a connection check
/// keeps its last answer) and no operation starts.
fn unavailable(organization: &Organization, why: &str, what_to_do: &str) -> DirectoryError {
    let message = format!(
        "The organization \"{}\" is in the cloud \"{}\", but {why}. {what_to_do}",
        organization.name, organization.cloud
    );
    DirectoryError::new(
        DirectoryErrorKind::Unavailable,
        Some("cloud_unavailable".into()),
        message,
        what_to_do,
    )
}

impl Directory for CloudDirectories {
    fn start_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.start_device_sign_in(organization),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn start_device_sign_in_for<'a>(
        &'a self,
        organization: &'a Organization,
        purpose: SignInPurpose,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.start_device_sign_in_for(organization, purpose),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn poll_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
        device_code: &'a DeviceCode,
    ) -> BoxFuture<'a, Result<SignInPoll, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.poll_device_sign_in(organization, device_code),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn application<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.application(organization, token),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn attach_certificate<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        certificate: &'a tenantlink_certificate::Certificate,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.attach_certificate(organization, token, certificate),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn prove_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a tenantlink_certificate::Credential,
    ) -> BoxFuture<'a, Result<ProvenToken, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.prove_app_only(organization, credential),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn application_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a tenantlink_certificate::Credential,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.application_app_only(organization, credential),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn add_key<'a>(
        &'a self,
        organization: &'a Organization,
        signer: &'a tenantlink_certificate::Credential,
        certificate: &'a tenantlink_certificate::Certificate,
    ) -> BoxFuture<'a, Result<ApplicationKey, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.add_key(organization, signer, certificate),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn remove_key<'a>(
        &'a self,
        organization: &'a Organization,
        signer: &'a tenantlink_certificate::Credential,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.remove_key(organization, signer, key_id),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn browser_sign_in_url(
        &self,
        organization: &Organization,
        request: &AuthorizeParameters,
    ) -> Result<String, DirectoryError> {
        self.route(organization)?
            .browser_sign_in_url(organization, request)
    }

    fn redeem_browser_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
        redemption: &'a CodeRedemption,
    ) -> BoxFuture<'a, Result<BrowserSignedIn, DirectoryError>> {
        match self.route(organization) {
            Ok(directory) => directory.redeem_browser_sign_in(organization, redemption),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }
}

#[cfg(test)]
#[path = "routing_tests.rs"]
mod tests;
