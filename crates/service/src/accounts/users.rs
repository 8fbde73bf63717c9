//! Managing portal accounts: add, change role, disable and enable, reset a password, end
//! sessions (Administrators), and change one's own password (anyone signed in). Every action
//! writes an audit entry.
//!
//! The last enabled Administrator can be neither disabled nor demoted: with nobody left to
//! manage accounts, the only way back in would be editing the database by hand. The service
//! checks it first for a clear message; the repository checks it again in the same transaction
//! as the write, so two administrators demoting each other at once cannot both succeed.

use super::{Accounts, Caller, CallerVia, Permission, hash_password, verify_password};
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Role, UserId, UserRecord};
use crate::ports::UserChange;
use crate::secret::SecretString;

/// Longest user name, in bytes.
pub const MAX_USERNAME_LEN: usize = 64;
/// Shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password, in bytes: Argon2 accepts more, but a megabyte "password" is only load.
pub const MAX_PASSWORD_LEN: usize = 1024;

const LAST_ADMINISTRATOR: &str = "this is the last enabled Administrator: make another account an Administrator first, or nobody could manage accounts any more";

fn check_password(field: &str, password: &SecretString) -> ServiceResult<()> {
    let text = password.expose();
    if text.chars().count() < MIN_PASSWORD_CHARS || text.len() > MAX_PASSWORD_LEN {
        return Err(ServiceError::Invalid {
            field: field.into(),
            message: format!(
                "a password has at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_LEN} bytes)"
            ),
        });
    }
    Ok(())
}

impl Accounts {
    /// Creates the account unless one of that name exists (enabled or not). Returns whether it
    /// was created.
    pub async fn ensure_user(
        &self,
        username: &str,
        password: &SecretString,
        role: Role,
    ) -> ServiceResult<bool> {
        let exists = self
            .accounts
            .users()
            .await?
            .iter()
            .any(|user| user.username == username.trim());
        if exists {
            return Ok(false);
        }
        self.create_user(username, password, role, "system").await?;
        Ok(true)
    }

    /// Creates an account on behalf of `actor` (the caller's permission is checked by
    /// [`Accounts::add_user`]; start-up uses this directly).
    pub async fn create_user(
        &self,
        username: &str,
        password: &SecretString,
        role: Role,
        actor: &str,
    ) -> ServiceResult<UserRecord> {
        let username = username.trim();
        if username.is_empty() || username.len() > MAX_USERNAME_LEN {
            return Err(ServiceError::Invalid {
                field: "username".into(),
                message: format!("a user name has 1 to {MAX_USERNAME_LEN} characters"),
            });
        }
        check_password("password", password)?;
        let hash = self.hash(password).await?;
        let user = self
            .accounts
            .create_user(username, &hash, role, self.clock.now())
            .await?;
        self.audit(
            actor,
            AuditAction::UserCreated,
            AuditOutcome::Success,
            Some(format!("{username} ({})", role.as_str())),
        )
        .await;
        Ok(user)
    }

    /// Adds an account (Administrators).
    pub async fn add_user(
        &self,
        caller: &Caller,
        username: &str,
        password: &SecretString,
        role: Role,
    ) -> ServiceResult<UserRecord> {
        caller.require(Permission::ManageUsers)?;
        self.create_user(username, password, role, &caller.name)
            .await
    }

    /// Every account, enabled or not, by name (Administrators).
    pub async fn users(&self, caller: &Caller) -> ServiceResult<Vec<UserRecord>> {
        caller.require(Permission::ManageUsers)?;
        Ok(self.accounts.users().await?)
    }

    pub async fn user(&self, caller: &Caller, id: UserId) -> ServiceResult<UserRecord> {
        caller.require(Permission::ManageUsers)?;
        self.existing_user(id).await
    }

    /// Changes an account's role. Its API tokens keep their own role but never act above their
    /// owner's (see [`Accounts::token_caller`]).
    pub async fn change_role(
        &self,
        caller: &Caller,
        id: UserId,
        role: Role,
    ) -> ServiceResult<UserRecord> {
        caller.require(Permission::ManageUsers)?;
        let user = self.existing_user(id).await?;
        if user.role == role {
            return Ok(user);
        }
        if role != Role::Administrator {
            self.refuse_losing_the_last_administrator(&user).await?;
        }
        let change = UserChange {
            role: Some(role),
            ..UserChange::default()
        };
        let changed = self.apply(&user, &change).await?;
        self.audit(
            &caller.name,
            AuditAction::UserRoleChanged,
            AuditOutcome::Success,
            Some(format!(
                "{}: {} -> {}",
                user.username,
                user.role.as_str(),
                role.as_str()
            )),
        )
        .await;
        Ok(changed)
    }

    /// Disables an account: it cannot sign in, and its sessions and API tokens end at once.
    pub async fn disable_user(&self, caller: &Caller, id: UserId) -> ServiceResult<UserRecord> {
        caller.require(Permission::ManageUsers)?;
        let user = self.existing_user(id).await?;
        self.refuse_losing_the_last_administrator(&user).await?;
        let change = UserChange {
            disabled: Some(true),
            ..UserChange::default()
        };
        let changed = self.apply(&user, &change).await?;
        let now = self.clock.now();
        let sessions = self.accounts.delete_sessions_of(id).await?;
        let tokens = self.accounts.revoke_api_tokens_of(id, now).await?;
        self.audit(
            &caller.name,
            AuditAction::UserDisabled,
            AuditOutcome::Success,
            Some(format!(
                "{}: {sessions} session(s) ended, {tokens} API token(s) revoked",
                user.username
            )),
        )
        .await;
        Ok(changed)
    }

