//! A scripted [`Directory`]. The sleeper that advances a manual clock instead of sleeping is
//! `tenantlink_clock::RecordingSleeper` (the `fakes` feature turns on its `test-util`).

use super::{lock, ready};
use crate::model::Organization;
use crate::operation::SignInPrompt;
use crate::ports::{
    Application, ApplicationKey, BoxFuture, CredentialRefusal, DelegatedToken, DeviceCode,
    DeviceSignIn, Directory, DirectoryError, DirectoryErrorKind, SignInPoll,
};
use crate::secret::SecretString;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;
use tenantlink_certificate::{Certificate, Credential};
use tenantlink_clock::ManualClock;
use time::{Duration, OffsetDateTime};

/// A directory whose answers the test scripts: sign-ins are approved or declined by the test,
/// attaching records thumbprints, and token proofs succeed once the key is attached (optionally
/// after a number of refusals, imitating propagation delay).
#[derive(Debug, Clone)]
pub struct FakeDirectory {
    state: Arc<Mutex<FakeDirectoryState>>,
    clock: Arc<ManualClock>,
}

/// Something the test runs while a device sign-in is being requested.
type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct FakeDirectoryState {
    /// Device sign-ins requested so far (also numbers the codes).
    next_code: u32,
    sign_in_polls: u32,
    application_reads: u32,
    during_next_sign_in: Option<Hook>,
    /// device code → outcome the test chose (None = still pending)
    sign_ins: HashMap<String, Option<Result<(), DirectoryError>>>,
    user_codes: HashMap<String, String>,
    attached: Vec<String>,
    attach_error: Option<DirectoryError>,
    refusals_before_accepting: VecDeque<DirectoryError>,
    proof_attempts: u32,
    tokens_issued: Vec<String>,
}

/// Counts only: the state holds device codes and tokens, which must not reach a log or an assertion
/// message even in tests (and `Workflows`' own `Debug` includes its directory).
impl std::fmt::Debug for FakeDirectoryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDirectoryState")
            .field("device_sign_ins", &self.next_code)
            .field("sign_in_polls", &self.sign_in_polls)
            .field("application_reads", &self.application_reads)
            .field("attached", &self.attached)
            .field("proof_attempts", &self.proof_attempts)
            .finish_non_exhaustive()
    }
}

pub const FAKE_APP_NAME: &str = "Contoso Backup";
pub const FAKE_APP_OBJECT_ID: &str = "6f1c2a34-0000-4000-8000-00000000ab01";

impl FakeDirectory {
    pub fn new(clock: Arc<ManualClock>) -> Self {
        Self {
            state: Arc::default(),
            clock,
        }
    }

    /// Approves the sign-in shown with `user_code`.
    pub fn approve(&self, user_code: &str) {
        self.decide(user_code, Ok(()));
    }

    pub fn decline(&self, user_code: &str) {
        self.decide(
            user_code,
            Err(DirectoryError::new(
                DirectoryErrorKind::SignInDeclined,
                Some("AADSTS70000".into()),
                "The person at the sign-in page declined the request.",
                "Start again and accept the sign-in request.",
            )),
        );
    }

    fn decide(&self, user_code: &str, outcome: Result<(), DirectoryError>) {
        let mut state = lock(&self.state);
        if let Some(device_code) = state.user_codes.get(user_code).cloned() {
            state.sign_ins.insert(device_code, Some(outcome));
        }
    }

    /// Attaches a thumbprint as if an administrator had uploaded it in Entra ID.
    pub fn attach_thumbprint(&self, sha1_hex: &str) {
        lock(&self.state)
            .attached
            .push(sha1_hex.to_ascii_uppercase());
    }

    pub fn attached(&self) -> Vec<String> {
        lock(&self.state).attached.clone()
    }

    /// Removes a thumbprint from the application, as an administrator deleting the key in Entra
    /// ID (or Graph `removeKey`) would; later proofs with it are refused as not registered.
    pub fn detach_thumbprint(&self, sha1_hex: &str) {
        lock(&self.state)
            .attached
            .retain(|t| !t.eq_ignore_ascii_case(sha1_hex));
    }

