//! A scripted [`Directory`]. The sleeper that advances a manual clock instead of sleeping is
//! `tenantlink_clock::RecordingSleeper` (the `fakes` feature turns on its `test-util`).

use super::{lock, ready};
use crate::model::Organization;
use crate::operation::SignInPrompt;
use crate::ports::{
    Application, ApplicationKey, BoxFuture, CredentialRefusal, DelegatedToken, DeviceCode,
    DeviceSignIn, Directory, DirectoryError, DirectoryErrorKind, ProvenToken, SignInPoll,
    SignInPurpose,
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
    browser: super::browser_directory::FakeBrowser,
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
    /// The `roles` of the tokens the next accepted proofs get, in order; after them, tokens
    /// that cannot be read (`roles: None`).
    token_roles: VecDeque<Vec<String>>,
    proof_attempts: u32,
    tokens_issued: Vec<String>,
    /// Scripted refusals of the app-only calls, in order, per call.
    failures: HashMap<FakeCall, VecDeque<DirectoryError>>,
    /// The next call of a kind never answers (a process killed while waiting for Graph).
    hangs: HashMap<FakeCall, (HangPoint, Arc<tokio::sync::Notify>)>,
    /// Runs when the next call of a kind is made, before anything else it does.
    hooks: HashMap<FakeCall, Hook>,
    /// Keys added by addKey stay invisible to this many reads and proofs (Graph propagation).
    propagation_calls: u32,
    /// Thumbprint → (reads, proofs) still blind to it.
    propagating: HashMap<String, (u32, u32)>,
    /// Graph's key-count limit (`Directory_ResourceSizeExceeded` beyond it).
    key_limit: Option<usize>,
    /// The tenant's app-management policy: the longest lifetime addKey accepts.
    max_lifetime: Option<Duration>,
    calls: HashMap<FakeCall, u32>,
    most_keys: usize,
    /// What each device sign-in was for, in order.
    purposes: Vec<SignInPurpose>,
}

/// An app-only call of the fake directory a test can script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FakeCall {
    ApplicationAppOnly,
    AddKey,
    RemoveKey,
    ProveAppOnly,
}

/// Where a hung call stops: before Graph applied it (the request never arrived) or after (Graph
/// applied it and the answer never came back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangPoint {
    BeforeEffect,
    AfterEffect,
}

/// A call the fake will never answer; [`HungCall::reached`] resolves once it has been made.
#[derive(Debug, Clone)]
pub struct HungCall(Arc<tokio::sync::Notify>);

impl HungCall {
    /// Waits until the hung call has been made (at once if it already was).
    pub async fn reached(&self) {
        self.0.notified().await;
    }
}

