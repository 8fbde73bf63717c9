//! The control API cannot be used to break the sandbox (or the `serve` that embeds it and
//! shares its clock): an absurd clock move is refused and changes nothing, and a sandbox given
//! a control secret refuses every control call without it.

mod common;

use common::{Fixture, client_trusting};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tenantlink_sandbox::{ControlSecret, SandboxConfig};

#[tokio::test]
async fn an_absurd_clock_move_is_refused_and_the_sandbox_keeps_serving() {
    let fx = Fixture::start().await;
    let (_, before) = fx.control("/clock", json!({"advance_seconds": 60})).await;
    for absurd in [
        json!({"advance_seconds": 1e12}),
        json!({"advance_seconds": -1e12}),
        json!({"advance_seconds": 1e300}),
        json!({"now": "9999-12-31T23:59:59Z"}),
    ] {
        let (status, body) = fx.control("/clock", absurd.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("clock_out_of_range")),
            "{absurd}: {body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("not changed"),
            "{body}"
        );
    }
    // Steps that are each allowed cannot add up past the bound either.
    let century = 36_525.0 * 86_400.0;
    let (status, _) = fx
        .control("/clock", json!({"advance_seconds": century - 120.0}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = fx
        .control("/clock", json!({"advance_seconds": century - 120.0}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Still serving, and the clock reads (no poisoned lock, no overflow).
    let (status, now) = fx.control("/clock", json!({"advance_seconds": 0})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(now["offset_seconds"].as_f64().unwrap() > before["offset_seconds"].as_f64().unwrap());
    let discovery = fx.url(&format!(
        "/{}/v2.0/.well-known/openid-configuration",
        fx.info().tenant_id
    ));
    assert_eq!(
        fx.http.get(discovery).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn with_a_secret_the_control_api_refuses_callers_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SandboxConfig::ephemeral(dir.path().join("state"));
    config.control_secret = Some(ControlSecret::new("s3cret-for-the-test"));
    let sandbox = tenantlink_sandbox::start(config).await.unwrap();
    let http = client_trusting(&sandbox.info().ca_file);
    let clock = format!("{}/_sandbox/clock", sandbox.info().authority);

    for presented in [None, Some("Bearer wrong"), Some("s3cret-for-the-test")] {
        let mut request = http.post(&clock).json(&json!({"advance_seconds": 86400}));
        if let Some(value) = presented {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{presented:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "control_secret_required");
    }
    assert_eq!(sandbox.clock().offset(), time::Duration::ZERO, "unchanged");

    // The secret is published in sandbox.json (mode 0600) and works.
    let path = dir.path().join("state/sandbox.json");
    let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(written["control_secret"], "s3cret-for-the-test");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let response = http
        .post(&clock)
        .bearer_auth("s3cret-for-the-test")
        .json(&json!({"advance_seconds": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !format!("{:?}", sandbox.info()).contains("s3cret"),
        "redacted"
    );
}
