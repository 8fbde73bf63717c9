//! One cloud's [`Directory`]: the device sign-in, the application's keys and the app-only token
//! proof, through tenantlink-entra's clients at that cloud's endpoints.

mod app_only;
mod browser;
mod registration;

use crate::CloudTarget;
use crate::explain::explain;
use app_only::signer_of;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tenantlink_clock::SharedClock;
use tenantlink_entra::{
    AppTokenRequest, AssertionOptions, DeviceFlowClient, Endpoints, GraphClient, KeyCredential,
    ProofAudience, SharedCallObserver, TenantId, TokenClient, Transport, TransportConfig,
    TransportError,
};
use tenantlink_service::{
    Application, ApplicationKey, BoxFuture, DelegatedToken, DeviceCode, DeviceSignIn, Directory,
    DirectoryError, DirectoryErrorKind, Organization, ProvenToken, SecretString, SignInPoll,
    SignInPrompt, SignInPurpose,
};

/// Graph's resource identifier in the global cloud (and the sandbox); national clouds have
/// their own (`with_graph_resource`).
const GLOBAL_GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Delegated permission for reading and updating the application registration.
pub(crate) const APPLICATION_PERMISSION: &str = "Application.ReadWrite.All";
/// Delegated permission for granting admin consent (app role assignments), which Connect's
/// sign-in asks for besides [`APPLICATION_PERMISSION`].
pub(crate) const CONSENT_PERMISSION: &str = "AppRoleAssignment.ReadWrite.All";

type SignInOutcome = Result<(SecretString, Option<String>), DirectoryError>;

/// The directory of one cloud: its own transport (connection pool, trusted CA) and clients.
#[derive(Debug, Clone)]
pub struct EntraDirectory {
    device: DeviceFlowClient,
    auth_code: tenantlink_entra::AuthCodeClient,
    tokens: TokenClient,
    graph: GraphClient,
    /// Where the clients above go (kept to describe and test the routing).
    pub(crate) endpoints: Endpoints,
    /// The public client the administrator signs in to (device flow); each organization's own
    /// backup application when `None`.
    pub(crate) device_client_id: Option<String>,
    /// Prefix of every Graph scope: `{graph_resource}/Application.ReadWrite.All`, `/.default`.
    pub(crate) graph_resource: String,
    /// Outcomes of device sign-ins, keyed by an opaque handle; the real device code stays
    /// inside the task that polls Entra (the entra client's `wait` drives the polling).
    sign_ins: Arc<Mutex<HashMap<String, Option<SignInOutcome>>>>,
}

impl EntraDirectory {
    /// The directory at `target`, on a transport of its own. Reads and checks the target's extra
    /// CA file now, so a bad one is refused before anything is asked.
    pub fn for_target(target: &CloudTarget, clock: SharedClock) -> Result<Self, TransportError> {
        Self::observed(target, clock, None)
    }

    /// [`Self::for_target`], its calls and token-cache lookups reported to `observer`.
    pub fn observed(
        target: &CloudTarget,
        clock: SharedClock,
        observer: Option<SharedCallObserver>,
    ) -> Result<Self, TransportError> {
        let mut transport = Transport::new(&TransportConfig {
            extra_ca_file: target.endpoints.extra_ca_file.clone(),
            ..TransportConfig::default()
        })?;
        if let Some(observer) = observer {
            transport = transport.with_observer(observer);
        }
        Ok(Self::new(
            transport,
            target.endpoints.clone(),
            clock,
            target.device_client_id.clone(),
        )
        .with_graph_resource(&target.graph_resource))
    }

    pub fn new(
        transport: Transport,
        endpoints: Endpoints,
        clock: SharedClock,
        device_client_id: Option<String>,
    ) -> Self {
        Self {
            device: DeviceFlowClient::new(transport.clone(), endpoints.clone(), clock.clone()),
            auth_code: tenantlink_entra::AuthCodeClient::new(
                transport.clone(),
                endpoints.clone(),
                clock.clone(),
            ),
            tokens: TokenClient::new(transport.clone(), endpoints.clone(), clock.clone()),
            graph: GraphClient::new(transport, endpoints.clone(), clock),
            endpoints,
            device_client_id,
            graph_resource: GLOBAL_GRAPH_RESOURCE.to_owned(),
            sign_ins: Arc::default(),
        }
    }

    /// Signs addKey/removeKey proofs with this `aud` (the two documented values differ; default
    /// `00000002-0000-0000-c000-000000000000`).
    pub fn with_proof_audience(mut self, audience: ProofAudience) -> Self {
        self.graph = self.graph.with_proof_audience(audience);
        self
    }

