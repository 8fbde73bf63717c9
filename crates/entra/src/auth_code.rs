//! Authorization code flow with PKCE (RFC 7636, S256) the way Entra ID runs it, for tenants
//! that block the device code flow: the administrator's browser goes to `/authorize`, comes
//! back to tenantlink's redirect URI with a one-time `code` (or an `error`), and the code is
//! redeemed at the token endpoint with the verifier only tenantlink knows.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tenantlink_clock::SharedClock;
use tenantlink_secret::SecretString;
use url::Url;

use crate::device::{DelegatedSignIn, account_from};
use crate::durations::{MAX_TOKEN_LIFETIME, checked_after};
use crate::endpoints::{Endpoints, TenantId};
use crate::error::{AadstsKind, Error, classify_authorize};
use crate::token::{post_token_form_once, token_claims};

/// Random bytes behind a verifier, `state` or `nonce`: 32 gives the 43 characters RFC 7636
/// §4.1 asks of a verifier at the least, and 256 bits nobody can guess.
const RANDOM_BYTES: usize = 32;

/// `BASE64URL(random 32 bytes)` from the system's CSPRNG: a PKCE verifier, `state` or `nonce`.
pub fn random_token() -> SecretString {
    let mut bytes = [0u8; RANDOM_BYTES];
    // The system RNG failing is not something a caller can recover from.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random number generator failed");
    SecretString::new(URL_SAFE_NO_PAD.encode(bytes))
}

/// The PKCE pair of one browser sign-in: the verifier stays secret, the challenge goes to
/// `/authorize`.
#[derive(Debug, Clone)]
pub struct Pkce {
    verifier: SecretString,
}

impl Pkce {
    pub fn generate() -> Self {
        Self {
            verifier: random_token(),
        }
    }

    pub fn from_verifier(verifier: SecretString) -> Self {
        Self { verifier }
    }

    pub fn verifier(&self) -> &SecretString {
        &self.verifier
    }

    /// `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2, method S256).
    pub fn challenge(&self) -> String {
        code_challenge(self.verifier.expose())
    }
}

/// The S256 challenge of `verifier`.
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()).as_ref())
}

/// What goes on the `/authorize` URL.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRequest<'a> {
    pub tenant: &'a TenantId,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    /// Resource scopes; `openid profile` are added (the id token names who signed in and
    /// carries the nonce). No `offline_access`: a delegated token must not outlive its operation.
    pub scopes: &'a [String],
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_challenge: &'a str,
}

/// `{authority}/{tenant}/oauth2/v2.0/authorize?…` for `request`. `prompt=select_account` lets
/// the administrator pick the privileged account instead of the browser's usual one.
pub fn authorize_url(endpoints: &Endpoints, request: &AuthorizeRequest<'_>) -> Url {
    let mut url = endpoints.authorize_endpoint(request.tenant);
    url.query_pairs_mut()
        .append_pair("client_id", request.client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", request.redirect_uri)
        .append_pair("response_mode", "query")
        .append_pair("scope", &with_openid(request.scopes))
        .append_pair("state", request.state)
        .append_pair("nonce", request.nonce)
        .append_pair("code_challenge", request.code_challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("prompt", "select_account");
    url
}

fn with_openid(scopes: &[String]) -> String {
    let mut all: Vec<&str> = scopes.iter().map(String::as_str).collect();
    for extra in ["openid", "profile"] {
        if !all.contains(&extra) {
            all.push(extra);
        }
    }
    all.join(" ")
}

/// What `/authorize` redirected back with instead of a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the sign-in at Entra ID ended with {error}: {description}")]
pub struct AuthorizeError {
    pub kind: AuthorizeErrorKind,
    /// The OAuth `error` parameter, verbatim.
    pub error: String,
    /// `error_description`, verbatim (may be empty).
    pub description: String,
    /// The AADSTS code it names, when it names one.
    pub aadsts: AadstsKind,
}

/// The `/authorize` errors tenantlink explains (OpenID Connect Core §3.1.2.6, RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeErrorKind {
    /// The person declined, or cancelled the consent prompt.
    AccessDenied,
    /// The application needs consent the account may not give (admin consent required).
    ConsentRequired,
    /// Entra needs an interaction it could not have (MFA, a policy's prompt).
    InteractionRequired,
    LoginRequired,
    /// A Conditional Access policy refused this sign-in too.
    Blocked,
    Other,
}

impl AuthorizeError {
    pub fn parse(error: &str, description: Option<&str>) -> Self {
        let description = description.unwrap_or_default().to_owned();
        let aadsts = classify_authorize(error, &description);
        let kind = match error {
            _ if aadsts == AadstsKind::BlockedByConditionalAccess => AuthorizeErrorKind::Blocked,
            "access_denied" => AuthorizeErrorKind::AccessDenied,
            "consent_required" => AuthorizeErrorKind::ConsentRequired,
            "interaction_required" => AuthorizeErrorKind::InteractionRequired,
            "login_required" => AuthorizeErrorKind::LoginRequired,
            _ if aadsts == AadstsKind::ConsentRequired => AuthorizeErrorKind::ConsentRequired,
            _ => AuthorizeErrorKind::Other,
        };
        Self {
            kind,
            error: error.to_owned(),
            description,
            aadsts,
        }
    }

    /// What it means, in one plain sentence.
    pub fn summary(&self) -> &'static str {
        match self.kind {
            AuthorizeErrorKind::AccessDenied => {
                "The sign-in was declined or cancelled at Entra ID's page."
            }
            AuthorizeErrorKind::ConsentRequired => {
                "The account that signed in may not consent to the permissions the sign-in application asks for; an administrator has to grant consent first."
            }
            AuthorizeErrorKind::InteractionRequired | AuthorizeErrorKind::LoginRequired => {
                "Entra ID needs the person to complete a step of the sign-in (for example multi-factor authentication) that did not happen."
            }
            AuthorizeErrorKind::Blocked => {
                "A Conditional Access policy of the tenant blocked this browser sign-in as well."
            }
            AuthorizeErrorKind::Other => "Entra ID refused the sign-in; its message says why.",
        }
    }
}

