//! Throttled and unavailable answers reach the caller as data: the error carries Graph's (or
//! Entra's) code and message and the `Retry-After` it gave — seconds or an HTTP-date resolved on
//! the injected clock — so the service, not this client, decides when to try again.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{APP_OBJECT_ID, CLIENT_ID, Fault, Harness, START, TestCert};
use tenantlink_entra::{
    AppTokenRequest, AssertionOptions, Error, GraphError, GraphErrorKind, KeyCredential,
    RetryPolicy, TransportConfig,
};

/// A client that gives the first answer back, so each test sees exactly the fault it set.
async fn no_retries() -> Harness {
    Harness::with_config(TransportConfig {
        retry: RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        },
        ..TransportConfig::default()
    })
    .await
}

fn graph_error(err: Error) -> GraphError {
    match err {
        Error::Graph(g) => *g,
        other => panic!("expected a Graph error, got {other:?}"),
    }
}

fn graph_fault(status: u16, code: &str, retry_after: Option<u64>) -> Fault {
    Fault::Status {
        status,
        retry_after,
        body: json!({"error": {"code": code, "message": "Please retry later."}}),
    }
}

fn entry(cert: &TestCert) -> KeyCredential {
    KeyCredential::for_certificate(&cert.der, "CN=next", cert.not_before, cert.not_after)
}

#[tokio::test]
async fn a_wait_too_long_for_the_transport_reaches_the_caller() {
    let h = Harness::start().await;
    h.server
        .push_fault(graph_fault(429, "TooManyRequests", Some(3600)));
    let g = graph_error(
        h.graph()
            .application_by_app_id("token", CLIENT_ID)
            .await
            .unwrap_err(),
    );
    assert_eq!(g.kind, GraphErrorKind::Throttled);
    assert_eq!(g.code, "TooManyRequests");
    assert_eq!(g.message, "Please retry later.");
    assert_eq!(g.retry_after, Some(Duration::from_secs(3600)));
    assert!(h.sleeper.waits().is_empty(), "not waited for here");
}

#[tokio::test]
async fn an_http_date_is_resolved_on_the_injected_clock() {
    let h = no_retries().await;
    h.server.push_fault(Fault::Raw {
        status: 429,
        // START is 2026-11-27 09:00:00 UTC, a Friday.
        headers: vec![("retry-after", "Fri, 27 Nov 2026 09:01:30 GMT".into())],
        body: json!({"error": {"code": "TooManyRequests", "message": "Too many."}}).to_string(),
    });
    let g = graph_error(
        h.graph()
            .application_by_app_id("token", CLIENT_ID)
            .await
            .unwrap_err(),
    );
    assert_eq!(g.retry_after, Some(Duration::from_secs(90)));
}

#[tokio::test]
async fn a_503_that_says_when_is_a_refusal_so_add_key_is_sent_again() {
    let h = Harness::start().await;
    let current = h.registered_cert("current");
    h.server
        .push_fault(graph_fault(503, "ServiceUnavailable", Some(4)));
    let added = h
        .graph()
        .add_key(
            "app-token",
            APP_OBJECT_ID,
            &entry(&TestCert::generate("next", START, time::Duration::days(90))),
            &current.signer(),
        )
        .await
        .unwrap();
    assert!(added.key_id.is_some());
    let calls: Vec<String> = h
        .server
        .requests("/v1.0/")
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(
        calls,
        vec!["POST", "POST"],
        "no read needed: nothing was applied"
    );
    assert_eq!(h.sleeper.waits(), vec![Duration::from_secs(4)]);
}

#[tokio::test]
async fn an_unavailable_add_key_is_graphs_error_with_its_wait_not_an_unknown_outcome() {
    let h = no_retries().await;
    let current = h.registered_cert("current");
    h.server
        .push_fault(graph_fault(503, "ServiceUnavailable", Some(30)));
    let g = graph_error(
        h.graph()
            .add_key(
                "app-token",
                APP_OBJECT_ID,
                &entry(&TestCert::generate("next", START, time::Duration::days(90))),
                &current.signer(),
            )
            .await
            .unwrap_err(),
    );
    assert!(g.is_unavailable());
    assert_eq!(g.code, "ServiceUnavailable");
    assert_eq!(g.retry_after, Some(Duration::from_secs(30)));
    assert_eq!(h.server.key_ids().len(), 1, "nothing added");
}

#[tokio::test]
async fn a_gateways_throttling_page_keeps_its_status_and_wait() {
    let h = no_retries().await;
    h.server.push_fault(Fault::Raw {
        status: 429,
        headers: vec![("retry-after", "12".into())],
        body: "<html>slow down</html>".into(),
    });
    let g = graph_error(
        h.graph()
            .application_by_app_id("token", CLIENT_ID)
            .await
            .unwrap_err(),
    );
    assert_eq!(g.kind, GraphErrorKind::Throttled);
    assert_eq!(g.code, "", "no Graph code to quote");
    assert_eq!(g.retry_after, Some(Duration::from_secs(12)));
}

#[tokio::test]
async fn entras_temporarily_unavailable_token_answer_carries_its_wait() {
    let h = no_retries().await;
    let cert = h.registered_cert("current");
    h.server.push_fault(Fault::Status {
        status: 503,
        retry_after: Some(20),
        body: tenantlink_entra::test_util::error_body(
            "temporarily_unavailable",
            90033,
            "A transient error has occurred. Please try again.",
        ),
    });
    let err = h
        .tokens()
        .fetch(
            AppTokenRequest {
                tenant: &h.tenant(),
                client_id: CLIENT_ID,
                scope: "https://graph.microsoft.com/.default",
                assertion: AssertionOptions::default(),
            },
            &cert.signer(),
        )
        .await
        .unwrap_err();
    let Error::Entra(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.error, "temporarily_unavailable");
    assert!(e.has_code(90033));
    assert_eq!(e.retry_after, Some(Duration::from_secs(20)));
}
