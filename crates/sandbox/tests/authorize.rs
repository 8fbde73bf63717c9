//! The authorization code flow with PKCE (issue #14): `/authorize`, the sign-in page, the code
//! at the token endpoint (single use, ten minutes, bound to verifier and redirect URI), error
//! redirects; and the Conditional Access switch that blocks the device code flow.

mod common;

use common::{Fixture, aadsts};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;

const REDIRECT: &str = "http://localhost:8400/oauth/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9qTqauE7ZHzgjo5HzBRBbZZJc";
/// S256 of VERIFIER, computed independently (Python hashlib + base64url).
const CHALLENGE: &str = "KycH5Ylukj7V0Lj8eewEsXq3wQhn1e9SHhnNP9KfcGs";
const SCOPE: &str =
    "https://graph.microsoft.com/Application.ReadWrite.All openid profile offline_access";

fn authorize_url(fx: &Fixture) -> String {
    fx.url(&format!("/{}/oauth2/v2.0/authorize", fx.info().tenant_id))
}

fn standard_params(fx: &Fixture) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", fx.info().public_client_id.clone()),
        ("response_type", "code".into()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", SCOPE.into()),
        ("state", "op-42.session-7".into()),
        ("nonce", "n-0S6_WzA2Mj".into()),
        ("code_challenge", CHALLENGE.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

async fn get_authorize(fx: &Fixture, params: &[(&str, String)]) -> reqwest::Response {
    let url = reqwest::Url::parse_with_params(&authorize_url(fx), params).expect("URL");
    fx.http.get(url).send().await.expect("authorize")
}

/// The sign-in page's one-time ticket.
fn ticket(html: &str) -> String {
    let start = html.find(r#"name="ticket" value=""#).expect("ticket field") + 21;
    html[start..].split('"').next().unwrap().to_owned()
}

async fn sign_in_page(fx: &Fixture, params: &[(&str, String)]) -> String {
    let response = get_authorize(fx, params).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"name="password""#), "{html}");
    assert!(html.contains(r#"value="accept""#) && html.contains(r#"value="cancel""#));
    ticket(&html)
}

async fn submit(
    fx: &Fixture,
    ticket: &str,
    username: &str,
    password: &str,
    action: &str,
) -> reqwest::Response {
    fx.http
        .post(fx.url(&format!("/{}/login", fx.info().tenant_id)))
        .form(&[
            ("ticket", ticket),
            ("username", username),
            ("password", password),
            ("action", action),
        ])
        .send()
        .await
        .expect("sign-in")
}

/// The query of the redirect to REDIRECT.
fn redirected(response: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap();
    let query = location
        .strip_prefix(&format!("{REDIRECT}?"))
        .expect("redirect to the client");
    url_pairs(query)
}

fn url_pairs(query: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn code_for_admin(fx: &Fixture) -> String {
    let ticket = sign_in_page(fx, &standard_params(fx)).await;
    let response = submit(
        fx,
        &ticket,
        &fx.admin(),
        &fx.password_of(&fx.admin()),
        "accept",
    )
    .await;
    redirected(&response)["code"].clone()
}

async fn redeem(
    fx: &Fixture,
    code: &str,
    verifier: Option<&str>,
    redirect: &str,
) -> (StatusCode, Value) {
    let client_id = fx.info().public_client_id.clone();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("code", code),
        ("redirect_uri", redirect),
        ("scope", SCOPE),
        ("client_info", "1"),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    fx.post_form(&fx.token_url(), &form).await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&tenantlink_jose::b64url_decode_lenient(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn the_code_with_its_verifier_gives_delegated_tokens_once() {
    let fx = Fixture::start().await;
    let ticket = sign_in_page(&fx, &standard_params(&fx)).await;
    let response = submit(
        &fx,
        &ticket,
        &fx.admin(),
        &fx.password_of(&fx.admin()),
        "accept",
    )
    .await;
    let answer = redirected(&response);
    assert_eq!(answer["state"], "op-42.session-7");
    let code = &answer["code"];

    let (status, tokens) = redeem(&fx, code, Some(VERIFIER), REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["scp"], "Application.ReadWrite.All");
    assert_eq!(access["upn"], fx.admin());
    assert_eq!(access["tid"], fx.info().tenant_id);
    let id_token = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id_token["aud"], fx.info().public_client_id);
    assert!(tokens["refresh_token"].is_string());
    assert!(tokens["client_info"].is_string());

    // The same code again: Entra's "already redeemed".
    let (status, body) = redeem(&fx, code, Some(VERIFIER), REDIRECT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let (number, text) = aadsts(&body);
    assert_eq!(number, 54005);
    assert!(
        text.contains("OAuth2 Authorization code was already redeemed"),
        "{text}"
    );
    // The ticket of the finished sign-in is spent too.
    let response = submit(
        &fx,
        &ticket,
        &fx.admin(),
        &fx.password_of(&fx.admin()),
        "accept",
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_wrong_or_missing_verifier_and_another_redirect_uri_are_refused() {
    let fx = Fixture::start().await;
    let code = code_for_admin(&fx).await;
    let (status, body) = redeem(
        &fx,
        &code,
        Some("not-the-verifier-not-the-verifier-not-the-ver"),
        REDIRECT,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        aadsts(&body),
        (501481, "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.".to_owned())
    );
    let (status, body) = redeem(&fx, &code, None, REDIRECT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body).0, 900144);
    let (status, body) = redeem(
        &fx,
        &code,
        Some(VERIFIER),
        "http://localhost:9999/elsewhere",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // Refusals do not use the code up: the right request still succeeds.
    let (status, body) = redeem(&fx, &code, Some(VERIFIER), REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = redeem(&fx, "made-up-code", Some(VERIFIER), REDIRECT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn codes_expire_after_ten_minutes_of_sandbox_time() {
    let fx = Fixture::start().await;
    let fresh = code_for_admin(&fx).await;
    let stale = code_for_admin(&fx).await;
    fx.advance_clock(9 * 60).await;
    assert_eq!(
        redeem(&fx, &fresh, Some(VERIFIER), REDIRECT).await.0,
        StatusCode::OK
    );
    fx.advance_clock(61).await;
    let (status, body) = redeem(&fx, &stale, Some(VERIFIER), REDIRECT).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let (number, text) = aadsts(&body);
    assert_eq!(number, 70008);
    assert!(text.contains("has expired"), "{text}");
}

#[tokio::test]
async fn cancel_redirects_with_access_denied_and_the_state() {
    let fx = Fixture::start().await;
    let ticket = sign_in_page(&fx, &standard_params(&fx)).await;
    let response = submit(&fx, &ticket, "", "", "cancel").await;
    let answer = redirected(&response);
    assert_eq!(answer["error"], "access_denied");
    assert!(
        answer["error_description"]
            .starts_with("AADSTS65004: User declined to consent to access the app."),
        "{answer:?}"
    );
    assert_eq!(answer["state"], "op-42.session-7");
    assert!(!answer.contains_key("code"));
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again() {
    let fx = Fixture::start().await;
    let ticket = sign_in_page(&fx, &standard_params(&fx)).await;
    let response = submit(&fx, &ticket, &fx.admin(), "wrong", "accept").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Your account or password is incorrect."),
        "{html}"
    );
    let response = submit(
        &fx,
        &ticket,
        "nobody@sandbox.onmicrosoft.com",
        "x",
        "accept",
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = submit(
        &fx,
        &ticket,
        &fx.plain_user(),
        &fx.password_of(&fx.plain_user()),
        "accept",
    )
    .await;
    assert!(redirected(&response).contains_key("code"));
}

#[tokio::test]
async fn bad_requests_are_a_page_or_an_error_redirect() {
    let fx = Fixture::start().await;
    // Unknown client or unusable redirect URI: never redirected.
    let mut params = standard_params(&fx);
    params[0].1 = "4f1f0d6c-0000-4000-8000-000000000000".into();
    let response = get_authorize(&fx, &params).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().await.unwrap().contains("AADSTS700016"));
    let mut params = standard_params(&fx);
    params[2].1 = "javascript:alert(1)".into();
    let response = get_authorize(&fx, &params).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("AADSTS50011"));

    // Known client and redirect URI: the error goes back to the client.
    for (index, value, error, code) in [
        (1, "token", "unsupported_response_type", "70005"),
        (7, "S512", "invalid_request", "50149"),
    ] {
        let mut params = standard_params(&fx);
        params[index].1 = value.into();
        let answer = redirected(&get_authorize(&fx, &params).await);
        assert_eq!(answer["error"], error, "{answer:?}");
        assert!(
            answer["error_description"].starts_with(&format!("AADSTS{code}:")),
            "{answer:?}"
        );
        assert_eq!(answer["state"], "op-42.session-7");
    }
    let mut params = standard_params(&fx);
    params.push(("prompt", "none".into()));
    assert_eq!(
        redirected(&get_authorize(&fx, &params).await)["error"],
        "login_required"
    );

    // A permission the client was not consented for.
    let mut params = standard_params(&fx);
    params[3].1 = "https://graph.microsoft.com/Directory.ReadWrite.All openid".into();
    let ticket = sign_in_page(&fx, &params).await;
    let response = submit(
        &fx,
        &ticket,
        &fx.admin(),
        &fx.password_of(&fx.admin()),
        "accept",
    )
    .await;
    let answer = redirected(&response);
    assert_eq!(answer["error"], "consent_required");
    assert!(answer["error_description"].starts_with("AADSTS65001:"));
}

#[tokio::test]
async fn form_post_answers_with_a_self_submitting_form() {
    let fx = Fixture::start().await;
    let mut params = standard_params(&fx);
    params.push(("response_mode", "form_post".into()));
    let ticket = sign_in_page(&fx, &params).await;
    let response = submit(
        &fx,
        &ticket,
        &fx.admin(),
        &fx.password_of(&fx.admin()),
        "accept",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!(r#"action="{REDIRECT}""#)), "{html}");
    assert!(html.contains(r#"name="code" value=""#));
    assert!(html.contains(r#"name="state" value="op-42.session-7""#));
}

#[tokio::test]
async fn conditional_access_blocks_the_device_code_flow_but_not_the_browser() {
    let fx = Fixture::start().await;
    let (status, body) = fx
        .control(
            "/tenant/conditional_access",
            json!({"block_device_code_flow": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["device_code_block_at"], "sign_in");

    // The code is issued; signing in is refused and the poll answers AADSTS53003.
    let flow = fx
        .start_device_flow("https://graph.microsoft.com/User.Read")
        .await;
    let (status, body) = fx
        .control(
            "/device/approve",
            json!({"user_code": flow["user_code"], "username": fx.admin()}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "blocked_by_conditional_access");
    let (status, body) = fx.poll_device(flow["device_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let (number, text) = aadsts(&body);
    assert_eq!(number, 53003);
    assert!(
        text.contains("Access has been blocked by Conditional Access policies."),
        "{text}"
    );

    // Blocked at the device authorization request instead.
    let (status, body) = fx
        .control("/tenant/access", json!({"device_code_block_at": "request"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = fx
        .post_form(
            &fx.url(&format!("/{}/oauth2/v2.0/devicecode", fx.info().tenant_id)),
            &[
                ("client_id", fx.info().public_client_id.as_str()),
                ("scope", "User.Read"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body).0, 53003);

    // The browser sign-in still works.
    let code = code_for_admin(&fx).await;
    assert_eq!(
        redeem(&fx, &code, Some(VERIFIER), REDIRECT).await.0,
        StatusCode::OK
    );

    // Switched off, the device code flow works again; the setting survives a restart.
    let fx = fx.restart().await;
    let (_, body) = fx.control_get("/tenant/access").await;
    assert_eq!(body["block_device_code_flow"], true);
    let (status, body) = fx
        .control("/tenant/access", json!({"block_device_code_flow": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let flow = fx
        .start_device_flow("https://graph.microsoft.com/User.Read")
        .await;
    let (status, _) = fx
        .control(
            "/device/approve",
            json!({"user_code": flow["user_code"], "username": fx.admin()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = fx.control("/tenant/access", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// The same block through the device sign-in page: Continue shows Entra's 53003 page.
#[tokio::test]
async fn the_device_sign_in_page_refuses_a_blocked_tenant() {
    let fx = Fixture::start().await;
    let (status, _) = fx
        .control("/tenant/access", json!({"block_device_code_flow": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let flow = fx
        .start_device_flow("https://graph.microsoft.com/User.Read")
        .await;
    let user_code = flow["user_code"].as_str().unwrap();
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let request = fx.http.post(fx.url(path)).form(&form);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, _) = post("/devicelogin", vec![("user_code", user_code.to_owned())]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, page) = post(
        "/devicelogin/signin",
        vec![
            ("user_code", user_code.to_owned()),
            ("username", fx.admin()),
            ("password", fx.password_of(&fx.admin())),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ticket = ticket(&page);
    let (status, page) = post(
        "/devicelogin/consent",
        vec![
            ("user_code", user_code.to_owned()),
            ("ticket", ticket),
            ("action", "continue".to_owned()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("You don&#39;t have access to this"), "{page}");
    assert!(page.contains("Error Code: 53003"), "{page}");
    let (status, body) = fx.poll_device(flow["device_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body).0, 53003);
}