    /// The cloud's Graph resource identifier (e.g. `https://graph.microsoft.us`), used in scopes.
    pub fn with_graph_resource(mut self, resource: &str) -> Self {
        self.graph_resource = resource.trim_end_matches('/').to_owned();
        self
    }

    fn sign_ins(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<SignInOutcome>>> {
        self.sign_ins.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) fn tenant(organization: &Organization) -> Result<TenantId, DirectoryError> {
    TenantId::parse(&organization.tenant).map_err(|e| {
        DirectoryError::new(
            DirectoryErrorKind::Other,
            None,
            e.to_string(),
            "Correct the organization's tenant id or domain.",
        )
    })
}

impl EntraDirectory {
    /// The delegated scopes a sign-in for `purpose` asks for.
    pub(crate) fn scopes(&self, purpose: SignInPurpose) -> Vec<String> {
        let permissions: &[&str] = match purpose {
            SignInPurpose::ManageKeys => &[APPLICATION_PERMISSION],
            SignInPurpose::Setup => &[APPLICATION_PERMISSION, CONSENT_PERMISSION],
        };
        permissions
            .iter()
            .map(|permission| format!("{}/{permission}", self.graph_resource))
            .collect()
    }

    /// The client the administrator signs in to: the configured public client, else the
    /// organization's own backup application, which Connect cannot use (it may not exist yet).
    pub(crate) fn sign_in_client<'a>(
        &'a self,
        organization: &'a Organization,
        purpose: SignInPurpose,
    ) -> Result<&'a str, DirectoryError> {
        match (&self.device_client_id, purpose) {
            (Some(client), _) => Ok(client),
            (None, SignInPurpose::Setup) => Err(DirectoryError::new(
                DirectoryErrorKind::Other,
                Some("sign_in_client_missing".into()),
                "Connecting an organization signs in to a public client application, and none is configured for this cloud (the organization's own application cannot be used: Connect registers it).",
                "Set device_client_id under [clouds.<cloud>] to a public client application (\"Allow public client flows\" on, delegated Microsoft Graph permissions Application.ReadWrite.All and AppRoleAssignment.ReadWrite.All), then start again. See docs/connect.md.",
            )),
            (None, SignInPurpose::ManageKeys) => Ok(&organization.app_id),
        }
    }

    async fn start_sign_in(
        &self,
        organization: &Organization,
        purpose: SignInPurpose,
    ) -> Result<DeviceSignIn, DirectoryError> {
        let tenant = tenant(organization)?;
        let scopes = self.scopes(purpose);
        let client_id = self.sign_in_client(organization, purpose)?;
        let code = self
            .device
            .start(&tenant, client_id, &scopes)
            .await
            .map_err(explain)?;
        let handle = uuid::Uuid::new_v4().to_string();
        self.sign_ins().insert(handle.clone(), None);
        let prompt = SignInPrompt {
            user_code: code.user_code.clone(),
            verification_uri: code.verification_uri.clone(),
            expires_at: code.expires_at,
        };
        let interval = code.interval;
        let device = self.device.clone();
        let outcomes = self.sign_ins.clone();
        let task_handle = handle.clone();
        // Entra's client polls at the interval Entra asks for, until signed in, declined or
        // expired; the service only reads the outcome.
        tokio::spawn(async move {
            let outcome = device
                .wait(&code, std::future::pending::<()>())
                .await
                .map(|signed_in| {
                    // Entra's client already holds the token as the one secret type.
                    (
                        signed_in.access_token,
                        signed_in.account.user_principal_name,
                    )
                })
                .map_err(explain);
            if let Some(slot) = outcomes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(&task_handle)
            {
                *slot = Some(outcome);
            }
        });
        Ok(DeviceSignIn {
            prompt,
            device_code: DeviceCode(SecretString::new(handle)),
            interval,
        })
    }
}

