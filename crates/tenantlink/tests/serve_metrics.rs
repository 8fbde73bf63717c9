//! `/metrics` of the real binary on the sandbox, parsed by the Prometheus project's Python
//! parsers (tests/interop/python/parse_metrics.py): after Generate, the organization's
//! `tenantlink_certificate_expiration_timestamp_seconds` equals the certificate's end, its
//! state is `valid`, and the token request of the proof was counted; on the portal's address a
//! scrape without the bearer token (or with a wrong one) gets 401. On an address of its own the
//! route needs no token. SQLite and PostgreSQL.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::Value;
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Server, log_in};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

on_both_backends!(the_scrape_shows_the_certificate_end_behind_the_bearer_token);

const TOKEN: &str = "metrics-scrape-token-for-the-test";

fn python() -> PathBuf {
    std::env::var_os("TENANTLINK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"))
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root")
        .to_path_buf()
}

/// The samples of `text` as both prometheus_client parsers read it (the OpenMetrics one is
/// strict: a malformed answer fails the test here).
fn parse(text: &str) -> Value {
    let script = workspace_root().join("tests/interop/python/parse_metrics.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the test Python (TENANTLINK_PYTHON)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the scrape");
    let output = child.wait_with_output().expect("parse_metrics.py");
    assert!(
        output.status.success(),
        "prometheus_client refused the scrape: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from parse_metrics.py")
}

/// The samples named `name` whose `organization_id` label is `organization`.
fn of<'a>(samples: &'a Value, name: &str, organization: &str) -> Vec<&'a Value> {
    samples
        .as_array()
        .expect("samples")
        .iter()
        .filter(|s| s["name"] == name && s["labels"]["organization_id"] == organization)
        .collect()
}

async fn scrape(url: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut request = serve_support::client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("GET /metrics");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.text().await.unwrap_or_default(),
    )
}

async fn the_scrape_shows_the_certificate_end_behind_the_bearer_token(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let mut options = deployment.options();
    options
        .env
        .push(("TENANTLINK_METRICS_BEARER_TOKEN".into(), TOKEN.into()));
    let server = Server::start_with(&deployment.data_dir(), options);
    let url = format!("{}/metrics", server.base);

    let (status, _, _) = scrape(&url, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = scrape(&url, Some("not-the-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    let org = admin.first_organization().await;
    // Before any certificate: no end to show, and the state says so.
    let (status, content_type, text) = scrape(&url, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{content_type}"
    );
    let parsed = parse(&text);
    let openmetrics = &parsed["openmetrics"];
    assert!(
        of(
            openmetrics,
            "tenantlink_certificate_expiration_timestamp_seconds",
            &org
        )
        .is_empty()
    );
    let state = of(openmetrics, "tenantlink_certificate_state", &org);
    assert_eq!(state.len(), 1, "{text}");
    assert_eq!(state[0]["labels"]["state"], "none");

    let op = admin.signed_in_operation(&server, "generate").await;
    let (status, done) = admin.generate(&op).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    assert_eq!(done["step"], "succeeded", "{done}");
    let (_, page) = admin
        .get(&format!("/api/v1/organizations/{org}/certificate"))
        .await;
    let valid_to = OffsetDateTime::parse(
        page["active"]["valid_to"].as_str().expect("valid_to"),
        &Rfc3339,
    )
    .expect("RFC 3339");

    let (status, _, text) = scrape(&url, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let parsed = parse(&text);
    for parser in ["openmetrics", "prometheus"] {
        let expiration = of(
            &parsed[parser],
            "tenantlink_certificate_expiration_timestamp_seconds",
            &org,
        );
        assert_eq!(expiration.len(), 1, "{parser}: {text}");
        assert_eq!(
            expiration[0]["value"].as_f64(),
            Some(valid_to.unix_timestamp() as f64),
            "{parser}: the expiration is the certificate's end {valid_to}"
        );
        assert_eq!(expiration[0]["type"], "gauge", "{parser}");
    }
    let openmetrics = &parsed["openmetrics"];
    let state = of(openmetrics, "tenantlink_certificate_state", &org);
    assert_eq!(state.len(), 1, "{text}");
    assert_eq!(state[0]["labels"]["state"], "valid", "{text}");
    let renewal = of(
        openmetrics,
        "tenantlink_certificate_renewal_timestamp_seconds",
        &org,
    );
    let renewal_at = renewal[0]["value"].as_f64().expect("a renewal time");
    assert!(renewal_at < valid_to.unix_timestamp() as f64, "{text}");
    // The Generate's token proof went to Entra's token endpoint and was counted.
    let calls: Vec<&Value> = openmetrics
        .as_array()
        .expect("samples")
        .iter()
        .filter(|s| {
            s["name"] == "tenantlink_microsoft_requests_total"
                && s["labels"]["service"] == "entra"
                && s["labels"]["endpoint"] == "token"
        })
        .collect();
    assert!(
        calls.iter().any(|s| s["value"].as_f64() >= Some(1.0)),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_an_address_of_its_own_the_route_needs_no_token() {
    let Some(deployment) = Deployment::new(Backend::Sqlite) else {
        return;
    };
    let mut options = deployment.options();
    options
        .env
        .push(("TENANTLINK_METRICS_LISTEN".into(), "127.0.0.1:0".into()));
    let server = Server::start_with(&deployment.data_dir(), options);
    let url = server
        .stdout_lines
        .iter()
        .find_map(|line| line.strip_prefix("metrics at "))
        .expect("the metrics address on stdout")
        .to_owned();
    let (status, _, text) = scrape(&url, None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let parsed = parse(&text);
    let organizations: Vec<&Value> = parsed["openmetrics"]
        .as_array()
        .expect("samples")
        .iter()
        .filter(|s| s["name"] == "tenantlink_organizations")
        .collect();
    assert_eq!(organizations[0]["value"].as_f64(), Some(1.0), "{text}");
    // The portal's own address does not serve it.
    let (status, _, _) = scrape(&format!("{}/metrics", server.base), None).await;
    assert_ne!(status, StatusCode::OK);
}
