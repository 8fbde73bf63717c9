//! Issue #12, faults: what a rotation does, and what the renewal state says, when Graph throttles
//! addKey (429 with Retry-After), is unavailable (503), when the new key takes a while to reach
//! the token endpoint, when the tenant's lifetime policy refuses the new certificate, and when
//! the active certificate has already expired. On `tenantlink serve`'s embedded defaults.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use serve_support::rotation::{
    LIFETIME_DAYS, SandboxView, application_requests, assert_signs_in, audited, certificate,
    count_requests, eventually, finished_operation, key_thumbprints, rotate_now, rotations,
    start_rotation, time_of,
};
use serve_support::rotation_setup::{Rotating, admin_of, rotating};
use serve_support::scenario::assert_still_active;
use serve_support::{Backend, Session};
use std::time::Duration;

const ADD_KEY: &str = "/v1.0/applications/*/addKey";

/// The administrator's session, the organization and the sandbox of a rotating set-up.
fn parts(rotating: &Rotating) -> (&Session, &str, SandboxView<'_>) {
    (
        &rotating.admin,
        &rotating.baseline.organization,
        SandboxView::of(&rotating.server),
    )
}

/// The renewal object of the certificate resource.
async fn renewal(admin: &Session, org: &str) -> Value {
    certificate(admin, org).await["renewal"].clone()
}

/// The last failure is explained: Graph's code, its message, whether a retry can help.
fn assert_explained(renewal: &Value, retryable: bool) -> Value {
    let failure = renewal["last_failure"].clone();
    assert!(
        failure["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{renewal}"
    );
    assert!(
        failure["message"].as_str().is_some_and(|m| m.len() > 10),
        "{renewal}"
    );
    assert_eq!(failure["retryable"], retryable, "{renewal}");
    assert!(renewal["failed_attempts"].as_u64() >= Some(1), "{renewal}");
    failure
}

/// Throttled while renewal is due: the scheduler's attempt fails as retryable, the state waits
/// at least until Retry-After, and the next attempt after it succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_add_key_backs_off_until_retry_after_and_then_rotates() {
    let Some(rotating) = rotating(Backend::Sqlite).await else {
        return;
    };
    let (server, org) = (&rotating.server, &rotating.baseline.organization);
    let sandbox = SandboxView::of(server);
    sandbox
        .fault(json!({"route": ADD_KEY, "method": "POST", "kind": "status", "status": 429, "retry_after_seconds": 3600, "count": 1}))
        .await;
    // Past two thirds of the lifetime: the scheduler rotates by itself.
    sandbox
        .advance(time::Duration::days(LIFETIME_DAYS * 2 / 3 + 1))
        .await;
    let admin = admin_of(server).await;
    let failed = eventually("the throttled attempt", Duration::from_secs(60), || async {
        let renewal = renewal(&admin, org).await;
        if renewal["last_failure"].is_object() {
            Ok(renewal)
        } else {
            Err(renewal.to_string())
        }
    })
    .await;
    let failure = assert_explained(&failed, true);
    let failed_at = time_of(&failure["at"]);
    let not_before = failed_at + time::Duration::seconds(3600);
    assert!(
        time_of(&failed["next_renewal_at"]) >= not_before,
        "not retried before Retry-After: {failed}"
    );
    if !failed["retry_not_before"].is_null() {
        assert!(
            time_of(&failed["retry_not_before"]) >= not_before,
            "{failed}"
        );
    }
    assert_still_active(&admin, &rotating.baseline).await;
    let requests = sandbox.requests().await;
    assert_eq!(
        count_requests(&requests, "POST", "/addKey"),
        1,
        "{requests:?}"
    );
    let on_app = key_thumbprints(&sandbox.backup_application().await);
    assert_eq!(
        on_app,
        std::slice::from_ref(&rotating.baseline.thumbprint),
        "nothing added"
    );

    // After Retry-After the scheduler tries again, and Graph lets it.
    sandbox.advance(time::Duration::seconds(3601)).await;
    let admin = admin_of(server).await;
    let rotated = eventually(
        "the retry after Retry-After",
        Duration::from_secs(60),
        || async {
            let page = certificate(&admin, org).await;
            if page["active"]["sha1_thumbprint"] != rotating.baseline.thumbprint.as_str() {
                Ok(page)
            } else {
                Err(page.to_string())
            }
        },
    )
    .await;
    assert_eq!(rotated["renewal"]["failed_attempts"], 0, "{rotated}");
    assert!(rotated["renewal"]["last_failure"].is_null(), "{rotated}");
    let requests = sandbox.requests().await;
    assert_eq!(
        count_requests(&requests, "POST", "/addKey"),
        2,
        "{requests:?}"
    );
}

