//! The browser sign-in (authorization code with PKCE) as the service and its `Directory` port
//! speak of it: what goes to `/authorize`, what redeems the code, what came back, and what the
//! operation's page shows about its sign-in methods.

use crate::operation::OperationFailure;
use crate::ports::DelegatedToken;
use crate::secret::SecretString;

/// What the `/authorize` URL carries besides the client, tenant and scopes the directory knows.
#[derive(Debug, Clone)]
pub struct AuthorizeParameters {
    pub redirect_uri: String,
    pub state: SecretString,
    pub nonce: SecretString,
    /// `BASE64URL(SHA256(verifier))`; the verifier itself never leaves the service.
    pub code_challenge: String,
    /// Which scopes to ask for (Connect's sign-in also grants admin consent).
    pub purpose: crate::ports::SignInPurpose,
}

/// A one-time code to redeem, with the verifier of its attempt.
#[derive(Debug, Clone)]
pub struct CodeRedemption {
    pub code: SecretString,
    pub verifier: SecretString,
    /// Exactly the one sent to `/authorize`.
    pub redirect_uri: String,
    /// The purpose sent to `/authorize` (the same scopes must be redeemed).
    pub purpose: crate::ports::SignInPurpose,
}

/// A redeemed code.
#[derive(Debug, Clone)]
pub struct BrowserSignedIn {
    pub token: DelegatedToken,
    /// Who signed in (user principal name), when the tokens say.
    pub account: Option<String>,
    /// The id token's `nonce`; `None` when no id token (or no nonce in it) came back.
    pub nonce: Option<String>,
}

/// What `/oauth/callback` received, as the browser brought it back from `/authorize`.
#[derive(Debug, Clone, Default)]
pub struct OAuthCallback {
    pub state: Option<String>,
    pub code: Option<SecretString>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// How an operation waiting for its sign-in may be signed in, for its page and the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInMethods {
    /// Why the device code sign-in cannot be used (the tenant blocks it), when it cannot.
    pub device_code_blocked: Option<OperationFailure>,
    /// Whether a browser sign-in was started and its callback is awaited.
    pub browser_pending: bool,
    /// Why the last browser sign-in attempt ended without signing in.
    pub browser_failure: Option<OperationFailure>,
}

/// A fresh random value (256 bits, base64url) binding a browser sign-in to the browser that
/// starts it.
pub fn random_binding() -> SecretString {
    tenantlink_entra::random_token()
}
