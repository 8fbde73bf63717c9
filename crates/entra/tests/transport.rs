//! Retries, Retry-After, timeouts and client-request-ids, observed through a sleeper that
//! records every wait (nothing actually sleeps).

mod support;

use std::time::Duration;

use serde_json::json;
use support::{APP_OBJECT_ID, CLIENT_ID, Fault, Harness, START, TestCert};
use tenantlink_entra::{
    Error, GraphErrorKind, KeyCredential, RetryPolicy, TransportConfig, TransportError,
};

fn throttled(retry_after: Option<u64>) -> Fault {
    Fault::Status {
        status: 429,
        retry_after,
        body: json!({"error": {"code": "TooManyRequests", "message": "Too many requests."}}),
    }
}

fn unavailable(status: u16) -> Fault {
    Fault::Status {
        status,
        retry_after: None,
        body: json!({"error": {"code": "ServiceUnavailable", "message": "busy"}}),
    }
}

#[tokio::test]
async fn throttling_honours_retry_after_then_succeeds() {
    let h = Harness::start().await;
    h.registered_cert("app");
    h.server.push_fault(throttled(Some(7)));
    h.server.push_fault(throttled(Some(2)));
    let app = h
        .graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap();
    assert_eq!(app.id, APP_OBJECT_ID);
    assert_eq!(
        h.sleeper.waits(),
        vec![Duration::from_secs(7), Duration::from_secs(2)]
    );
    let calls = h.server.requests("/v1.0/");
    assert_eq!(calls.len(), 3);
    assert!(
        calls
            .iter()
            .all(|c| c.client_request_id == calls[0].client_request_id),
        "one id per logical call"
    );
    assert!(uuid::Uuid::parse_str(calls[0].client_request_id.as_deref().unwrap()).is_ok());
}

#[tokio::test]
async fn unavailable_is_retried_with_exponential_backoff() {
    let h = Harness::start().await;
    h.registered_cert("app");
    h.server.push_fault(unavailable(503));
    h.server.push_fault(unavailable(504));
    h.server.push_fault(unavailable(503));
    h.graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap();
    let ms: Vec<u128> = h.sleeper.waits().iter().map(Duration::as_millis).collect();
    assert_eq!(ms, vec![200, 400, 800]);
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_report_throttling() {
    let h = Harness::start().await;
    for _ in 0..4 {
        h.server.push_fault(throttled(None));
    }
    let err = h
        .graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap_err();
    let Error::Graph(g) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(g.kind, GraphErrorKind::Throttled);
    assert_eq!(
        h.server.requests("/v1.0/").len(),
        4,
        "first attempt + 3 retries"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_not_waited_for() {
    let h = Harness::start().await;
    h.server.push_fault(throttled(Some(3600)));
    let err = h
        .graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Graph(_)), "{err:?}");
    assert!(h.sleeper.waits().is_empty());
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let h = Harness::with_config(TransportConfig {
        total_timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::default()
        },
        ..TransportConfig::default()
    })
    .await;
    h.server.push_fault(Fault::Hang);
    h.server.push_fault(Fault::Hang);
    let err = h
        .graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(TransportError::Timeout { attempts: 2, .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_write_that_did_not_happen_is_written_again_after_a_read() {
    let h = Harness::start().await;
    h.registered_cert("app");
    let new = TestCert::generate("new", START, time::Duration::days(180));
    let entry = KeyCredential::for_certificate(&new.der, "CN=new", new.not_before, new.not_after);
    // GET, re-check GET, then the PATCH is refused with 503 before being applied.
    h.server.pass_then_fault(2, unavailable(503));
    let outcome = h
        .graph()
        .attach_certificate("token", CLIENT_ID, &entry)
        .await
        .unwrap();
    assert!(!outcome.already_attached);
    assert_eq!(
        methods(&h),
        vec!["GET", "GET", "PATCH", "GET", "PATCH", "GET"]
    );
    assert_eq!(h.server.key_ids().len(), 2);
    assert!(
        h.sleeper.waits().is_empty(),
        "a write is not retried on a timer"
    );
}

#[tokio::test]
async fn a_write_that_happened_is_not_repeated() {
    let h = Harness::start().await;
    h.registered_cert("app");
    let new = TestCert::generate("new", START, time::Duration::days(180));
    let entry = KeyCredential::for_certificate(&new.der, "CN=new", new.not_before, new.not_after);
    // The PATCH is applied, but the answer is lost (504 from a gateway).
    h.server.pass_then_fault(2, Fault::ApplyThenStatus(504));
    h.graph()
        .attach_certificate("token", CLIENT_ID, &entry)
        .await
        .unwrap();
    assert_eq!(methods(&h), vec!["GET", "GET", "PATCH", "GET", "GET"]);
    assert_eq!(h.server.key_ids().len(), 2);
}

fn methods(h: &Harness) -> Vec<String> {
    h.server
        .state
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.method.clone())
        .collect()
}
