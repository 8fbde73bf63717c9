//! Portal accounts: password sign-in with throttling, sessions, API tokens, and the permission
//! check every route makes.

use crate::audit::{AuditAction, AuditOutcome, NewAuditEntry};
use crate::error::{ServiceError, ServiceResult};
use crate::heavy::HeavyWork;
use crate::model::Role;
use crate::ports::{AccountRepository, ApiTokenRecord, Repository};
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
    ClientAddress, LoginThrottle, MAX_PASSWORD_BYTES, MAX_USERNAME_BYTES, PRUNE_EVERY, Pruned,
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
}

impl Permission {
    fn minimum_role(self) -> Role {
        match self {
            Self::View => Role::Viewer,
            Self::RunPolicies | Self::CheckConnection => Role::Operator,
            Self::ManagePolicies
            | Self::ManageCertificates
            | Self::ManageOrganizations
            | Self::ManageUsers => Role::Administrator,
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
pub struct ApiTokenIssued {
    pub token: SecretString,
    pub name: String,
    pub role: Role,
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

    /// Creates the account unless it exists. Returns whether it was created.
    pub async fn ensure_user(
        &self,
        username: &str,
        password: &SecretString,
        role: Role,
    ) -> ServiceResult<bool> {
        if self.accounts.user_by_name(username).await?.is_some() {
            return Ok(false);
        }
        self.create_user(username, password, role, "system").await?;
        Ok(true)
    }

    pub async fn create_user(
        &self,
        username: &str,
        password: &SecretString,
        role: Role,
        actor: &str,
    ) -> ServiceResult<()> {
        let username = username.trim();
        if username.is_empty() || username.len() > 64 {
            return Err(ServiceError::Invalid {
                field: "username".into(),
                message: "a user name has 1 to 64 characters".into(),
            });
        }
        if password.expose().chars().count() < 12 {
            return Err(ServiceError::Invalid {
                field: "password".into(),
                message: "a password has at least 12 characters".into(),
            });
        }
        let now = self.clock.now();
        self.accounts
            .create_user(username, password, role, now)
            .await?;
        self.audit(
            actor,
            AuditAction::UserCreated,
            AuditOutcome::Success,
            Some(username.to_owned()),
        )
        .await;
        Ok(())
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

    /// The caller behind a session cookie, if the session is live.
    pub async fn session_caller(
        &self,
        session_token: &SecretString,
    ) -> ServiceResult<Option<Caller>> {
        let now = self.clock.now();
        let Some(session) = self.accounts.session(session_token, now).await? else {
            return Ok(None);
        };
        if session.expires_at <= now {
            self.accounts.delete_session(session_token).await?;
            return Ok(None);
        }
        Ok(Some(Caller {
            name: session.user.username,
            role: session.user.role,
            via: CallerVia::Session,
            csrf_token: Some(csrf_token_for(session_token)),
        }))
    }

    /// The caller behind an `Authorization: Bearer` API token.
    pub async fn token_caller(&self, token: &SecretString) -> ServiceResult<Option<Caller>> {
        let Some(record) = self.accounts.api_token(token, self.clock.now()).await? else {
            return Ok(None);
        };
        if record.expires_at.is_some_and(|at| at <= self.clock.now()) {
            return Ok(None);
        }
        Ok(Some(Caller {
            name: format!("token:{}", record.name),
            role: record.role,
            via: CallerVia::ApiToken,
            csrf_token: None,
        }))
    }

    /// Issues an API token bound to `role` (no higher than the caller's own).
    pub async fn issue_api_token(
        &self,
        caller: &Caller,
        name: &str,
        role: Role,
    ) -> ServiceResult<ApiTokenIssued> {
        caller.require(Permission::ManageUsers)?;
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(ServiceError::Invalid {
                field: "name".into(),
                message: "a token name has 1 to 64 characters".into(),
            });
        }
        if role > caller.role {
            return Err(ServiceError::Forbidden {
                action: "issue a token with a higher role than your own".into(),
            });
        }
        let record = ApiTokenRecord {
            name: name.to_owned(),
            role,
            created_by: caller.name.clone(),
            expires_at: None,
        };
        let token = self
            .accounts
            .create_api_token(&record, self.clock.now())
            .await?;
        self.audit(
            &caller.name,
            AuditAction::ApiTokenCreated,
            AuditOutcome::Success,
            Some(format!("{name} ({})", role.as_str())),
        )
        .await;
        Ok(ApiTokenIssued {
            token,
            name: name.to_owned(),
            role,
        })
    }

    async fn audit(
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
