//! Rotate now through the API of the real binary on the sandbox: refused for Viewers and
//! Operators (403) and, without an active certificate, with a problem saying rotation cannot
//! help; for an Administrator with an active certificate, 202 with `Location`, followed to a
//! succeeded rotate operation whose certificate is the new active one, the previous key listed
//! in `renewal.previous_key` with its planned removal, and the rotation audited with both
//! thumbprints. The certificate resource's `renewal` object carries its fields throughout; the
//! `[renewal]` settings stop the start when out of bounds. SQLite and PostgreSQL.

mod config_support;
mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use serve_support::scenario::{active_certificate, certificate_page};
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Session, log_in};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

on_both_backends!(
    rotate_now_is_refused_without_an_active_certificate_and_for_other_roles,
    rotate_now_answers_202_and_the_rotation_replaces_the_key_with_an_overlap,
);

/// The overlap grace `serve` uses by default (`renewal.overlap_grace_hours`).
const DEFAULT_GRACE: time::Duration = time::Duration::hours(72);

/// POST …/rotate: the status, the `Location` header and the body.
async fn rotate(session: &Session, organization: &str) -> (StatusCode, Option<String>, Value) {
    let response = session
        .client
        .post(format!(
            "{}/api/v1/organizations/{organization}/rotate",
            session.base
        ))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .send()
        .await
        .expect("POST rotate");
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().expect("ASCII location").to_owned());
    let is_problem = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        assert!(is_problem, "a refusal is a problem detail: {status} {body}");
    }
    (status, location, body)
}

fn time_of(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a time"), &Rfc3339).expect("RFC 3339")
}

/// The `renewal` object has every field the API documents, whatever their values.
fn assert_renewal_fields(page: &Value) {
    let renewal = page["renewal"].as_object().expect("a renewal object");
    for field in [
        "automatic",
        "state",
        "reason",
        "explanation",
        "next_renewal_at",
        "failed_attempts",
        "last_failure",
        "previous_key",
    ] {
        assert!(renewal.contains_key(field), "renewal.{field}: {page}");
    }
    assert!(renewal["automatic"].is_boolean(), "{page}");
    assert!(renewal["failed_attempts"].is_u64(), "{page}");
}

/// The service on `backend` with the administrator signed in; `None` when the backend is skipped.
async fn started(backend: Backend) -> Option<(serve_support::Server, Session)> {
    let server = Deployment::new(backend)?.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    Some((server, admin))
}

