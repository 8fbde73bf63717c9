//! API tokens: issue (with an expiry), list, revoke (Administrators), and the check every
//! `Authorization: Bearer` request makes.
//!
//! A token acts for the account that created it (its owner) and never above it: its effective
//! role is the lower of its own and its owner's, it stops working the moment the owner is
//! disabled or deleted, and a token created with a token cannot expire after its creator.

use super::{Accounts, Caller, CallerAccount, CallerVia, Permission};
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::{ServiceError, ServiceResult};
use crate::model::{ApiTokenId, Role};
use crate::ports::{ApiTokenRecord, NewApiToken};
use crate::secret::SecretString;
use time::{Duration, OffsetDateTime};

/// How long a token lives when its creator does not say.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::days(90);
/// The longest a token may live: a forgotten token in a CI system should not work for ever.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::days(365);
const MAX_TOKEN_NAME_LEN: usize = 64;

/// A new token: the secret is shown to its creator once and never again.
#[derive(Debug)]
pub struct ApiTokenIssued {
    pub token: SecretString,
    pub record: ApiTokenRecord,
}

/// Whether a stored token may be used at `now`, and with which role. Pure, so the rules are
/// tested without a repository.
pub(crate) fn token_role(
    record: &ApiTokenRecord,
    owner: Option<&crate::model::UserRecord>,
    now: OffsetDateTime,
) -> Option<Role> {
    if !record.is_live_at(now) {
        return None;
    }
    let owner = owner.filter(|owner| !owner.disabled && Some(owner.id) == record.owner)?;
    Some(record.role.min(owner.role))
}

impl Accounts {
    /// The caller behind an `Authorization: Bearer` API token, if the token is live: not
    /// revoked, not expired, and its owner's account enabled.
    pub async fn token_caller(&self, token: &SecretString) -> ServiceResult<Option<Caller>> {
        let now = self.clock.now();
        let Some((record, owner)) = self.accounts.api_token(token).await? else {
            return Ok(None);
        };
        let Some(role) = token_role(&record, owner.as_ref(), now) else {
            return Ok(None);
        };
        let Some(owner) = record.owner else {
            return Ok(None);
        };
        self.accounts.record_api_token_use(record.id, now).await?;
        Ok(Some(Caller {
            name: format!("token:{}", record.name),
            role,
            via: CallerVia::ApiToken,
            csrf_token: None,
            account: Some(CallerAccount {
                user: owner,
                expires_at: Some(record.expires()),
            }),
        }))
    }

    /// Issues an API token bound to `role` (no higher than the caller's own), owned by the
    /// caller's account, expiring after `lifetime` (default 90 days, at most a year). Created
    /// with a token, it cannot expire after that token: a longer `lifetime` is refused, the
    /// default is shortened to fit.
    pub async fn issue_api_token(
        &self,
        caller: &Caller,
        name: &str,
        role: Role,
        lifetime: Option<Duration>,
    ) -> ServiceResult<ApiTokenIssued> {
        caller.require(Permission::ManageUsers)?;
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_TOKEN_NAME_LEN {
            return Err(ServiceError::Invalid {
                field: "name".into(),
                message: format!("a token name has 1 to {MAX_TOKEN_NAME_LEN} characters"),
            });
        }
        if role > caller.role {
            return Err(ServiceError::Forbidden {
                action: "issue a token with a higher role than your own".into(),
            });
        }
        let Some(account) = caller.account else {
            return Err(ServiceError::Forbidden {
                action: "issue a token without an account to own it".into(),
            });
        };
        let now = self.clock.now();
        let expires_at = expiry(now, lifetime, account.expires_at)?;
        let new = NewApiToken {
            name: name.to_owned(),
            role,
            owner: account.user,
            created_by: caller.name.clone(),
            expires_at,
        };
        let (token, record) = self.accounts.create_api_token(&new, now).await?;
        self.audit(
            &caller.name,
            AuditAction::ApiTokenCreated,
            AuditOutcome::Success,
            Some(format!(
                "{name} ({}), expires {}",
                role.as_str(),
                rfc3339(expires_at)
            )),
        )
        .await;
        Ok(ApiTokenIssued { token, record })
    }

    /// Every token, revoked and expired ones too, oldest first (Administrators). Never secrets.
    pub async fn api_tokens(&self, caller: &Caller) -> ServiceResult<Vec<ApiTokenRecord>> {
        caller.require(Permission::ManageUsers)?;
        Ok(self.accounts.api_tokens().await?)
    }

    /// Revokes a token (Administrators); it gets 401 from then on.
    pub async fn revoke_api_token(
        &self,
        caller: &Caller,
        id: ApiTokenId,
    ) -> ServiceResult<ApiTokenRecord> {
        caller.require(Permission::ManageUsers)?;
        let record = self.accounts.revoke_api_token(id, self.clock.now()).await?;
        self.audit(
            &caller.name,
            AuditAction::ApiTokenRevoked,
            AuditOutcome::Success,
            Some(format!("{} ({})", record.name, record.role.as_str())),
        )
        .await;
        Ok(record)
    }
}

