//! Accounts and API tokens over HTTP against the real binary: disabling an account ends its
//! session and tokens at once, a revoked token gets 401, an administrator's reset ends the
//! user's sessions, one's own password needs the current one, the last enabled Administrator
//! stays, and the portal's Users and API tokens pages carry the CSRF token on every form and
//! never show a token's secret.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Session, client, log_in};

on_both_backends!(accounts_and_tokens_have_a_lifecycle);

/// A request with an API token.
async fn with_token(base: &str, token: &str, method: Method, path: &str) -> StatusCode {
    client()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// A JSON request with the session cookie and CSRF header (PATCH, DELETE).
async fn send(session: &Session, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let response = session
        .client
        .request(method, format!("{}{path}", session.base))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn user_id(admin: &Session, name: &str) -> String {
    let (status, users) = admin.get("/api/v1/users").await;
    assert_eq!(status, StatusCode::OK, "{users}");
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .unwrap_or_else(|| panic!("{name} in {users}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn create_user(admin: &Session, name: &str, password: &str, role: &str) -> String {
    let (status, body) = admin
        .post(
            "/api/v1/users",
            json!({"username": name, "password": password, "role": role}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    user_id(admin, name).await
}

async fn issue_token(session: &Session, name: &str, role: &str) -> (String, String) {
    let (status, issued) = session
        .post("/api/v1/tokens", json!({"name": name, "role": role}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    (
        issued["id"].as_str().unwrap().to_owned(),
        issued["token"].as_str().unwrap().to_owned(),
    )
}

async fn accounts_and_tokens_have_a_lifecycle(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let base = server.base.clone();
    let admin = log_in(&base, "admin", ADMIN_PASSWORD).await.unwrap();

    // Disabling an account ends its session and its tokens at once.
    let ops = create_user(&admin, "ops", "ops-password-123", "administrator").await;
    let ops_session = log_in(&base, "ops", "ops-password-123").await.unwrap();
    let (_, ops_token) = issue_token(&ops_session, "ops-ci", "operator").await;
    assert_eq!(
        with_token(&base, &ops_token, Method::GET, "/api/v1/organizations").await,
        StatusCode::OK
    );
    let (status, disabled) = send(
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{ops}"),
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{disabled}");
    assert_eq!(disabled["disabled"], true);
    assert_eq!(
        ops_session.get("/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        with_token(&base, &ops_token, Method::GET, "/api/v1/organizations").await,
        StatusCode::UNAUTHORIZED
    );
    assert!(log_in(&base, "ops", "ops-password-123").await.is_err());

    // Now admin is the last enabled Administrator: neither demoted nor disabled.
    let me = user_id(&admin, "admin").await;
    for change in [json!({"role": "operator"}), json!({"disabled": true})] {
        let (status, problem) = send(
            &admin,
            Method::PATCH,
            &format!("/api/v1/users/{me}"),
            change,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("last enabled Administrator"),
            "{problem}"
        );
    }

    // A revoked token gets 401; the list shows it without its secret.
    let (token_id, token) = issue_token(&admin, "deploy", "viewer").await;
    assert_eq!(
        with_token(&base, &token, Method::GET, "/api/v1/organizations").await,
        StatusCode::OK
    );
    let (status, revoked) = send(
        &admin,
        Method::DELETE,
        &format!("/api/v1/tokens/{token_id}"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(
        with_token(&base, &token, Method::GET, "/api/v1/organizations").await,
        StatusCode::UNAUTHORIZED
    );
    let (status, tokens) = admin.get("/api/v1/tokens").await;
    assert_eq!(status, StatusCode::OK);
    let listed = tokens.to_string();
    assert!(!listed.contains(&token) && !listed.contains(&ops_token));
    let deploy = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "deploy")
        .unwrap();
    assert!(deploy["last_used_at"].is_string() && deploy["revoked_at"].is_string());
    assert!(deploy["expires_at"].is_string(), "every new token expires");

    // An administrator's reset ends the user's sessions.
    let val = create_user(&admin, "val", "viewer-password-1", "viewer").await;
    let val_session = log_in(&base, "val", "viewer-password-1").await.unwrap();
    assert_eq!(
        val_session.get("/api/v1/users").await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = admin
        .post(
            &format!("/api/v1/users/{val}/password"),
            json!({"password": "reset-password-22"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        val_session.get("/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );

    // One's own password: the current one is required.
    let val_session = log_in(&base, "val", "reset-password-22").await.unwrap();
    let (status, problem) = val_session
        .post(
            "/api/v1/me/password",
            json!({"current_password": "wrong", "new_password": "my-own-password-3"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "current_password");
    let (status, _) = val_session
        .post(
            "/api/v1/me/password",
            json!({"current_password": "reset-password-22", "new_password": "my-own-password-3"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(log_in(&base, "val", "reset-password-22").await.is_err());
    let val_session = log_in(&base, "val", "my-own-password-3").await.unwrap();

    // The portal: Administrators see Users and API tokens; every form has the CSRF token.
    let (status, html) = admin.get_text("/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/users\"") && html.contains("href=\"/tokens\""));
    let forms = html.matches("<form").count();
    let with_csrf = html
        .matches(&format!("name=\"csrf\" value=\"{}\"", admin.csrf))
        .count();
    assert!(
        forms > 3 && forms == with_csrf,
        "{forms} forms, {with_csrf} with csrf"
    );
    let (status, html) = admin.get_text("/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("deploy") && !html.contains(&token));
    let (status, html) = val_session.get_text("/organizations").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("href=\"/users\"") && html.contains("/account/password"));
    assert_eq!(
        val_session.get_text("/users").await.0,
        StatusCode::FORBIDDEN
    );

    // A portal form without the CSRF token changes nothing; with it, it works.
    let form = |csrf: &str| vec![("csrf", csrf.to_owned())];
    let post_form = |path: String, fields: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            admin
                .client
                .post(format!("{}{path}", admin.base))
                .header("cookie", &admin.cookie)
                .form(&fields)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        post_form(format!("/users/{val}/sessions/end"), form("forged")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(val_session.get("/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(
        post_form(format!("/users/{val}/sessions/end"), form(&admin.csrf)).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        val_session.get("/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut issue = form(&admin.csrf);
    issue.extend([
        ("name", "from-portal".to_owned()),
        ("role", "viewer".to_owned()),
        ("expires_in_days", "7".to_owned()),
    ]);
    let response = admin
        .client
        .post(format!("{base}/tokens"))
        .header("cookie", &admin.cookie)
        .form(&issue)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    let secret = page
        .split("id=\"new-token-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the new secret, shown once")
        .to_owned();
    assert_eq!(
        with_token(&base, &secret, Method::GET, "/api/v1/me").await,
        StatusCode::OK
    );
    assert!(!admin.get_text("/tokens").await.1.contains(&secret));

    // Every action is in the audit log.
    let (_, audit) = admin.get("/api/v1/audit?limit=200").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "user_created",
        "user_disabled",
        "api_token_created",
        "api_token_revoked",
        "password_reset",
        "password_changed",
        "sessions_ended",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}
