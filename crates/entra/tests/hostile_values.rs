//! Values from Entra and Graph that no real service sends: lifetimes of thousands of years,
//! poll intervals of years, a `Retry-After` of u64::MAX, bodies larger than the cap. Each is
//! refused (or not waited for) with a specific error; none panics or hangs.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{CLIENT_ID, Fault, Harness, TestCert};
use tenantlink_entra::{
    AppTokenRequest, AssertionOptions, Error, GraphErrorKind, RetryPolicy, TransportConfig,
    TransportError,
};

const SCOPE: &str = "https://graph.microsoft.com/.default";

async fn fetch_token(h: &Harness, cert: &TestCert) -> Result<tenantlink_entra::AppToken, Error> {
    let tenant = h.tenant();
    h.tokens()
        .fetch(
            AppTokenRequest {
                tenant: &tenant,
                client_id: CLIENT_ID,
                scope: SCOPE,
                assertion: AssertionOptions::default(),
            },
            &cert.signer(),
        )
        .await
}

fn refused_field(err: &Error, expected_context: &str, field: &str) {
    match err {
        Error::UnexpectedResponse {
            service: "Entra ID",
            context,
            detail,
        } => {
            assert_eq!(*context, expected_context);
            assert!(detail.contains(&format!("`{field}`")), "{detail}");
        }
        other => panic!("expected the absurd {field} to be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn an_absurd_token_lifetime_is_refused_not_a_panic() {
    let h = Harness::start().await;
    let cert = h.registered_cert("app");
    *h.server.state.expires_in.lock().unwrap() = 1_000_000_000_000;
    let err = fetch_token(&h, &cert).await.unwrap_err();
    refused_field(&err, "token response", "expires_in");

    // The client is unharmed: a sane answer afterwards is a token.
    *h.server.state.expires_in.lock().unwrap() = 3599;
    let token = fetch_token(&h, &cert).await.unwrap();
    assert_eq!(
        token.expires_at,
        support::START + time::Duration::seconds(3599)
    );
}

fn device_code_answer(expires_in: u64, interval: u64) -> Fault {
    Fault::Status {
        status: 200,
        retry_after: None,
        body: json!({
            "user_code": "BPPVYQZMA",
            "device_code": "DEVICE-CODE-SECRET",
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": expires_in,
            "interval": interval,
        }),
    }
}

#[tokio::test]
async fn an_absurd_device_code_lifetime_or_interval_is_refused() {
    let h = Harness::start().await;
    let scopes = vec!["https://graph.microsoft.com/Application.ReadWrite.All".to_owned()];
    for (fault, field) in [
        (device_code_answer(u64::MAX, 5), "expires_in"),
        (device_code_answer(900, 1_000_000_000_000), "interval"),
    ] {
        h.server.push_fault(fault);
        let err = h
            .device()
            .start(&h.tenant(), CLIENT_ID, &scopes)
            .await
            .unwrap_err();
        refused_field(&err, "device code response", field);
    }
    assert!(h.sleeper.waits().is_empty(), "nothing was waited for");
}

#[tokio::test]
async fn a_retry_after_of_u64_max_is_not_waited_for() {
    let h = Harness::start().await;
    h.server.push_fault(Fault::Status {
        status: 429,
        retry_after: Some(u64::MAX),
        body: json!({"error": {"code": "TooManyRequests", "message": "Too many requests."}}),
    });
    let err = h
        .graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap_err();
    let Error::Graph(graph) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(graph.kind, GraphErrorKind::Throttled);
    assert!(h.sleeper.waits().is_empty());
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_and_not_retried() {
    let h = Harness::with_config(TransportConfig {
        max_response_bytes: 4096,
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
        },
        ..TransportConfig::default()
    })
    .await;
    h.server.push_fault(Fault::Status {
        status: 200,
        retry_after: None,
        body: json!({"value": ["x".repeat(10_000)]}),
    });
    let err = h
        .graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap_err();
    match &err {
        Error::Transport(TransportError::ResponseTooLarge { limit, .. }) => {
            assert_eq!(*limit, 4096)
        }
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
    assert!(err.to_string().contains("larger than 4096 bytes"), "{err}");
    assert_eq!(h.server.requests("/v1.0/").len(), 1, "not retried");

    // An answer under the cap still reads.
    h.registered_cert("app");
    h.graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap();
}