/// What a scripted call does before its own effect.
enum Begin {
    Hang,
    Fail(DirectoryError),
    Go {
        hang_after: Option<Arc<tokio::sync::Notify>>,
    },
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
            .field("calls", &self.calls)
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
            browser: Default::default(),
        }
    }

    /// The tenant's Conditional Access blocks the device code flow (`None`: allows it again).
    pub fn block_device_code(&self, block: Option<super::DeviceCodeBlock>) {
        self.browser.set_device_block(block);
    }

    /// Every `/authorize` URL handed out, oldest first.
    pub fn authorize_requests(&self) -> Vec<super::AuthorizeSeen> {
        self.browser.seen()
    }

    /// The person signs in at the browser page of the request with `state`: its one-time code.
    pub fn approve_browser(&self, state: &str) -> String {
        self.browser.approve(state)
    }

    /// The next redeemed code's id token carries `nonce` (a code from another sign-in).
    pub fn answer_with_nonce(&self, nonce: &str) {
        self.browser.answer_with_nonce(nonce);
    }

    /// How many codes were presented for redemption.
    pub fn code_redemptions(&self) -> u32 {
        self.browser.redemptions()
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
        let mut state = lock(&self.state);
        state.attached.push(sha1_hex.to_ascii_uppercase());
        state.most_keys = state.most_keys.max(state.attached.len());
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

    /// The next accepted proofs get tokens carrying these `roles`, one set each, in order (a
    /// consent still propagating: the first sets lack some).
    pub fn issue_tokens_with_roles(&self, roles: &[&[&str]]) {
        let mut state = lock(&self.state);
        for set in roles {
            state
                .token_roles
                .push_back(set.iter().map(|role| (*role).to_owned()).collect());
        }
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
    /// The purpose of each device sign-in requested so far, in order.
    pub fn sign_in_purposes(&self) -> Vec<SignInPurpose> {
        lock(&self.state).purposes.clone()
    }

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

    // --- scripting the app-only calls of rotation -------------------------------------------

    /// The next `call` fails with `error` (queued: several calls fail in order). For proofs this
    /// is [`FakeDirectory::fail_next_proof`].
    pub fn fail_next(&self, call: FakeCall, error: DirectoryError) {
        let mut state = lock(&self.state);
        match call {
            FakeCall::ProveAppOnly => state.refusals_before_accepting.push_back(error),
            _ => state.failures.entry(call).or_default().push_back(error),
        }
    }

    pub fn fail_next_add_key(&self, error: DirectoryError) {
        self.fail_next(FakeCall::AddKey, error);
    }

    pub fn fail_next_remove_key(&self, error: DirectoryError) {
        self.fail_next(FakeCall::RemoveKey, error);
    }

    pub fn fail_next_application_read(&self, error: DirectoryError) {
        self.fail_next(FakeCall::ApplicationAppOnly, error);
    }

    /// The next `call` never answers, stopping at `point`: what the caller sees when its process
    /// is killed while waiting for Graph.
    pub fn hang_next(&self, call: FakeCall, point: HangPoint) -> HungCall {
        let reached = Arc::new(tokio::sync::Notify::new());
        lock(&self.state)
            .hangs
            .insert(call, (point, reached.clone()));
        HungCall(reached)
    }

    /// Runs `hook` when the next `call` is made, before it does anything else.
    pub fn before_next(&self, call: FakeCall, hook: impl FnOnce() + Send + 'static) {
        lock(&self.state).hooks.insert(call, Box::new(hook));
    }

    /// Keys added from now on are not listed by the next `calls` application reads, and refused
    /// by the next `calls` proofs made with them (Graph and Entra propagating a new key).
    pub fn propagation_delay(&self, calls: u32) {
        lock(&self.state).propagation_calls = calls;
    }

    /// addKey beyond `keys` keys is refused with `Directory_ResourceSizeExceeded`.
    pub fn limit_keys(&self, keys: usize) {
        lock(&self.state).key_limit = Some(keys);
    }

    /// The tenant's app-management policy: addKey refuses certificates living longer than `days`.
    pub fn refuse_lifetimes_over(&self, days: i64) {
        lock(&self.state).max_lifetime = Some(Duration::days(days));
    }

    /// How many times `call` was made.
    pub fn calls(&self, call: FakeCall) -> u32 {
        let state = lock(&self.state);
        match call {
            FakeCall::ProveAppOnly => state.proof_attempts,
            _ => state.calls.get(&call).copied().unwrap_or(0),
        }
    }

    /// The most keys the application held at any moment.
    pub fn most_keys(&self) -> usize {
        lock(&self.state).most_keys
    }

    /// Graph's 429 with `Retry-After`.
    pub fn throttled(retry_after: StdDuration) -> DirectoryError {
        DirectoryError::new(
            DirectoryErrorKind::Throttled,
            Some("TooManyRequests".into()),
            "Too many requests.",
            "Wait and try again.",
        )
        .with_retry_after(retry_after)
    }

    /// Graph's 503.
    pub fn unavailable() -> DirectoryError {
        DirectoryError::new(
            DirectoryErrorKind::Unavailable,
            None,
            "Service Unavailable (503)",
            "Try again later.",
        )
    }

    /// Graph's refusal of a key beyond the application's size limit.
    pub fn quota_exceeded() -> DirectoryError {
        DirectoryError::new(
            DirectoryErrorKind::QuotaExceeded,
            Some("Directory_ResourceSizeExceeded".into()),
            "The size of the object has exceeded its limit. Please reduce the number of values and retry your request.",
            "Remove unused keys of the application.",
        )
    }

    /// The tenant's app-management policy refusing a certificate's lifetime.
    pub fn lifetime_policy_refusal() -> DirectoryError {
        DirectoryError::new(
            DirectoryErrorKind::PolicyRejected,
            Some("Request_BadRequest".into()),
            "Key credential end date exceeds the maximum lifetime allowed by the tenant's app management policy.",
            "Use a shorter lifetime.",
        )
    }

    /// Hooks, hangs, scripted failures and counting, shared by the app-only calls.
    fn begin(&self, call: FakeCall) -> Begin {
        let hook = lock(&self.state).hooks.remove(&call);
        if let Some(hook) = hook {
            hook();
        }
        let mut state = lock(&self.state);
        if call != FakeCall::ProveAppOnly {
            *state.calls.entry(call).or_default() += 1;
        }
        let hang = state.hangs.remove(&call);
        let hang_after = match hang {
            Some((HangPoint::BeforeEffect, reached)) => {
                reached.notify_one();
                return Begin::Hang;
            }
            Some((HangPoint::AfterEffect, reached)) => Some(reached),
            None => None,
        };
        if let Some(error) = state.failures.get_mut(&call).and_then(VecDeque::pop_front) {
            return Begin::Fail(error);
        }
        Begin::Go { hang_after }
    }
}

/// A future that never resolves: the answer of a hung call.
fn never<'a, T: Send + 'a>() -> BoxFuture<'a, T> {
    Box::pin(std::future::pending())
}