/// Graph unavailable for every addKey (a single 503 is waited out by the client's own retry):
/// the attempt fails as retryable with the code, nothing changes, and once Graph is back the
/// next attempt succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn an_unavailable_graph_fails_the_attempt_as_retryable_and_the_next_one_rotates() {
    let Some(rotating) = rotating(Backend::Sqlite).await else {
        return;
    };
    let (admin, org, sandbox) = parts(&rotating);
    sandbox
        .fault(json!({"route": ADD_KEY, "method": "POST", "kind": "status", "status": 503}))
        .await;
    let operation = start_rotation(admin, org).await;
    let failed = finished_operation(admin, &operation).await;
    assert_eq!(failed["step"], "failed", "{failed}");
    assert!(failed["failure"]["code"].is_string(), "{failed}");
    assert_explained(&renewal(admin, org).await, true);
    assert_still_active(admin, &rotating.baseline).await;
    assert_eq!(
        key_thumbprints(&sandbox.backup_application().await),
        std::slice::from_ref(&rotating.baseline.thumbprint),
        "nothing added"
    );
    let failures = audited(admin, "rotation_failed").await;
    assert_eq!(failures.len(), 1, "{failures:?}");

    // Graph is back.
    sandbox.clear_faults().await;
    let operation = start_rotation(admin, org).await;
    let done = finished_operation(admin, &operation).await;
    assert_eq!(done["step"], "succeeded", "{done}");
    let renewal = renewal(admin, org).await;
    assert_eq!(renewal["failed_attempts"], 0, "{renewal}");
    assert!(renewal["last_failure"].is_null(), "{renewal}");
    assert_signs_in(admin, org).await;
}

/// The new key reaches the token endpoint only after a while: the proof is retried until it
/// does, and the rotation succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn a_slowly_propagating_key_is_proven_once_it_arrives() {
    let Some(rotating) = rotating(Backend::Sqlite).await else {
        return;
    };
    let (admin, org, sandbox) = parts(&rotating);
    sandbox
        .post("/settings", json!({"key_propagation_delay_seconds": 6}))
        .await;
    // The delay counts from each key's attach time: the active key, attached by Generate a
    // moment ago, must have propagated before the rotation signs addKey's token with it.
    eventually("the active key usable", Duration::from_secs(30), || async {
        let application = sandbox.backup_application().await;
        let usable = application["key_credentials"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|k| k["usable_now"] == true);
        if usable {
            Ok(())
        } else {
            Err(application.to_string())
        }
    })
    .await;
    sandbox.clear_requests().await;
    let operation = start_rotation(admin, org).await;
    let done = finished_operation(admin, &operation).await;
    assert_eq!(done["step"], "succeeded", "{done}");
    let requests = sandbox.requests().await;
    let tokens: Vec<&Value> = requests
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/oauth2/v2.0/token"))
        })
        .collect();
    assert!(
        tokens.iter().any(|r| r["status"] != 200),
        "the proof met the not-yet-propagated key at least once: {tokens:?}"
    );
    assert_eq!(tokens.last().map(|r| r["status"].clone()), Some(json!(200)));
    assert_eq!(
        certificate(admin, org).await["active"]["sha1_thumbprint"],
        done["sha1_thumbprint"]
    );
    assert_signs_in(admin, org).await;
}

