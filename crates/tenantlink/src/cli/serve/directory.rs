//! The service's [`Directory`] over tenantlink-entra: the same client code for Microsoft's clouds
//! and for the sandbox tenant; only the endpoints (and the sandbox's CA) differ. One
//! [`EntraDirectory`] per cloud; [`CloudDirectories`] routes each organization to its cloud's.

mod routing;

pub use routing::{CloudDirectories, SANDBOX};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tenantlink_clock::SharedClock;
use tenantlink_entra::{
    AadstsKind, AppTokenRequest, AssertionOptions, DeviceFlowClient, DeviceFlowError, Endpoints,
    Error as EntraClientError, GraphClient, GraphErrorKind, KeyCredential, KeyRejectionReason,
    SigningCertificate, TenantId, TokenClient, Transport,
};
use tenantlink_service::{
    Application, ApplicationKey, BoxFuture, CredentialRefusal, DelegatedToken, DeviceCode,
    DeviceSignIn, Directory, DirectoryError, DirectoryErrorKind, Organization, SecretString,
    SignInPoll, SignInPrompt,
};

/// Graph's resource identifier in the global cloud (and the sandbox); national clouds have
/// their own (`with_graph_resource`).
const GLOBAL_GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Delegated permission for reading and updating the application registration.
const APPLICATION_PERMISSION: &str = "Application.ReadWrite.All";

type SignInOutcome = Result<(SecretString, Option<String>), DirectoryError>;

#[derive(Debug, Clone)]
pub struct EntraDirectory {
    device: DeviceFlowClient,
    tokens: TokenClient,
    graph: GraphClient,
    /// Where the clients above go (kept to describe and test the routing).
    endpoints: Endpoints,
    /// The public client the administrator signs in to (device flow); each organization's own
    /// backup application when `None`.
    device_client_id: Option<String>,
    /// Prefix of every Graph scope: `{graph_resource}/Application.ReadWrite.All`, `/.default`.
    graph_resource: String,
    /// Outcomes of device sign-ins, keyed by an opaque handle; the real device code stays
    /// inside the task that polls Entra (the entra client's `wait` drives the polling).
    sign_ins: Arc<Mutex<HashMap<String, Option<SignInOutcome>>>>,
}

impl EntraDirectory {
    pub fn new(
        transport: Transport,
        endpoints: Endpoints,
        clock: SharedClock,
        device_client_id: Option<String>,
    ) -> Self {
        Self {
            device: DeviceFlowClient::new(transport.clone(), endpoints.clone(), clock.clone()),
            tokens: TokenClient::new(transport.clone(), endpoints.clone(), clock.clone()),
            graph: GraphClient::new(transport, endpoints.clone(), clock),
            endpoints,
            device_client_id,
            graph_resource: GLOBAL_GRAPH_RESOURCE.to_owned(),
            sign_ins: Arc::default(),
        }
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

fn tenant(organization: &Organization) -> Result<TenantId, DirectoryError> {
    TenantId::parse(&organization.tenant).map_err(|e| {
        DirectoryError::new(
            DirectoryErrorKind::Other,
            None,
            e.to_string(),
            "Correct the organization's tenant id or domain.",
        )
    })
}

impl Directory for EntraDirectory {
    fn start_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        Box::pin(async move {
            let tenant = tenant(organization)?;
            let scopes = [format!("{}/{APPLICATION_PERMISSION}", self.graph_resource)];
            let client_id = self
                .device_client_id
                .as_deref()
                .unwrap_or(&organization.app_id);
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
                        (
                            SecretString::new(signed_in.access_token.expose()),
                            signed_in.account.user_principal_name.clone(),
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
        })
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
            Ok(Application {
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
                            thumbprint_sha1: key.sha1_hex()?,
                            display_name: key.display_name.clone(),
                            end: key.end(),
                        })
                    })
                    .collect(),
                object_id: app.id,
                app_id: app.app_id,
            })
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
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        Box::pin(async move {
            let tenant = tenant(organization)?;
            let certificate = credential.certificate();
            let signer = SigningCertificate::from_parts(
                certificate.der().to_vec(),
                Vec::new(),
                credential.private_key().pkcs8_der(),
                certificate.not_before(),
                certificate.not_after(),
            )
            .map_err(|e| explain(e.into()))?;
            // `fetch`, not the cached `app_token`: the proof must reach Entra every time.
            self.tokens
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
            Ok(())
        })
    }
}

/// The organization's assertion profile, in the entra client's terms.
fn assertion_options(organization: &Organization) -> AssertionOptions {
    AssertionOptions {
        profile: organization.assertion_profile.into(),
        include_x5c: false,
    }
}

/// Entra's verbatim text plus its explanation (the service's remediation texts), classified for the workflows.
fn explain(err: EntraClientError) -> DirectoryError {
    let explanation = tenantlink_service::remediation::explain(&err);
    let aadsts = |e: &tenantlink_entra::EntraError| e.codes.first().map(|c| format!("AADSTS{c}"));
    let (kind, code) = match &err {
        EntraClientError::DeviceFlow(DeviceFlowError::Declined(e)) => {
            (DirectoryErrorKind::SignInDeclined, aadsts(e))
        }
        EntraClientError::DeviceFlow(DeviceFlowError::Expired(e)) => {
            (DirectoryErrorKind::SignInExpired, aadsts(e))
        }
        EntraClientError::DeviceFlow(DeviceFlowError::ExpiredLocally { .. }) => {
            (DirectoryErrorKind::SignInExpired, None)
        }
        EntraClientError::DeviceFlow(_) => (DirectoryErrorKind::Other, None),
        EntraClientError::Entra(e) => {
            let code = aadsts(e);
            let kind = match &e.kind {
                AadstsKind::AssertionKeyRejected(_) => DirectoryErrorKind::CredentialRejected,
                AadstsKind::ApplicationNotFound => DirectoryErrorKind::ApplicationNotFound,
                _ => DirectoryErrorKind::Other,
            };
            (kind, code)
        }
        EntraClientError::Graph(e) => {
            let kind = match e.kind {
                GraphErrorKind::AuthorizationDenied => DirectoryErrorKind::InsufficientPrivileges,
                GraphErrorKind::CredentialPolicyViolation => DirectoryErrorKind::PolicyRejected,
                GraphErrorKind::NotFound => DirectoryErrorKind::ApplicationNotFound,
                GraphErrorKind::Throttled => DirectoryErrorKind::Unavailable,
                _ => DirectoryErrorKind::Other,
            };
            (kind, Some(e.code.clone()))
        }
        EntraClientError::Transport(_) => (DirectoryErrorKind::Unavailable, None),
        _ => (DirectoryErrorKind::Other, None),
    };
    let explained = DirectoryError::new(
        kind,
        code,
        format!("{} {err}", explanation.summary),
        explanation.remediation,
    );
    match refusal(&err) {
        Some(refusal) => explained.with_refusal(refusal),
        None => explained,
    }
}

/// AADSTS700027's reason, which tells "not attached" from "expired" on the certificate page.
fn refusal(err: &EntraClientError) -> Option<CredentialRefusal> {
    let EntraClientError::Entra(e) = err else {
        return None;
    };
    let AadstsKind::AssertionKeyRejected(rejection) = &e.kind else {
        return None;
    };
    Some(match rejection.reason {
        KeyRejectionReason::KeyNotFound => CredentialRefusal::KeyNotRegistered,
        KeyRejectionReason::KeyExpired => CredentialRefusal::KeyExpired,
        _ => CredentialRefusal::Other,
    })
}