/// The answer after a call's effect, unless the call hangs after it.
fn answer<'a, T: Send + 'a>(
    hang_after: Option<Arc<tokio::sync::Notify>>,
    value: T,
) -> BoxFuture<'a, T> {
    match hang_after {
        Some(reached) => {
            reached.notify_one();
            never()
        }
        None => ready(value),
    }
}

/// Whether a read (or a proof, `proof = true`) does not see `thumbprint` yet; counts the call.
fn still_propagating(state: &mut FakeDirectoryState, thumbprint: &str, proof: bool) -> bool {
    let Some((reads, proofs)) = state.propagating.get_mut(thumbprint) else {
        return false;
    };
    let left = if proof { proofs } else { reads };
    if *left == 0 {
        return false;
    }
    *left -= 1;
    true
}

/// The application as a read sees it now: keys still propagating are missing.
fn read_application(state: &mut FakeDirectoryState, organization: &Organization) -> Application {
    let mut application = fake_application(state, organization);
    let keys = std::mem::take(&mut application.keys);
    application.keys = keys
        .into_iter()
        .filter(|key| !still_propagating(state, &key.sha1_thumbprint, false))
        .collect();
    application
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
    fn browser_sign_in_url(
        &self,
        _organization: &Organization,
        request: &crate::browser_sign_in::AuthorizeParameters,
    ) -> Result<String, DirectoryError> {
        Ok(self.browser.authorize_url(request))
    }

    fn redeem_browser_sign_in<'a>(
        &'a self,
        _organization: &'a Organization,
        redemption: &'a crate::browser_sign_in::CodeRedemption,
    ) -> BoxFuture<'a, Result<crate::browser_sign_in::BrowserSignedIn, DirectoryError>> {
        let result = self.browser.redeem(redemption);
        if let Ok(signed_in) = &result {
            lock(&self.state)
                .tokens_issued
                .push(signed_in.token.0.expose().to_owned());
        }
        ready(result)
    }

    fn start_device_sign_in_for<'a>(
        &'a self,
        organization: &'a Organization,
        purpose: SignInPurpose,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        lock(&self.state).purposes.push(purpose);
        self.start_device_sign_in(organization)
    }

    fn start_device_sign_in<'a>(
        &'a self,
        _organization: &'a Organization,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        let hook = lock(&self.state).during_next_sign_in.take();
        if let Some(hook) = hook {
            hook();
        }
        if self.browser.device_block() == Some(super::DeviceCodeBlock::Request) {
            return ready(Err(super::browser_directory::blocked_error()));
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
        if self.browser.device_block() == Some(super::DeviceCodeBlock::SignIn) {
            lock(&self.state).sign_in_polls += 1;
            return ready(Err(super::browser_directory::blocked_error()));
        }
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
        ready(Ok(read_application(&mut state, organization)))
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
        state.most_keys = state.most_keys.max(state.attached.len());
        ready(Ok(()))
    }

    fn prove_app_only<'a>(
        &'a self,
        _organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<ProvenToken, DirectoryError>> {
        let hang_after = match self.begin(FakeCall::ProveAppOnly) {
            Begin::Hang => return never(),
            Begin::Fail(err) => return ready(Err(err)),
            Begin::Go { hang_after } => hang_after,
        };
        let mut state = lock(&self.state);
        state.proof_attempts += 1;
        if let Some(refusal) = state.refusals_before_accepting.pop_front() {
            return ready(Err(refusal));
        }
        let thumbprint = credential.certificate().thumbprints().sha1_hex();
        let accepted = state.attached.contains(&thumbprint)
            && !still_propagating(&mut state, &thumbprint, true);
        let token = accepted.then(|| ProvenToken {
            roles: state.token_roles.pop_front(),
        });
        drop(state);
        answer(hang_after, token.ok_or_else(key_not_found))
    }

    fn application_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        let hang_after = match self.begin(FakeCall::ApplicationAppOnly) {
            Begin::Hang => return never(),
            Begin::Fail(err) => return ready(Err(err)),
            Begin::Go { hang_after } => hang_after,
        };
        let mut state = lock(&self.state);
        state.application_reads += 1;
        let thumbprint = credential.certificate().thumbprints().sha1_hex();
        if !state.attached.contains(&thumbprint) {
            return ready(Err(key_not_found()));
        }
        let application = read_application(&mut state, organization);
        drop(state);
        answer(hang_after, Ok(application))
    }

    fn add_key<'a>(
        &'a self,
        _organization: &'a Organization,
        signer: &'a Credential,
        certificate: &'a Certificate,
    ) -> BoxFuture<'a, Result<ApplicationKey, DirectoryError>> {
        let hang_after = match self.begin(FakeCall::AddKey) {
            Begin::Hang => return never(),
            Begin::Fail(err) => return ready(Err(err)),
            Begin::Go { hang_after } => hang_after,
        };
        let mut state = lock(&self.state);
        if !state
            .attached
            .contains(&signer.certificate().thumbprints().sha1_hex())
        {
            return ready(Err(proof_rejected()));
        }
        if let Some(max) = state.max_lifetime
            && certificate.not_after() - certificate.not_before() > max
        {
            return ready(Err(Self::lifetime_policy_refusal()));
        }
        let thumbprint = certificate.thumbprints().sha1_hex();
        if !state.attached.contains(&thumbprint) {
            if state
                .key_limit
                .is_some_and(|limit| state.attached.len() >= limit)
            {
                return ready(Err(Self::quota_exceeded()));
            }
            state.attached.push(thumbprint.clone());
            let delay = state.propagation_calls;
            if delay > 0 {
                state.propagating.insert(thumbprint.clone(), (delay, delay));
            }
            state.most_keys = state.most_keys.max(state.attached.len());
        }
        drop(state);
        let end = Some(certificate.not_after());
        answer(
            hang_after,
            Ok(ApplicationKey {
                key_id: format!("key-{thumbprint}"),
                sha1_thumbprint: thumbprint,
                display_name: None,
                end,
            }),
        )
    }

    fn remove_key<'a>(
        &'a self,
        _organization: &'a Organization,
        signer: &'a Credential,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        let hang_after = match self.begin(FakeCall::RemoveKey) {
            Begin::Hang => return never(),
            Begin::Fail(err) => return ready(Err(err)),
            Begin::Go { hang_after } => hang_after,
        };
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
        drop(state);
        answer(hang_after, Ok(()))
    }
}

impl FakeDirectory {
    fn clock_now(&self) -> OffsetDateTime {
        use tenantlink_clock::Clock;
        self.clock.now()
    }
}