/// The one-time code and what redeeming it needs.
#[derive(Debug, Clone, Copy)]
pub struct RedeemRequest<'a> {
    pub tenant: &'a TenantId,
    pub client_id: &'a str,
    pub code: &'a SecretString,
    pub verifier: &'a SecretString,
    /// Exactly the `redirect_uri` given to `/authorize` (Entra compares them).
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
}

/// A redeemed code: the delegated sign-in and the id token's `nonce` (for the caller to
/// compare with the one it sent).
#[derive(Debug)]
pub struct CodeSignIn {
    pub sign_in: DelegatedSignIn,
    /// The id token's `nonce`; `None` when no id token came back or it had none.
    pub nonce: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuthCodeClient {
    transport: crate::transport::Transport,
    endpoints: Endpoints,
    clock: SharedClock,
}

impl AuthCodeClient {
    pub fn new(
        transport: crate::transport::Transport,
        endpoints: Endpoints,
        clock: SharedClock,
    ) -> Self {
        Self {
            transport,
            endpoints,
            clock,
        }
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// `grant_type=authorization_code` with the verifier. Sent once, never repeated after an
    /// ambiguous failure: a code is single-use, so a retry could only be refused as replayed
    /// (AADSTS54005) and would hide the real outcome.
    pub async fn redeem(&self, request: &RedeemRequest<'_>) -> Result<CodeSignIn, Error> {
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", request.client_id.to_owned()),
            ("code", request.code.expose().to_owned()),
            ("redirect_uri", request.redirect_uri.to_owned()),
            ("code_verifier", request.verifier.expose().to_owned()),
            ("scope", with_openid(request.scopes)),
        ];
        let url = self.endpoints.token_endpoint(request.tenant);
        let token = post_token_form_once(&self.transport, url, form, &self.clock).await?;
        // The id token came straight from the token endpoint over TLS, which OpenID Connect
        // Core §3.1.3.7 accepts in place of checking its signature; its claims are read as is.
        let nonce = token
            .id_token
            .as_deref()
            .and_then(token_claims)
            .and_then(|claims| claims.get("nonce")?.as_str().map(str::to_owned));
        let account = account_from(token.id_token.as_deref(), &token.access_token);
        let expires_at = checked_after(
            self.clock.now(),
            token.expires_in,
            MAX_TOKEN_LIFETIME,
            "expires_in",
            "token response",
        )?;
        Ok(CodeSignIn {
            sign_in: DelegatedSignIn {
                access_token: SecretString::new(token.access_token),
                expires_at,
                scope: token.scope,
                account,
            },
            nonce,
        })
    }
}
