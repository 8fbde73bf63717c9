//! Everything a request handler can reach: the tenant registry, the mailboxes, pending device flows,
//! refresh tokens, the token issuer, the clock, faults, settings and the request log.

use crate::SandboxError;
use crate::faults::FaultTable;
use crate::identity::assertion::AssertionShape;
use crate::identity::authorization::AuthorizationFlows;
use crate::identity::device::DeviceFlows;
use crate::identity::issuer::AccessTokenSigning;
use crate::identity::issuer::TokenIssuer;
use crate::identity::refresh::RefreshTokens;
use crate::mailbox::Mailboxes;
use crate::mailbox::store::MailStore;
use crate::requestlog::RequestLog;
use crate::stats::Stats;
use crate::tenants::TenantRegistry;
use crate::tenants::shared::SharedRegistry;
use crate::tenants::store::TenantStore;
use crate::throttle::{GraphThrottle, ThrottleWindows};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tenantlink_clock::{Clock, OffsetClock};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) type SharedState = Arc<SandboxState>;

#[derive(Debug)]
pub(crate) struct SandboxState {
    pub clock: Arc<OffsetClock>,
    /// `https://host:port`, no trailing slash.
    pub base_url: String,
    pub enable_control: bool,
    pub issuer: TokenIssuer,
    /// The current tenant registry. Readers take a snapshot (an `Arc` clone) and work without any
    /// lock, so verifying an assertion and signing a token never hold up other requests.
    registry: SharedRegistry,
    mailboxes: Mutex<Mailboxes>,
    mail_store: MailStore,
    pub devices: Mutex<DeviceFlows>,
    /// Authorization code flows: sign-ins at the page and issued codes.
    pub authorizations: Mutex<AuthorizationFlows>,
    pub refresh_tokens: Mutex<RefreshTokens>,
    pub faults: Mutex<FaultTable>,
    pub settings: Mutex<Settings>,
    /// Applications (by client id) that accept only one assertion shape; not persisted, like
    /// faults and settings.
    pub assertion_shapes: Mutex<HashMap<Uuid, AssertionShape>>,
    pub log: Mutex<RequestLog>,
    pub stats: Stats,
    /// Each tenant's current window of the `graph_throttle` budget.
    pub throttle: Mutex<ThrottleWindows>,
}

/// The state kept on disk, as loaded at start, with where each part is saved.
#[derive(Debug)]
pub(crate) struct Persisted {
    pub registry: TenantRegistry,
    pub store: TenantStore,
    pub mailboxes: Mailboxes,
    pub mail_store: MailStore,
}

/// Behaviour switches of the control API. A POST replaces them all: omitted ones take their
/// defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// A key attached through addKey or PATCH stays invisible to the token endpoint for this long
    /// of sandbox time (Entra replication: 4–18 s were observed).
    #[serde(default)]
    pub key_propagation_delay_seconds: u64,
    /// How Graph access tokens are signed: `RS256` (default, as Entra) or `HS256` (a keyed MAC
    /// only this sandbox's Graph can check; no RSA operation per token — see docs/sandbox.md).
    #[serde(default)]
    pub access_token_signing: AccessTokenSigning,
    /// Per-tenant budget of Graph application requests; `None` (default) never throttles.
    #[serde(default)]
    pub graph_throttle: Option<GraphThrottle>,
    /// addKey or PATCH that would leave an application with more keyCredentials than this is
    /// refused with `Directory_ResourceSizeExceeded`. Graph's own limit is the object's size
    /// (about 600 certificates were seen to fit); the default is lower so that a client that
    /// leaks keys trips it in tests long before production would.
    #[serde(default = "default_max_key_credentials")]
    pub max_key_credentials: u32,
    /// A service principal created through Graph, and each app role assignment (admin consent),
    /// reach the token endpoint this long of sandbox time after they were written: until then
    /// client credentials fail with AADSTS7000229 and the `roles` claim lacks the consent.
    #[serde(default)]
    pub consent_propagation_delay_seconds: u64,
    /// `POST /applications` beyond this many applications in a tenant is refused with
    /// `Directory_QuotaExceeded` (Entra's directory object quota); `None` (default) never.
    #[serde(default)]
    pub max_applications_per_tenant: Option<u32>,
}

pub(crate) const DEFAULT_MAX_KEY_CREDENTIALS: u32 = 100;

/// A delay beyond the clock's own range (a century) is a typing mistake, and adding it to a
/// key's attach time must not overflow.
const MAX_PROPAGATION_DELAY_SECONDS: u64 = 100 * 365 * 86_400;

fn default_max_key_credentials() -> u32 {
    DEFAULT_MAX_KEY_CREDENTIALS
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            key_propagation_delay_seconds: 0,
            access_token_signing: AccessTokenSigning::default(),
            graph_throttle: None,
            max_key_credentials: DEFAULT_MAX_KEY_CREDENTIALS,
            consent_propagation_delay_seconds: 0,
            max_applications_per_tenant: None,
        }
    }
}

