//! The renewal policy and status through the API of the real binary on the sandbox: the
//! organization shows its default policy; the certificate resource's `renewal` object says an
//! administrator is needed while no certificate is active, and after Generate plans the renewal
//! at two thirds of the lifetime (less a jitter of at most a day); PATCH changes the policy (and
//! the status follows), refuses a bad value with a 422 naming the field and changing nothing,
//! and each change is audited. SQLite and PostgreSQL.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Session, log_in};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

on_both_backends!(the_renewal_policy_is_read_changed_and_shown_with_the_certificate);

async fn patch(session: &Session, path: &str, body: Value) -> (StatusCode, Value) {
    let response = session
        .client
        .patch(format!("{}{path}", session.base))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .json(&body)
        .send()
        .await
        .expect("PATCH");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn time_of(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a time"), &Rfc3339).expect("RFC 3339")
}

async fn the_renewal_policy_is_read_changed_and_shown_with_the_certificate(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    let org = admin.first_organization().await;
    let org_path = format!("/api/v1/organizations/{org}");
    let certificate_path = format!("{org_path}/certificate");

    let (_, organization) = admin.get(&org_path).await;
    assert_eq!(
        organization["renewal_policy"],
        json!({
            "automatic": true,
            "lifetime_days": null,
            "tenant_max_lifetime_days": null,
            "renew_at_fraction": "2/3",
            "jitter_seconds": 86400,
            "backoff_base_seconds": 300,
            "backoff_cap_seconds": 86400,
            "uploaded": "warn_only",
        }),
        "{organization}"
    );
    let (_, page) = admin.get(&certificate_path).await;
    assert_eq!(page["renewal"]["state"], "needs_administrator", "{page}");
    assert_eq!(page["renewal"]["reason"], "no_active_certificate", "{page}");

    // A certificate: renewal is planned at two thirds of its life, up to a day earlier.
    let op = admin.signed_in_operation(&server, "generate").await;
    let (status, done) = admin.generate(&op).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    assert_eq!(done["step"], "succeeded", "{done}");
    let (_, page) = admin.get(&certificate_path).await;
    let renewal = &page["renewal"];
    assert_eq!(renewal["state"], "not_due", "{page}");
    assert_eq!(renewal["automatic"], true, "{page}");
    assert_eq!(renewal["failed_attempts"], 0, "{page}");
    assert!(renewal["last_failure"].is_null(), "{page}");
    let valid_from = time_of(&page["active"]["valid_from"]);
    let valid_to = time_of(&page["active"]["valid_to"]);
    let planned = valid_from + (valid_to - valid_from) * 2 / 3;
    let next = time_of(&renewal["next_renewal_at"]);
    assert!(
        next <= planned && next >= planned - time::Duration::days(1),
        "{next} against {planned}"
    );

    // The certificate page shows the same plan.
    let (_, html) = admin
        .get_text(&format!("/organizations/{org}/settings/system"))
        .await;
    assert!(
        html.contains(r#"id="renewal-state" data-state="not_due""#),
        "{html}"
    );
    assert!(html.contains("Planned for"), "{html}");

    // Bad values: 422 naming the field, and nothing changes.
    for (body, field) in [
        (
            json!({"renew_at_fraction": "3/2"}),
            "renewal_policy.renew_at_fraction",
        ),
        (
            json!({"jitter_seconds": "a day"}),
            "renewal_policy.jitter_seconds",
        ),
        (
            json!({"backoff_cap_seconds": 1}),
            "renewal_policy.backoff_cap_seconds",
        ),
        (json!({"uploaded": "replace"}), "renewal_policy.uploaded"),
        (json!({"lifetime_days": 0}), "renewal_policy.lifetime_days"),
        (json!({"renew_before": 30}), "renewal_policy.renew_before"),
    ] {
        let (status, problem) = patch(&admin, &org_path, json!({"renewal_policy": body})).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["field"], field, "{problem}");
    }
    let (_, unchanged) = admin.get(&org_path).await;
    assert_eq!(
        unchanged["renewal_policy"], organization["renewal_policy"],
        "{unchanged}"
    );

    // Changed: the answer and the status follow.
    let (status, changed) = patch(
        &admin,
        &org_path,
        json!({"renewal_policy": {"automatic": false, "renew_at_fraction": "3/4", "lifetime_days": 90}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["renewal_policy"]["automatic"], false, "{changed}");
    assert_eq!(
        changed["renewal_policy"]["renew_at_fraction"], "3/4",
        "{changed}"
    );
    assert_eq!(changed["renewal_policy"]["lifetime_days"], 90, "{changed}");
    assert_eq!(
        changed["renewal_policy"]["jitter_seconds"], 86400,
        "{changed}"
    );
    let (_, page) = admin.get(&certificate_path).await;
    assert_eq!(page["renewal"]["state"], "disabled", "{page}");
    assert!(page["renewal"]["next_renewal_at"].is_null(), "{page}");
    let (status, _) = patch(
        &admin,
        &org_path,
        json!({"renewal_policy": {"automatic": true, "lifetime_days": null}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = admin.get(&certificate_path).await;
    assert_eq!(page["renewal"]["state"], "not_due", "{page}");
    let next = time_of(&page["renewal"]["next_renewal_at"]);
    let planned = valid_from + (valid_to - valid_from) * 3 / 4;
    assert!(
        next <= planned && next >= planned - time::Duration::days(1),
        "{next} against {planned}"
    );

    // Two changes, two audit entries, with from and to.
    let (_, audit) = admin.get("/api/v1/audit").await;
    let changes: Vec<_> = audit
        .as_array()
        .expect("audit entries")
        .iter()
        .filter(|e| e["action"] == "renewal_policy_changed")
        .collect();
    assert_eq!(changes.len(), 2, "{audit}");
    assert!(
        changes.iter().any(|e| e["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("automatic=true")
            && e["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("→ automatic=false")),
        "{audit}"
    );
}
