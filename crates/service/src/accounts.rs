//! Portal accounts: password sign-in with throttling, sessions, API tokens, and the permission
//! check every route makes. Managing accounts is in [`users`], API tokens in [`tokens`].

mod tokens;
mod users;

pub use tokens::{ApiTokenIssued, DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME};
pub use users::{MAX_PASSWORD_LEN, MAX_USERNAME_LEN, MIN_PASSWORD_CHARS};

use crate::audit::{AuditAction, AuditOutcome, NewAuditEntry};
use crate::error::{ServiceError, ServiceResult};
use crate::heavy::HeavyWork;
use crate::model::{Role, UserId};
use crate::ports::{AccountRepository, Repository};
use crate::secret::SecretString;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;
use tenantlink_clock::SharedClock;
use time::{Duration, OffsetDateTime};

mod client_address;
mod sign_in;
mod sign_in_delay;

pub use sign_in::{
    ClientAddress, LoginThrottle, MAX_SIGN_IN_USERNAME_BYTES, PRUNE_EVERY, Pruned,
    login_csrf_token_for, new_login_csrf_secret, sign_in_username,
};

/// Session lifetime; a sign-in is needed again afterwards.
const SESSION_LIFETIME: Duration = Duration::hours(8);

/// What a caller may do. Each route names the permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    View,
    RunPolicies,
    /// Request one app-only token with the active certificate ("Check connection").
    CheckConnection,
    ManagePolicies,
    ManageCertificates,
    ManageOrganizations,
    ManageUsers,
    /// Webhook endpoints, e-mail recipients and notice thresholds.
    ManageNotices,
}

impl Permission {
    fn minimum_role(self) -> Role {
        match self {
            Self::View => Role::Viewer,
            Self::RunPolicies | Self::CheckConnection => Role::Operator,
            Self::ManagePolicies
            | Self::ManageCertificates
            | Self::ManageOrganizations
            | Self::ManageUsers
            | Self::ManageNotices => Role::Administrator,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::View => "view this",
            Self::RunPolicies => "run backup policies",
            Self::CheckConnection => "check the connection",
            Self::ManagePolicies => "create, change or delete backup policies",
            Self::ManageCertificates => "change certificates",
            Self::ManageOrganizations => "add or change organizations",
            Self::ManageUsers => "manage users and API tokens",
            Self::ManageNotices => "change webhooks, e-mail recipients and notice settings",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerVia {
    /// A browser session: state-changing requests need the CSRF token.
    Session,
    ApiToken,
}

/// An authenticated caller.
#[derive(Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    pub via: CallerVia,
    /// The session's CSRF token (derived from the session id, so nothing extra is stored).
    pub csrf_token: Option<String>,
    /// The account the caller acts for; `None` for the service's own work.
    pub account: Option<CallerAccount>,
}

/// The account behind a caller, and for an API token its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerAccount {
    pub user: UserId,
    /// For an API token: when it expires, so that a token it creates cannot outlive it.
    pub expires_at: Option<OffsetDateTime>,
}

/// Without the CSRF token: with the session cookie it would let a forged request through, so it
/// stays out of logs and error messages.
impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("via", &self.via)
            .field(
                "csrf_token",
                &self.csrf_token.as_ref().map(|_| "<redacted>"),
            )
            .field("account", &self.account)
            .finish()
    }
}

impl Caller {
    pub fn may(&self, permission: Permission) -> bool {
        self.role >= permission.minimum_role()
    }

    pub fn require(&self, permission: Permission) -> ServiceResult<()> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden {
                action: permission.describe().to_owned(),
            })
        }
    }
}

#[derive(Debug)]
pub struct SessionIssued {
    /// The cookie value; shown to the browser once, stored only as a hash.
    pub token: SecretString,
    pub expires_at: OffsetDateTime,
    pub caller: Caller,
}

#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn(SessionIssued),
}

#[derive(Debug, Clone)]
pub struct Accounts {
    accounts: Arc<dyn AccountRepository>,
    repository: Arc<dyn Repository>,
    clock: SharedClock,
    throttle: LoginThrottle,
    heavy: HeavyWork,
}

impl Accounts {
    pub fn new(
        accounts: Arc<dyn AccountRepository>,
        repository: Arc<dyn Repository>,
        clock: SharedClock,
        throttle: LoginThrottle,
    ) -> Self {
        Self {
            accounts,
            repository,
            clock,
            throttle,
            heavy: HeavyWork::default(),
        }
    }

    /// Shares one bounded pool for Argon2 with the rest of the service.
    pub fn with_heavy_work(mut self, heavy: HeavyWork) -> Self {
        self.heavy = heavy;
        self
    }

    pub async fn log_out(
        &self,
        session_token: &SecretString,
        caller: &Caller,
    ) -> ServiceResult<()> {
        self.accounts.delete_session(session_token).await?;
        self.audit(
            &caller.name,
            AuditAction::SignOut,
            AuditOutcome::Success,
            None,
        )
        .await;
        Ok(())
    }

    /// The caller behind a session cookie, if the session is live and its user enabled.
    pub async fn session_caller(
        &self,
        session_token: &SecretString,
    ) -> ServiceResult<Option<Caller>> {
        let now = self.clock.now();
        let Some(session) = self.accounts.session(session_token, now).await? else {
            return Ok(None);
        };
        if session.expires_at <= now || session.user.disabled {
            self.accounts.delete_session(session_token).await?;
            return Ok(None);
        }
        Ok(Some(Caller {
            name: session.user.username,
            role: session.user.role,
            via: CallerVia::Session,
            csrf_token: Some(csrf_token_for(session_token)),
            account: Some(CallerAccount {
                user: session.user.id,
                expires_at: None,
            }),
        }))
    }

    pub(crate) async fn audit(
        &self,
        actor: &str,
        action: AuditAction,
        outcome: AuditOutcome,
        detail: Option<String>,
    ) {
        let entry = NewAuditEntry {
            at: self.clock.now(),
            actor: actor.to_owned(),
            action,
            organization: None,
            thumbprints: Vec::new(),
            outcome,
            detail,
        }
        .capped();
        if let Err(err) = self.repository.append_audit(entry).await {
            tracing::error!(error = %err, action = action.as_str(), "could not write the audit log");
        }
    }
}

/// The CSRF token of a session: a keyed digest of the session id, so a page from another site
/// (which cannot read the HttpOnly cookie) cannot produce it, and nothing extra is stored.
pub fn csrf_token_for(session_token: &SecretString) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("tenantlink-csrf:{}", session_token.expose()).as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// A fresh random secret (session id, API token) for repositories that generate their own.
pub fn random_secret(prefix: &str) -> SecretString {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    // The system RNG failing is not recoverable; aws-lc aborts in that case anyway.
    aws_lc_rs::rand::fill(bytes.as_mut()).expect("system random number generator");
    SecretString::new(format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(bytes.as_ref())
    ))
}

/// Argon2id with the crate's default (OWASP-recommended) parameters, as a PHC string. CPU-heavy:
/// call it through [`HeavyWork`].
pub fn hash_password(password: &SecretString) -> ServiceResult<String> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| ServiceError::Invalid {
            field: "password".into(),
            message: format!("the password cannot be hashed: {e}"),
        })
}

pub fn verify_password(password: &SecretString, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.expose().as_bytes(), phc)
        .is_ok()
}