impl Settings {
    /// What the control API refuses, with what to send instead.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.key_propagation_delay_seconds > MAX_PROPAGATION_DELAY_SECONDS {
            return Err(format!(
                "'key_propagation_delay_seconds' must be at most {MAX_PROPAGATION_DELAY_SECONDS} (a century); got {}",
                self.key_propagation_delay_seconds
            ));
        }
        if self.consent_propagation_delay_seconds > MAX_PROPAGATION_DELAY_SECONDS {
            return Err(format!(
                "'consent_propagation_delay_seconds' must be at most {MAX_PROPAGATION_DELAY_SECONDS} (a century); got {}",
                self.consent_propagation_delay_seconds
            ));
        }
        if self.max_key_credentials == 0 {
            return Err(
                "'max_key_credentials' must be at least 1 (an application needs one key to sign in)"
                    .to_owned(),
            );
        }
        if let Some(throttle) = &self.graph_throttle {
            throttle.validate()?;
        }
        Ok(())
    }

    pub(crate) fn consent_delay(&self) -> time::Duration {
        seconds(self.consent_propagation_delay_seconds)
    }

    pub(crate) fn propagation_delay(&self) -> time::Duration {
        time::Duration::seconds(
            i64::try_from(
                self.key_propagation_delay_seconds
                    .min(MAX_PROPAGATION_DELAY_SECONDS),
            )
            .unwrap_or_default(),
        )
    }
}

fn seconds(value: u64) -> time::Duration {
    time::Duration::seconds(
        i64::try_from(value.min(MAX_PROPAGATION_DELAY_SECONDS)).unwrap_or_default(),
    )
}

impl SandboxState {
    pub(crate) fn new(
        clock: Arc<OffsetClock>,
        base_url: String,
        enable_control: bool,
        issuer: TokenIssuer,
        persisted: Persisted,
    ) -> Self {
        let Persisted {
            registry,
            store,
            mailboxes,
            mail_store,
        } = persisted;
        Self {
            clock,
            base_url,
            enable_control,
            issuer,
            registry: SharedRegistry::new(registry, store),
            mailboxes: Mutex::new(mailboxes),
            mail_store,
            devices: Mutex::default(),
            authorizations: Mutex::default(),
            refresh_tokens: Mutex::default(),
            faults: Mutex::default(),
            settings: Mutex::default(),
            assertion_shapes: Mutex::default(),
            log: Mutex::default(),
            stats: Stats::default(),
            throttle: Mutex::default(),
        }
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Reads a snapshot of the tenant registry; changes made meanwhile are not seen by `f`.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&TenantRegistry) -> R) -> R {
        f(&self.registry.snapshot())
    }

    /// Changes the tenant registry all-or-nothing: `f` edits a copy, which replaces the tenant
    /// registry only once `f` succeeded and the change is on disk. Changes run one at a time; see
    /// [`SharedRegistry::update`].
    pub(crate) fn update<R, E: From<SandboxError>>(
        &self,
        f: impl FnOnce(&mut TenantRegistry) -> Result<R, E>,
    ) -> Result<R, E> {
        self.registry.update(f)
    }

    /// Reads the mailboxes under their lock (separate from the tenant registry's).
    pub(crate) fn read_mail<R>(&self, f: impl FnOnce(&Mailboxes) -> R) -> R {
        f(&lock(&self.mailboxes))
    }

    /// Changes the mailboxes all-or-nothing, as [`Self::update`] does the tenant registry.
    pub(crate) fn update_mail<R, E: From<SandboxError>>(
        &self,
        f: impl FnOnce(&mut Mailboxes) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut mailboxes = lock(&self.mailboxes);
        let mut copy = mailboxes.clone();
        let result = f(&mut copy)?;
        self.mail_store.save(&copy)?;
        *mailboxes = copy;
        Ok(result)
    }

    pub(crate) fn required_assertion_shape(&self, app_id: &Uuid) -> Option<AssertionShape> {
        lock(&self.assertion_shapes).get(app_id).copied()
    }

    pub(crate) fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Signs a Graph access token the way the settings say, and counts it.
    pub(crate) fn sign_access_token(&self, claims: &serde_json::Value) -> String {
        self.stats.access_token_issued();
        match lock(&self.settings).access_token_signing {
            AccessTokenSigning::Rs256 => self.sign_rs256(claims),
            AccessTokenSigning::Hs256 => {
                self.stats.mac_signature();
                self.issuer.sign_hs256(claims)
            }
        }
    }

    /// Signs an RS256 token (ID tokens, and access tokens by default), and counts it.
    pub(crate) fn sign_rs256(&self, claims: &serde_json::Value) -> String {
        self.stats.rsa_signature();
        self.issuer.sign(claims)
    }
}

/// A poisoned lock means a handler panicked mid-update; the data is still the last consistent
/// value because updates swap whole copies, so carry on with it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
