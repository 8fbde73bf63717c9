//! Password sign-in, bounded: input is checked before anything is read or written, the failure
//! of a (user name, address) pair is counted *before* its password is checked (so a burst of
//! parallel guesses cannot all pass the check), the wait is [`LoginThrottle`]'s pure rule, and
//! what failures and sessions leave behind is pruned on a schedule.

use super::sign_in_delay::retry_after_seconds;
use super::{
    Accounts, Caller, CallerAccount, CallerVia, MAX_PASSWORD_LEN, SESSION_LIFETIME, SessionIssued,
    csrf_token_for, hash_password, verify_password,
};
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::{ServiceError, ServiceResult};
use crate::secret::SecretString;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::future::Future;
use tenantlink_clock::SharedSleeper;

pub use super::client_address::ClientAddress;
pub use super::sign_in_delay::LoginThrottle;

/// Longer user names are refused at sign-in before anything is stored. No account has one
/// (accounts have at most [`crate::MAX_USERNAME_LEN`] bytes); the margin keeps the refusal about the
/// shape of the input, not about which names exist.
pub const MAX_SIGN_IN_USERNAME_BYTES: usize = 256;
/// How often failure records and expired sessions are pruned.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Compare-and-swap rounds before an attempt gives up as throttled: each lost round means another
/// attempt for the same pair was just counted, so a few rounds always reach a decision.
const MAX_COUNT_ROUNDS: usize = 8;

/// The user name of a sign-in, trimmed, if it has a shape worth looking up; else the specific
/// refusal. Nothing has been read or written when this refuses.
pub fn sign_in_username(username: &str) -> ServiceResult<&str> {
    let username = username.trim();
    if username.is_empty() {
        return Err(ServiceError::Invalid {
            field: "username".into(),
            message: "enter your user name".into(),
        });
    }
    if username.len() > MAX_SIGN_IN_USERNAME_BYTES {
        return Err(ServiceError::Invalid {
            field: "username".into(),
            message: format!("a user name has at most {MAX_SIGN_IN_USERNAME_BYTES} bytes"),
        });
    }
    Ok(username)
}

fn check_sign_in_password(password: &SecretString) -> ServiceResult<()> {
    if password.expose().len() > MAX_PASSWORD_LEN {
        return Err(ServiceError::Invalid {
            field: "password".into(),
            message: format!("a password has at most {MAX_PASSWORD_LEN} bytes"),
        });
    }
    Ok(())
}

/// A fresh secret for the sign-in form's cookie (login CSRF); the form carries
/// [`login_csrf_token_for`] of it.
pub fn new_login_csrf_secret() -> SecretString {
    super::random_secret("")
}

/// The sign-in form's CSRF field for a login-CSRF cookie: a digest under its own label, so it is
/// neither the cookie itself nor any session's token.
pub fn login_csrf_token_for(secret: &SecretString) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("tenantlink-login-csrf:{}", secret.expose()).as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// What one round of pruning removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    pub sign_in_failures: u64,
    pub sessions: u64,
}

impl Accounts {
    /// Checks the password of `username` signing in from `from`, honouring the pair's delay, and
    /// opens a session. Too long input is `Invalid` and writes nothing.
    pub async fn log_in(
        &self,
        username: &str,
        password: &SecretString,
        from: ClientAddress,
    ) -> ServiceResult<SessionIssued> {
        let username = sign_in_username(username)?;
        check_sign_in_password(password)?;
        let address = from.key();
        self.count_failure_before_checking(username, &address)
            .await?;

        let user = self.accounts.user_by_name(username).await?;
        let presented = password.clone();
        let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
        let verified = self
            .heavy
            .run(move || match stored_hash {
                Some(phc) => verify_password(&presented, &phc),
                // Same work for unknown names, so timing does not reveal which accounts exist.
                None => {
                    let _ = hash_password(&presented);
                    false
                }
            })
            .await?;
        let Some(user) = user.filter(|_| verified) else {
            // Already counted: nothing more to record than the audit entry.
            self.audit(
                username,
                AuditAction::SignIn,
                AuditOutcome::Failure,
                Some("wrong user name or password".into()),
            )
            .await;
            return Err(ServiceError::BadCredentials);
        };
        self.accounts
            .clear_sign_in_failures(username, &address)
            .await?;
        let now = self.clock.now();
        let expires_at = now + SESSION_LIFETIME;
        let token = self
            .accounts
            .create_session(user.id, now, expires_at)
            .await?;
        self.audit(
            &user.username,
            AuditAction::SignIn,
            AuditOutcome::Success,
            None,
        )
        .await;
        Ok(SessionIssued {
            caller: Caller {
                name: user.username,
                role: user.role,
                via: CallerVia::Session,
                csrf_token: Some(csrf_token_for(&token)),
                account: Some(CallerAccount {
                    user: user.id,
                    expires_at: None,
                }),
            },
            token,
            expires_at,
        })
    }

    /// Counts this attempt as a failure of the pair, unless the pair still owes a wait
    /// (`Throttled`). The count is a compare-and-swap on the stored count, so of parallel attempts
    /// only as many pass as the schedule lets through; a right password clears it afterwards.
    async fn count_failure_before_checking(
        &self,
        username: &str,
        address: &str,
    ) -> ServiceResult<()> {
        for _ in 0..MAX_COUNT_ROUNDS {
            let now = self.clock.now();
            let seen = self.accounts.sign_in_failures(username, address).await?;
            let (seen_count, next) = match seen {
                None => (0, 1),
                Some(record) => {
                    if let Some(wait) =
                        self.throttle
                            .wait(record.failures, record.last_failure_at, now)
                    {
                        return Err(self.throttled(username, retry_after_seconds(wait)).await);
                    }
                    let next = self.throttle.next_failure_count(
                        record.failures,
                        record.last_failure_at,
                        now,
                    );
                    (record.failures, next)
                }
            };
            if self
                .accounts
                .count_sign_in_failure(username, address, seen_count, next, now)
                .await?
            {
                return Ok(());
            }
        }
        Err(self.throttled(username, 1).await)
    }

    async fn throttled(&self, username: &str, retry_after_seconds: u64) -> ServiceError {
        self.audit(
            username,
            AuditAction::SignIn,
            AuditOutcome::Failure,
            Some("throttled".into()),
        )
        .await;
        ServiceError::Throttled {
            retry_after_seconds,
        }
    }

    /// Drops failure records the schedule has forgotten and sessions that have expired.
    pub async fn prune_sign_in_records(&self) -> ServiceResult<Pruned> {
        let now = self.clock.now();
        let sign_in_failures = self
            .accounts
            .prune_sign_in_failures(now - self.throttle.forget_after)
            .await?;
        let sessions = self.accounts.prune_expired_sessions(now).await?;
        Ok(Pruned {
            sign_in_failures,
            sessions,
        })
    }

    /// Prunes now and then every `every` (waited through `sleeper`) until `shutdown` resolves.
    /// A failed round is logged and the next one tries again.
    pub async fn keep_pruning(
        &self,
        sleeper: SharedSleeper,
        every: std::time::Duration,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            match self.prune_sign_in_records().await {
                Ok(pruned) if pruned != Pruned::default() => {
                    tracing::debug!(?pruned, "pruned sign-in records");
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "could not prune sign-in records"),
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = sleeper.sleep(every) => {}
            }
        }
    }
}