impl Directory for EntraDirectory {
    fn start_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        Box::pin(self.start_sign_in(organization, SignInPurpose::ManageKeys))
    }

    fn start_device_sign_in_for<'a>(
        &'a self,
        organization: &'a Organization,
        purpose: SignInPurpose,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        Box::pin(self.start_sign_in(organization, purpose))
    }

    fn poll_device_sign_in<'a>(
        &'a self,
        _organization: &'a Organization,
        device_code: &'a DeviceCode,
    ) -> BoxFuture<'a, Result<SignInPoll, DirectoryError>> {
        let mut sign_ins = self.sign_ins();
        let result = match sign_ins.get(device_code.0.expose()) {
            Some(None) => Ok(SignInPoll::Pending),
            Some(Some(_)) => match sign_ins.remove(device_code.0.expose()).flatten() {
                Some(Ok((token, account))) => Ok(SignInPoll::SignedIn {
                    token: DelegatedToken(token),
                    account,
                }),
                Some(Err(err)) => Err(err),
                None => Ok(SignInPoll::Pending),
            },
            None => Err(DirectoryError::new(
                DirectoryErrorKind::SignInExpired,
                None,
                "This sign-in is no longer known to the service.",
                "Start again.",
            )),
        };
        Box::pin(std::future::ready(result))
    }

    fn application<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        Box::pin(async move {
            let app = self
                .graph
                .application_by_app_id(token.0.expose(), &organization.app_id)
                .await
                .map_err(explain)?;
            Ok(service_application(app))
        })
    }

    fn attach_certificate<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        certificate: &'a tenantlink_certificate::Certificate,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        Box::pin(async move {
            let key = KeyCredential::for_certificate(
                certificate.der(),
                &format!("tenantlink {}", certificate.thumbprints().sha1_hex()),
                certificate.not_before(),
                certificate.not_after(),
            );
            self.graph
                .attach_certificate(token.0.expose(), &organization.app_id, &key)
                .await
                .map_err(explain)?;
            Ok(())
        })
    }

    fn prove_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a tenantlink_certificate::Credential,
    ) -> BoxFuture<'a, Result<ProvenToken, DirectoryError>> {
        Box::pin(async move {
            let tenant = tenant(organization)?;
            let signer = signer_of(credential)?;
            // `fetch`, not the cached `app_token`: the proof must reach Entra every time.
            let token = self
                .tokens
                .fetch(
                    AppTokenRequest {
                        tenant: &tenant,
                        client_id: &organization.app_id,
                        scope: &format!("{}/.default", self.graph_resource),
                        assertion: assertion_options(organization),
                    },
                    &signer,
                )
                .await
                .map_err(explain)?;
            Ok(ProvenToken {
                roles: token.readable_roles(),
            })
        })
    }

    fn application_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a tenantlink_certificate::Credential,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        Box::pin(self.read_application_app_only(organization, credential))
    }

    fn add_key<'a>(
        &'a self,
        organization: &'a Organization,
        signer: &'a tenantlink_certificate::Credential,
        certificate: &'a tenantlink_certificate::Certificate,
    ) -> BoxFuture<'a, Result<ApplicationKey, DirectoryError>> {
        Box::pin(self.add_key_app_only(organization, signer, certificate))
    }

    fn remove_key<'a>(
        &'a self,
        organization: &'a Organization,
        signer: &'a tenantlink_certificate::Credential,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        Box::pin(self.remove_key_app_only(organization, signer, key_id))
    }

    fn browser_sign_in_url(
        &self,
        organization: &Organization,
        request: &tenantlink_service::browser_sign_in::AuthorizeParameters,
    ) -> Result<String, DirectoryError> {
        self.authorize_url(organization, request)
    }

    fn redeem_browser_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
        redemption: &'a tenantlink_service::browser_sign_in::CodeRedemption,
    ) -> BoxFuture<'a, Result<tenantlink_service::browser_sign_in::BrowserSignedIn, DirectoryError>>
    {
        Box::pin(self.redeem_code(organization, redemption))
    }
}

/// The application as the service sees it: keys matched by the thumbprint computed from `key`.
fn service_application(app: tenantlink_entra::Application) -> Application {
    Application {
        display_name: app
            .display_name
            .clone()
            .unwrap_or_else(|| app.app_id.clone()),
        keys: app
            .key_credentials
            .iter()
            .filter_map(|key| {
                Some(ApplicationKey {
                    key_id: key.key_id.clone().unwrap_or_default(),
                    sha1_thumbprint: key.sha1_hex()?,
                    display_name: key.display_name.clone(),
                    end: key.end(),
                })
            })
            .collect(),
        object_id: app.id,
        app_id: app.app_id,
    }
}

/// The organization's assertion profile, in the entra client's terms.
fn assertion_options(organization: &Organization) -> AssertionOptions {
    AssertionOptions {
        profile: organization.assertion_profile.into(),
        include_x5c: false,
    }
}

#[cfg(test)]
#[path = "entra_directory_tests.rs"]
mod tests;
