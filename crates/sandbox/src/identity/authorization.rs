//! State of the authorization code flow: sign-ins waiting at the sign-in page (by a one-time
//! ticket) and issued codes — single use, ten minutes of sandbox time, bound to the client, the
//! redirect URI, the PKCE challenge and the nonce.

use super::error::AadError;
use super::scopes::DelegatedScopes;
use crate::secrets::opaque_token;
use aws_lc_rs::digest;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Entra's authorization codes live about ten minutes (identity platform docs: "short lived,
/// typically they expire after about 10 minutes").
pub(crate) const CODE_LIFETIME: Duration = Duration::minutes(10);
/// How long the sign-in page waits for the user.
const SIGN_IN_LIFETIME: Duration = Duration::hours(1);

/// `code_challenge_method`: RFC 7636's two; absent means `plain` (Entra's docs say so too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChallengeMethod {
    S256,
    Plain,
}

impl ChallengeMethod {
    pub(crate) fn parse(value: Option<&str>) -> Option<Self> {
        match value {
            None => Some(Self::Plain),
            Some(v) if v.eq_ignore_ascii_case("S256") => Some(Self::S256),
            Some(v) if v.eq_ignore_ascii_case("plain") => Some(Self::Plain),
            Some(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

/// What the client asked `/authorize` for, kept until the user answers.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizationRequest {
    pub tenant: super::TenantScope,
    pub client_id: Uuid,
    pub client_name: String,
    pub redirect_uri: String,
    pub scopes: DelegatedScopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub challenge: Option<(String, ChallengeMethod)>,
    pub response_mode: ResponseMode,
    pub login_hint: Option<String>,
}

#[derive(Debug, Clone)]
struct PendingSignIn {
    request: AuthorizationRequest,
    expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
struct IssuedCode {
    request: AuthorizationRequest,
    tenant: Uuid,
    user: Uuid,
    expires_at: OffsetDateTime,
    redeemed: bool,
}

/// A redeemed code: who signed in, for what, and the nonce for the ID token.
#[derive(Debug, Clone)]
pub(crate) struct RedeemedCode {
    pub tenant: Uuid,
    pub user: Uuid,
    pub scopes: DelegatedScopes,
    pub nonce: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct AuthorizationFlows {
    pending: HashMap<String, PendingSignIn>,
    codes: HashMap<String, IssuedCode>,
}

impl AuthorizationFlows {
    /// Keeps the request for the sign-in page; returns its ticket.
    pub(crate) fn begin(&mut self, request: AuthorizationRequest, now: OffsetDateTime) -> String {
        self.pending.retain(|_, p| p.expires_at > now);
        self.codes
            .retain(|_, c| c.expires_at + Duration::hours(1) > now);
        let ticket = opaque_token();
        self.pending.insert(
            ticket.clone(),
            PendingSignIn {
                request,
                expires_at: now + SIGN_IN_LIFETIME,
            },
        );
        ticket
    }

    /// The request behind a ticket, still waiting.
    pub(crate) fn pending(
        &self,
        ticket: &str,
        now: OffsetDateTime,
    ) -> Option<&AuthorizationRequest> {
        self.pending
            .get(ticket)
            .filter(|p| p.expires_at > now)
            .map(|p| &p.request)
    }

    /// Ends the sign-in (accepted or cancelled); the ticket cannot be used again.
    pub(crate) fn finish(&mut self, ticket: &str) -> Option<AuthorizationRequest> {
        self.pending.remove(ticket).map(|p| p.request)
    }

    pub(crate) fn issue(
        &mut self,
        request: AuthorizationRequest,
        tenant: Uuid,
        user: Uuid,
        now: OffsetDateTime,
    ) -> String {
        let code = opaque_token();
        self.codes.insert(
            code.clone(),
            IssuedCode {
                request,
                tenant,
                user,
                expires_at: now + CODE_LIFETIME,
                redeemed: false,
            },
        );
        code
    }

    /// The token endpoint's checks, in this order: known code, not yet redeemed, not expired,
    /// same client, same redirect URI, PKCE verifier. Only a successful redemption uses it up.
    pub(crate) fn redeem(
        &mut self,
        code: &str,
        client_id: Uuid,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<RedeemedCode, AadError> {
        let issued = self
            .codes
            .get_mut(code)
            .ok_or(AadError::InvalidAuthorizationCode)?;
        if issued.redeemed {
            return Err(AadError::AuthorizationCodeRedeemed);
        }
        if now >= issued.expires_at {
            return Err(AadError::AuthorizationCodeExpired);
        }
        if issued.request.client_id != client_id {
            return Err(AadError::AuthorizationCodeOtherClient);
        }
        if redirect_uri != Some(issued.request.redirect_uri.as_str()) {
            return Err(AadError::RedirectUriMismatch);
        }
        if let Some((challenge, method)) = &issued.request.challenge {
            let verifier = verifier.ok_or(AadError::MissingParameter("code_verifier"))?;
            if !verifies(verifier, challenge, *method) {
                return Err(AadError::CodeVerifierMismatch);
            }
        }
        issued.redeemed = true;
        Ok(RedeemedCode {
            tenant: issued.tenant,
            user: issued.user,
            scopes: issued.request.scopes.clone(),
            nonce: issued.request.nonce.clone(),
        })
    }
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(verifier)) == challenge` for S256.
fn verifies(verifier: &str, challenge: &str, method: ChallengeMethod) -> bool {
    match method {
        ChallengeMethod::Plain => verifier == challenge,
        ChallengeMethod::S256 => {
            let hash = digest::digest(&digest::SHA256, verifier.as_bytes());
            tenantlink_jose::b64url(hash.as_ref()) == challenge
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_an_independently_computed_challenge() {
        // The challenge computed independently: base64url(sha256(verifier)) with Python's hashlib.
        assert!(verifies(
            "dBjftJeZ4CVP-mJ92K9qTqauE7ZHzgjo5HzBRBbZZJc",
            "KycH5Ylukj7V0Lj8eewEsXq3wQhn1e9SHhnNP9KfcGs",
            ChallengeMethod::S256
        ));
        assert!(!verifies(
            "other",
            "KycH5Ylukj7V0Lj8eewEsXq3wQhn1e9SHhnNP9KfcGs",
            ChallengeMethod::S256
        ));
        assert_eq!(
            ChallengeMethod::parse(Some("S256")),
            Some(ChallengeMethod::S256)
        );
        assert_eq!(ChallengeMethod::parse(None), Some(ChallengeMethod::Plain));
        assert_eq!(ChallengeMethod::parse(Some("S512")), None);
    }
}
