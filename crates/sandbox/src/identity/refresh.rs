//! Refresh tokens for `offline_access`: opaque, kept in memory, valid 90 days from issue.

use super::error::AadError;
use super::scopes::DelegatedScopes;
use crate::secrets::opaque_token;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const LIFETIME: Duration = Duration::days(90);

#[derive(Debug, Default)]
pub(crate) struct RefreshTokens {
    grants: HashMap<String, RefreshGrant>,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub client_id: Uuid,
    pub tenant: Uuid,
    pub user: Uuid,
    pub scopes: DelegatedScopes,
    expires_at: OffsetDateTime,
}

impl RefreshTokens {
    pub(crate) fn issue(
        &mut self,
        client_id: Uuid,
        tenant: Uuid,
        user: Uuid,
        scopes: DelegatedScopes,
        now: OffsetDateTime,
    ) -> String {
        let token = opaque_token();
        self.grants.insert(
            token.clone(),
            RefreshGrant {
                client_id,
                tenant,
                user,
                scopes,
                expires_at: now + LIFETIME,
            },
        );
        token
    }

    pub(crate) fn redeem(
        &self,
        token: &str,
        client_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<RefreshGrant, AadError> {
        let grant = self
            .grants
            .get(token)
            .filter(|g| g.client_id == client_id)
            .ok_or(AadError::InvalidRefreshToken)?;
        if now >= grant.expires_at {
            return Err(AadError::RefreshTokenExpired);
        }
        Ok(grant.clone())
    }
}