    /// The next proof fails with `error`, whatever the key.
    pub fn fail_next_proof(&self, error: DirectoryError) {
        lock(&self.state).refusals_before_accepting.push_back(error);
    }

    pub fn fail_next_attach(&self, error: DirectoryError) {
        lock(&self.state).attach_error = Some(error);
    }

    /// The next `count` proofs are refused with AADSTS700027 even for attached keys.
    pub fn refuse_proofs(&self, count: usize) {
        let mut state = lock(&self.state);
        for _ in 0..count {
            state.refusals_before_accepting.push_back(key_not_found());
        }
    }

    pub fn proof_attempts(&self) -> u32 {
        lock(&self.state).proof_attempts
    }

    /// How many device sign-ins were requested (each one is a device code from Entra).
    pub fn device_sign_ins_started(&self) -> u32 {
        lock(&self.state).next_code
    }

    /// How many times the token endpoint was asked about a device sign-in.
    pub fn sign_in_polls(&self) -> u32 {
        lock(&self.state).sign_in_polls
    }

    /// How many times the application was read through Graph.
    pub fn application_reads(&self) -> u32 {
        lock(&self.state).application_reads
    }

    /// Runs `hook` inside the next device sign-in request, e.g. to let another instance start
    /// an operation between the service's check and its insert.
    pub fn during_next_device_sign_in(&self, hook: impl FnOnce() + Send + 'static) {
        lock(&self.state).during_next_sign_in = Some(Box::new(hook));
    }

    /// Tokens the fake handed out, to check they never leak.
    pub fn tokens_issued(&self) -> Vec<String> {
        lock(&self.state).tokens_issued.clone()
    }
}

/// The application as the fake holds it; key ids are stable (`key-{thumbprint}`), so removing
/// one key does not rename the others.
fn fake_application(state: &FakeDirectoryState, organization: &Organization) -> Application {
    Application {
        object_id: FAKE_APP_OBJECT_ID.into(),
        app_id: organization.app_id.clone(),
        display_name: FAKE_APP_NAME.into(),
        keys: state
            .attached
            .iter()
            .map(|thumbprint| ApplicationKey {
                key_id: format!("key-{thumbprint}"),
                sha1_thumbprint: thumbprint.clone(),
                display_name: None,
                end: None,
            })
            .collect(),
    }
}

/// Graph's refusal of a proof signed by a certificate the application does not list.
fn proof_rejected() -> DirectoryError {
    DirectoryError::new(
        DirectoryErrorKind::ProofRejected,
        Some("Authentication_MissingOrMalformed".into()),
        "Access Token missing or malformed.",
        "The certificate signing the proof must be a currently valid key of the application.",
    )
}

fn key_not_found() -> DirectoryError {
    DirectoryError::new(
        DirectoryErrorKind::CredentialRejected,
        Some("AADSTS700027".into()),
        "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.",
        "Attach the certificate to the application, or wait a minute for Entra ID to propagate it.",
    )
    .with_refusal(CredentialRefusal::KeyNotRegistered)
}