async fn new_session(server: &serve_support::Server, admin: &Session, role: &str) -> Session {
    let name = format!("{role}-account");
    let password = format!("{role}-password-2718");
    let (status, body) = admin
        .post(
            "/api/v1/users",
            json!({"username": name, "password": password, "role": role}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    log_in(&server.base, &name, &password)
        .await
        .expect("signs in")
}

async fn rotate_now_is_refused_without_an_active_certificate_and_for_other_roles(backend: Backend) {
    let Some((server, admin)) = started(backend).await else {
        return;
    };
    let org = admin.first_organization().await;

    // No active certificate: addKey has nothing to prove possession with.
    let page = certificate_page(&admin, &org).await;
    assert_renewal_fields(&page);
    assert_eq!(page["renewal"]["state"], "needs_administrator", "{page}");
    assert!(page["renewal"]["previous_key"].is_null(), "{page}");
    let (status, location, problem) = rotate(&admin, &org).await;
    assert!(
        status == StatusCode::CONFLICT || status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status} {problem}"
    );
    assert!(location.is_none(), "nothing to follow");
    assert!(
        problem["detail"].as_str().is_some_and(|d| d.len() > 20),
        "the problem says why: {problem}"
    );

    // With a certificate, only Administrators may rotate.
    let baseline = active_certificate(&server, &admin).await;
    for role in ["viewer", "operator"] {
        let session = new_session(&server, &admin, role).await;
        let (status, _, problem) = rotate(&session, &org).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {problem}");
        assert_eq!(problem["type"], "/problems/forbidden", "{problem}");
        // A Viewer still reads the renewal state.
        assert_renewal_fields(&certificate_page(&session, &org).await);
    }
    let (_, operations) = admin
        .get(&format!("/api/v1/organizations/{org}/operations"))
        .await;
    let kinds: Vec<&str> = operations
        .as_array()
        .expect("operations")
        .iter()
        .map(|o| o["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["generate"], "no rotation was started: {operations}");
    serve_support::scenario::assert_still_active(&admin, &baseline).await;
}

async fn rotate_now_answers_202_and_the_rotation_replaces_the_key_with_an_overlap(
    backend: Backend,
) {
    let Some((server, admin)) = started(backend).await else {
        return;
    };
    let baseline = active_certificate(&server, &admin).await;
    let org = baseline.organization.clone();
    let before = certificate_page(&admin, &org).await;
    assert_renewal_fields(&before);
    assert_eq!(before["renewal"]["state"], "not_due", "{before}");
    assert!(before["renewal"]["previous_key"].is_null(), "{before}");

    let (status, location, started) = rotate(&admin, &org).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["kind"], "rotate", "{started}");
    assert_eq!(started["started_by"], "admin", "{started}");
    assert!(started["sign_in"].is_null(), "no device sign-in: {started}");
    let id = started["id"].as_str().expect("operation id");
    assert_eq!(
        location.as_deref(),
        Some(&*format!("/api/v1/operations/{id}"))
    );

    // Following the Location to the outcome.
    let (status, followed) = admin.get(&location.expect("location")).await;
    assert_eq!(status, StatusCode::OK, "{followed}");
    assert_eq!(followed["id"], id, "{followed}");
    let done = admin
        .wait_for(id, |op| {
            matches!(op["step"].as_str(), Some("succeeded" | "failed"))
        })
        .await;
    assert_eq!(done["step"], "succeeded", "{done}");
    let new_thumbprint = done["sha1_thumbprint"].as_str().expect("thumbprint");
    assert_ne!(new_thumbprint, baseline.thumbprint, "{done}");

    // The new certificate is active; the previous key overlaps until its planned removal.
    let after = certificate_page(&admin, &org).await;
    assert_renewal_fields(&after);
    assert_eq!(
        after["active"]["sha1_thumbprint"], new_thumbprint,
        "{after}"
    );
    assert_eq!(after["renewal"]["failed_attempts"], 0, "{after}");
    assert!(after["renewal"]["last_failure"].is_null(), "{after}");
    let previous = &after["renewal"]["previous_key"];
    assert_eq!(
        previous["sha1_thumbprint"],
        baseline.thumbprint.as_str(),
        "{after}"
    );
    let retired_at = time_of(&previous["retired_at"]);
    let old_end = time_of(&before["active"]["valid_to"]);
    assert_eq!(
        time_of(&previous["planned_removal_at"]),
        (retired_at + DEFAULT_GRACE).min(old_end),
        "{after}"
    );

    // Audited with the old and the new thumbprint.
    let (_, audit) = admin.get("/api/v1/audit").await;
    let rotated = audit
        .as_array()
        .expect("audit")
        .iter()
        .find(|e| e["action"] == "certificate_rotated")
        .unwrap_or_else(|| panic!("a certificate_rotated entry: {audit}"));
    let thumbprints = rotated["thumbprints"].as_array().expect("thumbprints");
    assert!(
        thumbprints.contains(&json!(baseline.thumbprint))
            && thumbprints.contains(&json!(new_thumbprint)),
        "{rotated}"
    );
}

#[test]
fn renewal_settings_out_of_bounds_stop_the_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    for (var, value, range) in [
        (
            "TENANTLINK_RENEWAL_CHECK_EVERY_SECONDS",
            "0",
            "use 5 to 3600",
        ),
        ("TENANTLINK_RENEWAL_MAX_IN_FLIGHT", "65", "use 1 to 64"),
        (
            "TENANTLINK_RENEWAL_OVERLAP_GRACE_HOURS",
            "1000",
            "use 0 to 720",
        ),
        ("TENANTLINK_RENEWAL_LEASE_SECONDS", "10", "use 60 to 3600"),
    ] {
        let stderr = config_support::serve_refuses(
            &["--data-dir", data_arg, "--listen", "127.0.0.1:0"],
            &[(var, value)],
        );
        assert!(
            stderr.starts_with("error: config: ")
                && stderr.contains(&format!("({var}) is out of range: {range}")),
            "{stderr}"
        );
    }
    let config = dir.path().join("tenantlink.toml");
    std::fs::write(&config, "[renewal]\nmax_in_flight = \"four\"\n").unwrap();
    let stderr = config_support::serve_refuses(
        &["--config", config.to_str().unwrap(), "--data-dir", data_arg],
        &[],
    );
    assert!(
        stderr.contains("line 2, key `renewal.max_in_flight`") && stderr.contains("expected u32"),
        "{stderr}"
    );
    assert!(
        !data.join("tenantlink.db").exists(),
        "nothing was created by a refused start"
    );
}