    /// Enables a disabled account again. Its revoked tokens stay revoked.
    pub async fn enable_user(&self, caller: &Caller, id: UserId) -> ServiceResult<UserRecord> {
        caller.require(Permission::ManageUsers)?;
        let user = self.existing_user(id).await?;
        let change = UserChange {
            disabled: Some(false),
            ..UserChange::default()
        };
        let changed = self.apply(&user, &change).await?;
        self.audit(
            &caller.name,
            AuditAction::UserEnabled,
            AuditOutcome::Success,
            Some(user.username),
        )
        .await;
        Ok(changed)
    }

    /// Sets a new password for an account (Administrators) and ends its sessions, so whoever
    /// knew the old one is signed out.
    pub async fn reset_password(
        &self,
        caller: &Caller,
        id: UserId,
        password: &SecretString,
    ) -> ServiceResult<()> {
        caller.require(Permission::ManageUsers)?;
        let user = self.existing_user(id).await?;
        check_password("password", password)?;
        let change = UserChange {
            password_hash: Some(self.hash(password).await?),
            ..UserChange::default()
        };
        self.apply(&user, &change).await?;
        let sessions = self.accounts.delete_sessions_of(id).await?;
        self.audit(
            &caller.name,
            AuditAction::PasswordReset,
            AuditOutcome::Success,
            Some(format!("{}: {sessions} session(s) ended", user.username)),
        )
        .await;
        Ok(())
    }

    /// Changes the caller's own password, given the current one. Anyone signed in to the portal
    /// may; an API token may not (it knows no password). Every session of the account ends, the
    /// caller's own too: whoever else knew the old password is signed out, and the caller signs
    /// in again with the new one.
    pub async fn change_own_password(
        &self,
        caller: &Caller,
        current: &SecretString,
        new: &SecretString,
    ) -> ServiceResult<()> {
        let account = match (caller.via, caller.account) {
            (CallerVia::Session, Some(account)) => account,
            _ => {
                return Err(ServiceError::Forbidden {
                    action: "change a password with an API token; sign in to the portal".into(),
                });
            }
        };
        let user = self.existing_user(account.user).await?;
        let presented = current.clone();
        let stored = user.password_hash.clone();
        let verified = self
            .heavy
            .run(move || verify_password(&presented, &stored))
            .await?;
        if !verified {
            self.audit(
                &caller.name,
                AuditAction::PasswordChanged,
                AuditOutcome::Failure,
                Some("the current password was wrong".into()),
            )
            .await;
            return Err(ServiceError::Invalid {
                field: "current_password".into(),
                message: "the current password is wrong".into(),
            });
        }
        check_password("new_password", new)?;
        let change = UserChange {
            password_hash: Some(self.hash(new).await?),
            ..UserChange::default()
        };
        self.apply(&user, &change).await?;
        let sessions = self.accounts.delete_sessions_of(user.id).await?;
        self.audit(
            &caller.name,
            AuditAction::PasswordChanged,
            AuditOutcome::Success,
            Some(format!("{sessions} session(s) ended")),
        )
        .await;
        Ok(())
    }

    /// Ends every session of an account (Administrators): it must sign in again.
    pub async fn end_sessions(&self, caller: &Caller, id: UserId) -> ServiceResult<u64> {
        caller.require(Permission::ManageUsers)?;
        let user = self.existing_user(id).await?;
        let sessions = self.accounts.delete_sessions_of(id).await?;
        self.audit(
            &caller.name,
            AuditAction::SessionsEnded,
            AuditOutcome::Success,
            Some(format!("{}: {sessions} session(s) ended", user.username)),
        )
        .await;
        Ok(sessions)
    }

    async fn existing_user(&self, id: UserId) -> ServiceResult<UserRecord> {
        self.accounts
            .user(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                what: format!("user {id}"),
            })
    }

    /// Refuses when `user` is the last enabled Administrator.
    async fn refuse_losing_the_last_administrator(&self, user: &UserRecord) -> ServiceResult<()> {
        if user.role != Role::Administrator || user.disabled {
            return Ok(());
        }
        let others = self
            .accounts
            .users()
            .await?
            .iter()
            .filter(|u| u.id != user.id && u.role == Role::Administrator && !u.disabled)
            .count();
        if others == 0 {
            return Err(ServiceError::Conflict {
                detail: LAST_ADMINISTRATOR.into(),
            });
        }
        Ok(())
    }

    /// Writes the change; the repository's own last-administrator refusal (a lost race) gets
    /// the same message as the service's.
    async fn apply(&self, user: &UserRecord, change: &UserChange) -> ServiceResult<UserRecord> {
        let losing_administrator = user.role == Role::Administrator
            && (change.disabled == Some(true)
                || change.role.is_some_and(|r| r != Role::Administrator));
        match self
            .accounts
            .update_user(user.id, change, self.clock.now())
            .await
        {
            Err(crate::ports::RepositoryError::Conflict { .. }) if losing_administrator => {
                Err(ServiceError::Conflict {
                    detail: LAST_ADMINISTRATOR.into(),
                })
            }
            other => Ok(other?),
        }
    }

    /// Argon2id on the heavy-work pool, off the async threads.
    async fn hash(&self, password: &SecretString) -> ServiceResult<String> {
        let password = password.clone();
        self.heavy.run(move || hash_password(&password)).await?
    }
}
