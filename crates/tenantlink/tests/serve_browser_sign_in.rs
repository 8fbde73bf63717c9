//! Browser sign-in end to end against `tenantlink serve` and the sandbox: with the device code
//! flow blocked for the tenant (Conditional Access), Generate offers the browser sign-in; an
//! HTTP client follows it through the sandbox's `/authorize` sign-in page back to
//! `/oauth/callback`, and the operation continues to an active certificate. A replayed callback
//! is refused and changes nothing.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::json;
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Server, Session, log_in};

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a redirect")
        .to_owned()
}

fn set_cookie_pair(response: &reqwest::Response, name_ends_with: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| {
            v.split('=')
                .next()
                .is_some_and(|name| name.ends_with(name_ends_with))
        })
        .map(str::to_owned)
}

/// The value of `<input type="hidden" name="{name}" value="…">` in the sandbox's page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).expect("hidden field") + marker.len();
    let end = page[start..].find('"').expect("end of value") + start;
    page[start..end].to_owned()
}

/// "Sign in with the browser instead" on the portal: the authorize URL and the binding cookie.
async fn start_browser_sign_in(admin: &Session, operation: &str) -> (String, String) {
    let response = admin
        .client
        .post(format!(
            "{}/operations/{operation}/browser_sign_in",
            admin.base
        ))
        .header("cookie", &admin.cookie)
        .form(&[("csrf", admin.csrf.as_str())])
        .send()
        .await
        .expect("POST browser_sign_in");
    // Not a redirect: the CSP's form-action 'self' would block a 303 to another origin.
    assert_eq!(response.status(), StatusCode::OK);
    let binding = set_cookie_pair(&response, "tenantlink_browser_sign_in")
        .expect("the binding cookie is set");
    assert!(binding.contains("SameSite=Lax"), "{binding}");
    assert!(binding.contains("HttpOnly"), "{binding}");
    let pair = binding.split(';').next().unwrap().to_owned();
    (moves_on_to(response).await, pair)
}

/// The page tenantlink answers instead of a redirect: where its `meta refresh` (and its link) go.
async fn moves_on_to(response: reqwest::Response) -> String {
    let page = response.text().await.expect("the page");
    let marker = "content=\"0; url=";
    let start = page.find(marker).expect("a meta refresh") + marker.len();
    let end = page[start..].find('"').expect("end of the refresh") + start;
    let url = page[start..end].replace("&amp;", "&");
    assert!(
        page.contains(&format!("href=\"{}\"", &page[start..end])),
        "a link to the same place: {page}"
    );
    url
}

/// The administrator signs in at the sandbox's `/authorize` page and accepts: the redirect to
/// tenantlink's callback.
async fn sign_in_at_sandbox(server: &Server, authorize_url: &str) -> String {
    let sandbox = server.sandbox_client();
    let page = sandbox
        .get(authorize_url)
        .send()
        .await
        .expect("GET /authorize");
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    let ticket = hidden(&page, "ticket");
    let action_start = page.find("action=\"").expect("form action") + "action=\"".len();
    let action_end = page[action_start..].find('"').unwrap() + action_start;
    let action = url::Url::parse(authorize_url)
        .unwrap()
        .join(&page[action_start..action_end])
        .unwrap();
    let (username, password) = server.sandbox_user(true);
    let answer = sandbox
        .post(action)
        .form(&[
            ("ticket", ticket.as_str()),
            ("username", username.as_str()),
            ("password", password.as_str()),
            ("action", "accept"),
        ])
        .send()
        .await
        .expect("POST sign-in");
    assert!(answer.status().is_redirection(), "{}", answer.status());
    location(&answer)
}