/// When a new token expires: `lifetime` from `now` (default [`DEFAULT_TOKEN_LIFETIME`], at most
/// [`MAX_TOKEN_LIFETIME`]), never after `limit` (the creating token's expiry).
fn expiry(
    now: OffsetDateTime,
    lifetime: Option<Duration>,
    limit: Option<OffsetDateTime>,
) -> ServiceResult<OffsetDateTime> {
    let invalid = |message: String| ServiceError::Invalid {
        field: "expires_in_days".into(),
        message,
    };
    let requested = lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME);
    if requested <= Duration::ZERO || requested > MAX_TOKEN_LIFETIME {
        return Err(invalid(format!(
            "a token lives from 1 to {} days",
            MAX_TOKEN_LIFETIME.whole_days()
        )));
    }
    let expires_at = now + requested;
    match limit {
        Some(limit) if expires_at > limit && lifetime.is_some() => Err(invalid(format!(
            "a token created with an API token cannot expire after it (it expires {})",
            rfc3339(limit)
        ))),
        Some(limit) if expires_at > limit => Ok(limit),
        _ => Ok(expires_at),
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{UserId, UserRecord};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 09:00:00 UTC);

    fn owner(role: Role, disabled: bool) -> UserRecord {
        UserRecord {
            id: UserId::new(),
            username: "alice".into(),
            role,
            password_hash: String::new(),
            disabled,
            created_at: NOW,
        }
    }

    fn token(owner: &UserRecord, role: Role) -> ApiTokenRecord {
        ApiTokenRecord {
            id: ApiTokenId::new(),
            name: "ci".into(),
            role,
            owner: Some(owner.id),
            created_by: owner.username.clone(),
            created_at: NOW,
            expires_at: Some(NOW + Duration::days(1)),
            last_used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn a_token_acts_with_the_lower_of_its_role_and_its_owners() {
        let admin = owner(Role::Administrator, false);
        let operator = owner(Role::Operator, false);
        assert_eq!(
            token_role(&token(&admin, Role::Viewer), Some(&admin), NOW),
            Some(Role::Viewer)
        );
        assert_eq!(
            token_role(&token(&operator, Role::Administrator), Some(&operator), NOW),
            Some(Role::Operator)
        );
    }

    #[test]
    fn a_revoked_expired_or_orphaned_token_or_one_of_a_disabled_owner_is_refused() {
        let admin = owner(Role::Administrator, false);
        let live = token(&admin, Role::Viewer);
        let revoked = ApiTokenRecord {
            revoked_at: Some(NOW),
            ..live.clone()
        };
        assert_eq!(token_role(&revoked, Some(&admin), NOW), None);
        let from_before_expiries = ApiTokenRecord {
            expires_at: None,
            ..live.clone()
        };
        assert!(token_role(&from_before_expiries, Some(&admin), NOW).is_some());
        assert_eq!(
            token_role(
                &from_before_expiries,
                Some(&admin),
                NOW + MAX_TOKEN_LIFETIME
            ),
            None,
            "a year after its creation"
        );
        assert_eq!(
            token_role(&live, Some(&admin), NOW + Duration::days(1)),
            None,
            "expired at expires_at"
        );
        assert_eq!(token_role(&live, None, NOW), None, "owner deleted");
        let disabled = UserRecord {
            disabled: true,
            ..admin.clone()
        };
        assert_eq!(token_role(&live, Some(&disabled), NOW), None);
        let someone_else = owner(Role::Administrator, false);
        assert_eq!(token_role(&live, Some(&someone_else), NOW), None);
    }

    #[test]
    fn expiry_defaults_to_90_days_and_is_at_most_a_year() {
        assert_eq!(expiry(NOW, None, None).unwrap(), NOW + Duration::days(90));
        assert_eq!(
            expiry(NOW, Some(Duration::days(365)), None).unwrap(),
            NOW + Duration::days(365)
        );
        for refused in [Duration::days(366), Duration::ZERO, Duration::days(-1)] {
            assert!(matches!(
                expiry(NOW, Some(refused), None),
                Err(ServiceError::Invalid { field, .. }) if field == "expires_in_days"
            ));
        }
    }

    #[test]
    fn a_token_made_by_a_token_does_not_outlive_it() {
        let limit = NOW + Duration::days(10);
        assert_eq!(expiry(NOW, None, Some(limit)).unwrap(), limit, "capped");
        assert_eq!(
            expiry(NOW, Some(Duration::days(5)), Some(limit)).unwrap(),
            NOW + Duration::days(5)
        );
        assert!(matches!(
            expiry(NOW, Some(Duration::days(11)), Some(limit)),
            Err(ServiceError::Invalid { .. })
        ));
    }
}