/// The tenant allows certificates of at most ten days: Graph refuses the 30-day one, and the
/// state says an administrator is needed, with Graph's code; no retry helps.
#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_lifetime_cap_needs_an_administrator_with_the_code() {
    let Some(rotating) = rotating(Backend::Sqlite).await else {
        return;
    };
    let (admin, org, sandbox) = parts(&rotating);
    sandbox
        .post(
            "/tenant/policy",
            json!({"max_certificate_lifetime_days": 10}),
        )
        .await;
    let operation = start_rotation(admin, org).await;
    let failed = finished_operation(admin, &operation).await;
    assert_eq!(failed["step"], "failed", "{failed}");
    let renewal = renewal(admin, org).await;
    let failure = assert_explained(&renewal, false);
    assert!(
        failure["code"]
            .as_str()
            .is_some_and(|c| c.contains("CredentialInvalidLifetimeAsPerAppPolicy")),
        "{renewal}"
    );
    assert!(
        failure["message"]
            .as_str()
            .is_some_and(|m| m.contains("Credential lifetime exceeds")),
        "Graph's message verbatim: {renewal}"
    );
    assert_eq!(renewal["state"], "needs_administrator", "{renewal}");
    assert_eq!(renewal["reason"], "refused_by_directory", "{renewal}");
    assert!(
        renewal["explanation"]
            .as_str()
            .is_some_and(|e| e.len() > 20),
        "{renewal}"
    );
    assert_still_active(admin, &rotating.baseline).await;
    assert_eq!(
        key_thumbprints(&sandbox.backup_application().await),
        std::slice::from_ref(&rotating.baseline.thumbprint)
    );
    let failures = audited(admin, "rotation_failed").await;
    assert!(
        failures.iter().any(|e| e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("CredentialInvalidLifetimeAsPerAppPolicy"))),
        "the failure is audited with its code: {failures:?}"
    );
}

/// Past the active certificate's end addKey is impossible: the state says so, and rotation asks
/// nothing of Graph.
#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_needs_an_administrator_before_graph_is_asked() {
    let Some(rotating) = rotating(Backend::Sqlite).await else {
        return;
    };
    let (server, org) = (&rotating.server, &rotating.baseline.organization);
    let sandbox = SandboxView::of(server);
    // Automatic renewal off, so the scheduler had no chance before the certificate expired;
    // then on again, past the end.
    serve_support::rotation::set_renewal_policy(&rotating.admin, org, json!({"automatic": false}))
        .await;
    sandbox
        .advance(time::Duration::days(LIFETIME_DAYS + 1))
        .await;
    let admin = admin_of(server).await;
    sandbox.clear_requests().await;
    serve_support::rotation::set_renewal_policy(&admin, org, json!({"automatic": true})).await;
    let renewal = renewal(&admin, org).await;
    assert_eq!(renewal["state"], "needs_administrator", "{renewal}");
    assert_eq!(renewal["reason"], "active_expired", "{renewal}");

    let (status, answer) = rotate_now(&admin, org).await;
    if status == StatusCode::ACCEPTED {
        let done = finished_operation(&admin, answer["id"].as_str().expect("id")).await;
        assert_eq!(done["step"], "failed", "{done}");
    } else {
        assert!(status.is_client_error(), "{status} {answer}");
        assert!(
            answer["detail"].as_str().is_some_and(|d| d.len() > 20),
            "the refusal explains itself: {answer}"
        );
    }
    let renewal = serve_support::rotation::certificate(&admin, org).await["renewal"].clone();
    assert_eq!(renewal["state"], "needs_administrator", "{renewal}");
    assert_eq!(renewal["reason"], "active_expired", "{renewal}");
    let requests = sandbox.requests().await;
    assert_eq!(
        count_requests(&requests, "POST", "/addKey"),
        0,
        "{requests:?}"
    );
    assert!(
        application_requests(&requests).is_empty(),
        "nothing asked of Graph's applications: {requests:?}"
    );
    assert!(
        rotations(&admin, org)
            .await
            .iter()
            .all(|o| o["step"] != "succeeded"),
        "no rotation succeeded"
    );
}
