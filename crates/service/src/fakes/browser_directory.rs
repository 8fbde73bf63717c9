//! The fake directory's browser sign-in: `/authorize` URLs it hands out, codes the test issues
//! for them (as Entra's sign-in page would), and redemption with Entra's refusals — once only
//! (AADSTS54005), within its life (AADSTS70008), with the verifier of its challenge
//! (AADSTS501481). Also the tenant switch that blocks the device code flow.

use super::lock;
use crate::browser_sign_in::{AuthorizeParameters, BrowserSignedIn, CodeRedemption};
use crate::ports::{DelegatedToken, DirectoryError, DirectoryErrorKind};
use crate::secret::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where the fake's blocked device code flow is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCodeBlock {
    /// The `/devicecode` request itself answers AADSTS53003.
    Request,
    /// A code is issued; polling answers AADSTS53003 (what azure-cli#32420 shows).
    SignIn,
}

/// What the fake `/authorize` was asked, as the browser would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeSeen {
    pub url: String,
    pub state: String,
    pub redirect_uri: String,
}

#[derive(Debug, Clone, Default)]
pub(super) struct FakeBrowser {
    state: Arc<Mutex<BrowserState>>,
}

#[derive(Default)]
struct BrowserState {
    /// state → (challenge, nonce) of the `/authorize` requests made.
    authorize: HashMap<String, (String, String)>,
    seen: Vec<AuthorizeSeen>,
    /// code → (challenge, nonce, redeemed)
    codes: HashMap<String, (String, String, bool)>,
    next_code: u32,
    nonce_override: Option<String>,
    pub(super) device_block: Option<DeviceCodeBlock>,
    redemptions: u32,
}

impl std::fmt::Debug for BrowserState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserState")
            .field("authorize_requests", &self.seen.len())
            .field("redemptions", &self.redemptions)
            .finish_non_exhaustive()
    }
}

pub(super) fn blocked_error() -> DirectoryError {
    DirectoryError::new(
        DirectoryErrorKind::SignInBlocked,
        Some("AADSTS53003".into()),
        "AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        "Sign in with the browser instead.",
    )
}

impl FakeBrowser {
    pub(super) fn device_block(&self) -> Option<DeviceCodeBlock> {
        lock(&self.state).device_block
    }

    pub(super) fn set_device_block(&self, block: Option<DeviceCodeBlock>) {
        lock(&self.state).device_block = block;
    }

    pub(super) fn authorize_url(&self, request: &AuthorizeParameters) -> String {
        let mut url = url::Url::parse("https://login.example.test/tenant/oauth2/v2.0/authorize")
            .expect("static URL");
        url.query_pairs_mut()
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("state", request.state.expose())
            .append_pair("nonce", request.nonce.expose())
            .append_pair("code_challenge", &request.code_challenge)
            .append_pair("code_challenge_method", "S256");
        let mut state = lock(&self.state);
        state.authorize.insert(
            request.state.expose().to_owned(),
            (
                request.code_challenge.clone(),
                request.nonce.expose().to_owned(),
            ),
        );
        state.seen.push(AuthorizeSeen {
            url: url.to_string(),
            state: request.state.expose().to_owned(),
            redirect_uri: request.redirect_uri.clone(),
        });
        url.to_string()
    }

    pub(super) fn seen(&self) -> Vec<AuthorizeSeen> {
        lock(&self.state).seen.clone()
    }

    /// The person signs in at the page of the `/authorize` request with `state`: a code for it.
    pub(super) fn approve(&self, state_value: &str) -> String {
        let mut state = lock(&self.state);
        let (challenge, nonce) = state
            .authorize
            .get(state_value)
            .cloned()
            .expect("no /authorize request with this state");
        state.next_code += 1;
        let code = format!("browser-code-secret-{}", state.next_code);
        state.codes.insert(code.clone(), (challenge, nonce, false));
        code
    }

    /// The next redeemed id token carries `nonce` instead of the one sent.
    pub(super) fn answer_with_nonce(&self, nonce: &str) {
        lock(&self.state).nonce_override = Some(nonce.to_owned());
    }

    pub(super) fn redemptions(&self) -> u32 {
        lock(&self.state).redemptions
    }

    pub(super) fn redeem(
        &self,
        redemption: &CodeRedemption,
    ) -> Result<BrowserSignedIn, DirectoryError> {
        let mut state = lock(&self.state);
        state.redemptions += 1;
        let refused = |code: &str, text: &str| {
            DirectoryError::new(
                DirectoryErrorKind::CodeRefused,
                Some(code.to_owned()),
                text,
                "Sign in with the browser again.",
            )
        };
        let nonce_override = state.nonce_override.take();
        let Some((challenge, nonce, used)) = state.codes.get_mut(redemption.code.expose()) else {
            return Err(refused(
                "AADSTS70008",
                "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
            ));
        };
        if *used {
            return Err(refused(
                "AADSTS54005",
                "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code.",
            ));
        }
        *used = true;
        if tenantlink_entra::code_challenge(redemption.verifier.expose()) != *challenge {
            return Err(refused(
                "AADSTS501481",
                "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
        Ok(BrowserSignedIn {
            token: DelegatedToken(SecretString::new(format!(
                "delegated-token-{}",
                redemption.code.expose()
            ))),
            account: Some("admin@contoso.example".into()),
            nonce: Some(nonce_override.unwrap_or_else(|| nonce.clone())),
        })
    }
}