#[tokio::test]
async fn generate_signs_in_with_the_browser_when_the_tenant_blocks_device_codes() {
    let Some(deployment) = Deployment::new(Backend::Sqlite) else {
        return;
    };
    let server = deployment.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    server
        .sandbox_control(
            "/tenant/access",
            json!({"block_device_code_flow": true, "device_code_block_at": "request"}),
        )
        .await;
    let org = admin.first_organization().await;
    let (status, op) = admin
        .post(
            &format!("/api/v1/organizations/{org}/operations"),
            json!({"kind": "generate"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{op}");
    assert_eq!(op["step"], "awaiting_sign_in");
    assert!(op["sign_in"].is_null(), "no device code: {op}");
    let id = op["id"].as_str().unwrap().to_owned();

    let (_, page) = admin.get_text(&format!("/operations/{id}")).await;
    assert!(
        page.contains("Device code sign-in is blocked in this tenant"),
        "{page}"
    );
    assert!(page.contains("Sign in with the browser instead"));

    let (authorize_url, binding) = start_browser_sign_in(&admin, &id).await;
    assert!(authorize_url.contains("code_challenge_method=S256"));
    let callback = sign_in_at_sandbox(&server, &authorize_url).await;
    assert!(
        callback.starts_with(&format!("{}/oauth/callback?", server.base)),
        "{callback}"
    );

    // The browser brings the Lax binding cookie on the redirect, not the Strict session.
    let back = serve_support::client()
        .get(&callback)
        .header("cookie", &binding)
        .send()
        .await
        .expect("GET /oauth/callback");
    // A page of tenantlink's own moves on, so that the Strict session cookie comes along.
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(moves_on_to(back).await, format!("/operations/{id}"));
    let op = admin
        .wait_for(&id, |op| op["step"] != "awaiting_sign_in")
        .await;
    assert_eq!(op["step"], "signed_in", "{op}");

    // The same callback again: its state was used up; nothing changes.
    let replay = serve_support::client()
        .get(&callback)
        .header("cookie", &binding)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = replay.text().await.unwrap();
    assert!(text.contains("already used"), "{text}");

    let (status, done) = admin.generate(&id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    assert_eq!(done["step"], "succeeded", "{done}");

    // The API offers the same start.
    let (status, problem) = admin
        .post(
            &format!("/api/v1/operations/{id}/browser_sign_in"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
}

/// Cancel at the sandbox's page: `/authorize` redirects with `access_denied`; the operation keeps
/// waiting and its page explains the attempt. Started through the API this time, with the device
/// code blocked only at sign-in (a code is issued, the poll answers AADSTS53003).
#[tokio::test]
async fn access_denied_at_authorize_is_explained_and_the_operation_keeps_waiting() {
    let Some(deployment) = Deployment::new(Backend::Sqlite) else {
        return;
    };
    let server = deployment.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    server
        .sandbox_control(
            "/tenant/access",
            json!({"block_device_code_flow": true, "device_code_block_at": "sign_in"}),
        )
        .await;
    let org = admin.first_organization().await;
    let (status, op) = admin
        .post(
            &format!("/api/v1/organizations/{org}/operations"),
            json!({"kind": "upload"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{op}");
    let id = op["id"].as_str().unwrap().to_owned();
    let (status, started) = admin
        .post(
            &format!("/api/v1/operations/{id}/browser_sign_in"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let authorize_url = started["authorize_url"].as_str().expect("authorize_url");
    assert!(authorize_url.contains("code_challenge="));

    let sandbox = server.sandbox_client();
    let page = sandbox.get(authorize_url).send().await.unwrap();
    let page = page.text().await.unwrap();
    let ticket = hidden(&page, "ticket");
    let action_start = page.find("action=\"").unwrap() + "action=\"".len();
    let action_end = page[action_start..].find('"').unwrap() + action_start;
    let action = url::Url::parse(authorize_url)
        .unwrap()
        .join(&page[action_start..action_end])
        .unwrap();
    let answer = sandbox
        .post(action)
        .form(&[("ticket", ticket.as_str()), ("action", "cancel")])
        .send()
        .await
        .unwrap();
    let callback = location(&answer);
    assert!(callback.contains("error=access_denied"), "{callback}");
    // Started through the API: no binding cookie; the state alone is the key.
    let back = serve_support::client().get(&callback).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(moves_on_to(back).await, format!("/operations/{id}"));
    let (_, op) = admin.get(&format!("/api/v1/operations/{id}")).await;
    assert_eq!(op["step"], "awaiting_sign_in", "{op}");
    let (_, page) = admin.get_text(&format!("/operations/{id}")).await;
    assert!(
        page.contains("The browser sign-in did not complete."),
        "{page}"
    );
    assert!(page.contains("authorize:access_denied"), "{page}");
}
