//! The control API (clock, faults, settings, request log), persistence across a restart, and the
//! sandbox without its control API.

mod common;

use common::{Fixture, TestCertificate, client_trusting};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tenantlink_sandbox::SandboxConfig;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[tokio::test]
async fn clock_can_be_read_set_and_advanced() {
    let fx = Fixture::start().await;
    let (status, body) = fx
        .control("/clock", json!({"now": "2030-06-01T12:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let now = OffsetDateTime::parse(body["now"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(
        now >= time::macros::datetime!(2030-06-01 12:00 UTC)
            && now < time::macros::datetime!(2030-06-01 12:01 UTC)
    );
    let (_, body) = fx
        .control("/clock", json!({"advance_seconds": 86400}))
        .await;
    let advanced = OffsetDateTime::parse(body["now"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(advanced >= time::macros::datetime!(2030-06-02 12:00 UTC));
    let read: Value = fx
        .http
        .get(fx.url("/_sandbox/clock"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(OffsetDateTime::parse(read["now"].as_str().unwrap(), &Rfc3339).unwrap() >= advanced);
    // Error timestamps follow the sandbox clock.
    let (_, error) = fx
        .post_form(
            &fx.token_url(),
            &[("grant_type", "nope"), ("client_id", "x")],
        )
        .await;
    assert!(
        error["timestamp"]
            .as_str()
            .unwrap()
            .starts_with("2030-06-02"),
        "{error}"
    );

    for bad in [
        json!({}),
        json!({"now": "yesterday"}),
        json!({"now": "2030-01-01T00:00:00Z", "advance_seconds": 1}),
    ] {
        let (status, body) = fx.control("/clock", bad).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request"))
        );
    }
}

#[tokio::test]
async fn faults_throttle_fail_and_drop_then_clear() {
    let fx = Fixture::start().await;
    let discovery = fx.url(&format!(
        "/{}/v2.0/.well-known/openid-configuration",
        fx.info().tenant_id
    ));
    let (status, _) = fx
        .control("/faults", json!({"route": "/*/v2.0/.well-known/openid-configuration", "kind": "status", "status": 429, "retry_after_seconds": 7, "count": 2}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for _ in 0..2 {
        let response = fx.http.get(&discovery).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "7");
    }
    assert_eq!(
        fx.http.get(&discovery).send().await.unwrap().status(),
        StatusCode::OK,
        "count exhausted"
    );

    fx.control(
        "/faults",
        json!({"route": "/v1.0/*", "kind": "status", "status": 503}),
    )
    .await;
    let response = fx
        .http
        .get(format!("{}/users", fx.info().graph_base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ServiceUnavailable");

    fx.control(
        "/faults",
        json!({"route": "/*/oauth2/v2.0/token", "method": "POST", "kind": "drop", "count": 1}),
    )
    .await;
    let dropped = async {
        let response = fx
            .http
            .post(fx.token_url())
            .form(&[("grant_type", "x")])
            .send()
            .await?;
        response.bytes().await
    };
    assert!(dropped.await.is_err(), "the connection is dropped");

    fx.control("/faults", json!({"route": "/*/discovery/v2.0/keys", "kind": "latency", "latency_ms": 300, "count": 1})).await;
    let started = std::time::Instant::now();
    let response = fx
        .http
        .get(fx.url(&format!("/{}/discovery/v2.0/keys", fx.info().tenant_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    let (status, body) = fx
        .control("/faults", json!({"route": "no-slash", "kind": "drop"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_fault"))
    );
    let (status, _) = fx
        .control(
            "/faults",
            json!({"route": "/x", "kind": "drop", "probability": 2.0}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let response = fx
        .http
        .delete(fx.url("/_sandbox/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        fx.http
            .get(format!("{}/users", fx.info().graph_base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn request_log_names_outcomes_and_holds_no_secrets() {
    let fx = Fixture::start().await;
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&certificate]).await;
    let assertion = fx.assertion(&certificate);
    let (_, tokens) = fx.client_credentials(&assertion).await;
    let stranger = TestCertificate::valid_for_days(fx.now(), 30);
    fx.client_credentials(&fx.assertion(&stranger)).await;
    fx.http
        .get(fx.url("/common/discovery/instance?authorization_endpoint=secret-looking-value"))
        .send()
        .await
        .unwrap();

    let log: Value = fx
        .http
        .get(fx.url("/_sandbox/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = log.to_string();
    let access_token = tokens["access_token"].as_str().unwrap();
    for secret in [
        assertion.as_str(),
        access_token,
        &fx.password_of(&fx.admin()),
        "secret-looking-value",
    ] {
        assert!(!text.contains(secret), "the request log leaks a secret");
    }
    let entries = log["requests"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["outcome"] == "AADSTS700027 invalid_client" && e["status"] == 401)
    );
    assert!(
        entries
            .iter()
            .any(|e| e["path"] == "/common/discovery/instance?authorization_endpoint")
    );
}

#[tokio::test]
async fn state_survives_a_restart() {
    let fx = Fixture::start().await;
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&certificate]).await;
    let (_, before) = fx.client_credentials(&fx.assertion(&certificate)).await;
    let old_token = before["access_token"].as_str().unwrap().to_owned();
    let info_before = fx.info().clone();
    let ca_before = std::fs::read(&info_before.ca_file).unwrap();

    let fx = fx.restart().await;
    assert_eq!(fx.info().tenant_id, info_before.tenant_id);
    assert_eq!(fx.info().backup_app.app_id, info_before.backup_app.app_id);
    assert_eq!(fx.info().users[0].password, info_before.users[0].password);
    assert_eq!(
        std::fs::read(&fx.info().ca_file).unwrap(),
        ca_before,
        "the local CA is reused"
    );
    let (status, body) = fx.client_credentials(&fx.assertion(&certificate)).await;
    assert_eq!(status, StatusCode::OK, "the attached key survived: {body}");
    // Tokens issued before the restart still verify: the signing key persisted too.
    let (status, _) = fx
        .graph(
            reqwest::Method::GET,
            &format!("/applications/{}", fx.info().backup_app.object_id),
            &old_token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let state = fx.info().ca_file.parent().unwrap().to_owned();
        for private in [
            "ca-key.pem",
            "token-signing-key.der",
            "directory.json",
            "directory.journal",
            "sandbox.json",
        ] {
            let mode = std::fs::metadata(state.join(private))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{private}");
        }
    }
}

#[tokio::test]
async fn control_api_is_off_unless_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SandboxConfig::ephemeral(dir.path().join("state"));
    config.enable_control = false;
    let sandbox = tenantlink_sandbox::start(config).await.unwrap();
    assert!(sandbox.info().control_base.is_none());
    let http = client_trusting(&sandbox.info().ca_file);
    let response = http
        .get(format!("{}/_sandbox/clock", sandbox.info().authority))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let written: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state/sandbox.json")).unwrap())
            .unwrap();
    for name in [
        "authority",
        "graph_base",
        "ca_file",
        "tenant_id",
        "tenant_domain",
        "backup_app",
        "public_client_id",
        "control_base",
        "users",
    ] {
        assert!(written.get(name).is_some(), "sandbox.json lacks {name}");
    }
    assert!(written["graph_base"].as_str().unwrap().ends_with("/v1.0"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn config_file_adds_tenants_users_and_apps() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"tenants":[{"domain":"contoso.example","users":[{"alias":"ops","password":"correct horse","roles":["Application Administrator"]}],
            "applications":[{"display_name":"contoso backup","application_permissions":["Application.ReadWrite.All"],"owners":["ops"]}]}]}"#,
    )
    .unwrap();
    let fx = Fixture::start_in(dir, Some(config.clone())).await;
    let discovery = fx
        .http
        .get(fx.url("/contoso.example/v2.0/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status(), StatusCode::OK);
    assert!(
        fx.info()
            .users
            .iter()
            .all(|u| !u.username.starts_with("ops@")),
        "configured passwords are not republished"
    );

    std::fs::write(
        &config,
        r#"{"tenants":[{"domain":"x","users":[{"alias":"a","roles":["Emperor"]}]}]}"#,
    )
    .unwrap();
    let error = tenantlink_sandbox::ConfigFile::load(&config)
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown role \"Emperor\""), "{error}");
}