impl Directory for FakeDirectory {
    fn start_device_sign_in<'a>(
        &'a self,
        _organization: &'a Organization,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        let hook = lock(&self.state).during_next_sign_in.take();
        if let Some(hook) = hook {
            hook();
        }
        let mut state = lock(&self.state);
        state.next_code += 1;
        let user_code = format!("FAKE{:04}", state.next_code);
        let device_code = format!("device-code-secret-{}", state.next_code);
        state.sign_ins.insert(device_code.clone(), None);
        state
            .user_codes
            .insert(user_code.clone(), device_code.clone());
        ready(Ok(DeviceSignIn {
            prompt: SignInPrompt {
                user_code,
                verification_uri: "https://login.example.test/device".into(),
                expires_at: self.clock_now() + Duration::minutes(15),
            },
            device_code: DeviceCode(SecretString::new(device_code)),
            interval: StdDuration::from_secs(5),
        }))
    }

    fn poll_device_sign_in<'a>(
        &'a self,
        _organization: &'a Organization,
        device_code: &'a DeviceCode,
    ) -> BoxFuture<'a, Result<SignInPoll, DirectoryError>> {
        let mut state = lock(&self.state);
        state.sign_in_polls += 1;
        let result = match state.sign_ins.get(device_code.0.expose()).cloned() {
            Some(None) => Ok(SignInPoll::Pending),
            Some(Some(Ok(()))) => {
                let token = format!("delegated-token-{}", device_code.0.expose());
                state.tokens_issued.push(token.clone());
                Ok(SignInPoll::SignedIn {
                    token: DelegatedToken(SecretString::new(token)),
                    account: Some("admin@contoso.example".into()),
                })
            }
            Some(Some(Err(err))) => Err(err),
            None => Err(DirectoryError::new(
                DirectoryErrorKind::SignInExpired,
                Some("AADSTS70019".into()),
                "The device code is unknown or expired.",
                "Start again.",
            )),
        };
        ready(result)
    }

    fn application<'a>(
        &'a self,
        organization: &'a Organization,
        _token: &'a DelegatedToken,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        let mut state = lock(&self.state);
        state.application_reads += 1;
        ready(Ok(fake_application(&state, organization)))
    }

    fn attach_certificate<'a>(
        &'a self,
        _organization: &'a Organization,
        _token: &'a DelegatedToken,
        certificate: &'a Certificate,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        let mut state = lock(&self.state);
        if let Some(err) = state.attach_error.take() {
            return ready(Err(err));
        }
        state.attached.push(certificate.thumbprints().sha1_hex());
        ready(Ok(()))
    }

    fn prove_app_only<'a>(
        &'a self,
        _organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        let mut state = lock(&self.state);
        state.proof_attempts += 1;
        if let Some(refusal) = state.refusals_before_accepting.pop_front() {
            return ready(Err(refusal));
        }
        let thumbprint = credential.certificate().thumbprints().sha1_hex();
        if state.attached.contains(&thumbprint) {
            ready(Ok(()))
        } else {
            ready(Err(key_not_found()))
        }
    }

    fn application_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        let mut state = lock(&self.state);
        state.application_reads += 1;
        let thumbprint = credential.certificate().thumbprints().sha1_hex();
        if !state.attached.contains(&thumbprint) {
            return ready(Err(key_not_found()));
        }
        ready(Ok(fake_application(&state, organization)))
    }

    fn add_key<'a>(
        &'a self,
        _organization: &'a Organization,
        signer: &'a Credential,
        certificate: &'a Certificate,
    ) -> BoxFuture<'a, Result<ApplicationKey, DirectoryError>> {
        let mut state = lock(&self.state);
        if let Some(err) = state.attach_error.take() {
            return ready(Err(err));
        }
        if !state
            .attached
            .contains(&signer.certificate().thumbprints().sha1_hex())
        {
            return ready(Err(proof_rejected()));
        }
        let thumbprint = certificate.thumbprints().sha1_hex();
        if !state.attached.contains(&thumbprint) {
            state.attached.push(thumbprint.clone());
        }
        ready(Ok(ApplicationKey {
            key_id: format!("key-{thumbprint}"),
            sha1_thumbprint: thumbprint,
            display_name: None,
            end: Some(certificate.not_after()),
        }))
    }

    fn remove_key<'a>(
        &'a self,
        _organization: &'a Organization,
        signer: &'a Credential,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        let mut state = lock(&self.state);
        if !state
            .attached
            .contains(&signer.certificate().thumbprints().sha1_hex())
        {
            return ready(Err(proof_rejected()));
        }
        let before = state.attached.len();
        state
            .attached
            .retain(|thumbprint| format!("key-{thumbprint}") != key_id);
        if state.attached.len() == before {
            return ready(Err(DirectoryError::new(
                DirectoryErrorKind::Other,
                Some("Request_ResourceNotFound".into()),
                format!(
                    "Resource '{key_id}' does not exist or one of its queried reference-property objects are not present."
                ),
                "The key is no longer on the application.",
            )));
        }
        ready(Ok(()))
    }
}

impl FakeDirectory {
    fn clock_now(&self) -> OffsetDateTime {
        use tenantlink_clock::Clock;
        self.clock.now()
    }
}
