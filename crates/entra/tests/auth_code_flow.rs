//! Browser sign-in (authorization code + PKCE S256) against the loopback fake Entra: the
//! `/authorize` URL, redeeming a code once with its verifier, and each refusal it can meet.

mod support;

use support::{CLIENT_ID, Harness, TENANT};
use tenantlink_entra::{
    AadstsKind, AuthorizeError, AuthorizeErrorKind, AuthorizeRequest, Error, Pkce, RedeemRequest,
    authorize_url, code_challenge, random_token,
};
use tenantlink_secret::SecretString;

const REDIRECT: &str = "https://tenantlink.example/oauth/callback";

fn scopes() -> Vec<String> {
    vec!["https://graph.microsoft.com/Application.ReadWrite.All".to_owned()]
}

#[test]
fn the_challenge_is_rfc_7636s_s256_of_the_verifier() {
    // RFC 7636 Appendix B's example pair.
    assert_eq!(
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let pkce = Pkce::generate();
    assert_eq!(pkce.challenge(), code_challenge(pkce.verifier().expose()));
    // 32 random bytes, unpadded base64url: 43 characters of the unreserved set.
    let verifier = pkce.verifier().expose();
    assert_eq!(verifier.len(), 43);
    assert!(
        verifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert_ne!(random_token().expose(), random_token().expose());
    assert!(!format!("{pkce:?}").contains(verifier), "verifier redacted");
}

#[tokio::test]
async fn the_authorize_url_carries_every_parameter_entra_needs() {
    let h = Harness::start().await;
    let pkce = Pkce::generate();
    let challenge = pkce.challenge();
    let url = authorize_url(
        &h.endpoints,
        &AuthorizeRequest {
            tenant: &h.tenant(),
            client_id: CLIENT_ID,
            redirect_uri: REDIRECT,
            scopes: &scopes(),
            state: "STATE-1",
            nonce: "NONCE-1",
            code_challenge: &challenge,
        },
    );
    assert_eq!(url.path(), format!("/{TENANT}/oauth2/v2.0/authorize"));
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    let expect = [
        ("client_id", CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("response_mode", "query"),
        (
            "scope",
            "https://graph.microsoft.com/Application.ReadWrite.All openid profile",
        ),
        ("state", "STATE-1"),
        ("nonce", "NONCE-1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("prompt", "select_account"),
    ];
    for (name, value) in expect {
        assert_eq!(query.get(name).map(String::as_str), Some(value), "{name}");
    }
    assert_eq!(query.len(), expect.len());
    assert!(!url.as_str().contains(pkce.verifier().expose()));
}

#[tokio::test]
async fn a_code_is_redeemed_once_with_its_verifier_and_names_the_nonce() {
    let h = Harness::start().await;
    let pkce = Pkce::generate();
    let code = SecretString::new(h.server.issue_code(&pkce.challenge(), "NONCE-7"));
    let request = RedeemRequest {
        tenant: &h.tenant(),
        client_id: CLIENT_ID,
        code: &code,
        verifier: pkce.verifier(),
        redirect_uri: REDIRECT,
        scopes: &scopes(),
    };
    let signed_in = h.auth_code().redeem(&request).await.unwrap();
    assert_eq!(signed_in.nonce.as_deref(), Some("NONCE-7"));
    assert_eq!(
        signed_in.sign_in.account.user_principal_name.as_deref(),
        Some("admin@contoso.onmicrosoft.com")
    );
    let sent = h.server.requests("/oauth2/v2.0/token");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].form["grant_type"], "authorization_code");
    assert_eq!(sent[0].form["code_verifier"], pkce.verifier().expose());
    assert_eq!(sent[0].form["redirect_uri"], REDIRECT);

    // The same code again: Entra's replay refusal, classified.
    let replay = h.auth_code().redeem(&request).await.unwrap_err();
    assert_eq!(aadsts_kind(&replay), AadstsKind::AuthorizationCodeReplayed);
}

#[tokio::test]
async fn a_wrong_verifier_and_an_unknown_code_are_told_apart() {
    let h = Harness::start().await;
    let pkce = Pkce::generate();
    let code = SecretString::new(h.server.issue_code(&pkce.challenge(), "N"));
    let other = Pkce::generate();
    let mismatch = h
        .auth_code()
        .redeem(&RedeemRequest {
            tenant: &h.tenant(),
            client_id: CLIENT_ID,
            code: &code,
            verifier: other.verifier(),
            redirect_uri: REDIRECT,
            scopes: &scopes(),
        })
        .await
        .unwrap_err();
    assert_eq!(aadsts_kind(&mismatch), AadstsKind::PkceVerifierMismatch);
    let unknown = SecretString::new("CODE-NEVER-ISSUED".to_owned());
    let expired = h
        .auth_code()
        .redeem(&RedeemRequest {
            tenant: &h.tenant(),
            client_id: CLIENT_ID,
            code: &unknown,
            verifier: pkce.verifier(),
            redirect_uri: REDIRECT,
            scopes: &scopes(),
        })
        .await
        .unwrap_err();
    assert_eq!(aadsts_kind(&expired), AadstsKind::AuthorizationCodeExpired);
}

#[test]
fn authorize_error_redirects_are_classified() {
    let cases = [
        (
            "access_denied",
            "AADSTS65004: User declined to consent to access the app.",
            AuthorizeErrorKind::AccessDenied,
        ),
        (
            "consent_required",
            "AADSTS65001: The user or administrator has not consented to use the application.",
            AuthorizeErrorKind::ConsentRequired,
        ),
        (
            "interaction_required",
            "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.",
            AuthorizeErrorKind::InteractionRequired,
        ),
        (
            "access_denied",
            "AADSTS53003: Access has been blocked by Conditional Access policies.",
            AuthorizeErrorKind::Blocked,
        ),
        ("server_error", "", AuthorizeErrorKind::Other),
    ];
    for (error, description, kind) in cases {
        let parsed = AuthorizeError::parse(error, Some(description));
        assert_eq!(parsed.kind, kind, "{error} {description}");
        assert_eq!(parsed.error, error);
        assert_eq!(parsed.description, description);
        assert!(!parsed.summary().is_empty());
    }
    assert_eq!(
        AuthorizeError::parse("consent_required", None).aadsts,
        AadstsKind::Other
    );
}

fn aadsts_kind(err: &Error) -> AadstsKind {
    match err {
        Error::Entra(e) => e.kind.clone(),
        other => panic!("expected an Entra error, got {other:?}"),
    }
}
