//! Webhook deliveries against a real local receiver, the signature judged by the Standard
//! Webhooks reference library (Python `standardwebhooks`, third-party), not by our own code.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;
use tenantlink_notify::WebhookSender;
use tenantlink_service::SecretString;
use tenantlink_service::notices::WebhookMessage;
use tenantlink_test_support::{Answer, ReceivedRequest, WebhookReceiver, python};
use time::OffsetDateTime;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn message() -> WebhookMessage {
    WebhookMessage {
        id: "01JD7X3Q9Z8K2M4N6P8R0T2V4X".to_owned(),
        // The reference library refuses a timestamp more than five minutes off its clock.
        timestamp: OffsetDateTime::now_utc(),
        body: r#"{"type":"certificate.expiring","data":{"days_left":14,"name":"Contoso – Ü"}}"#
            .to_owned(),
    }
}

/// What `standardwebhooks.Webhook(secret).verify(body, headers)` says about a received request.
fn reference_verdict(secret: &str, request: &ReceivedRequest) -> String {
    const VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
given = json.load(sys.stdin)
try:
    Webhook(given["secret"]).verify(given["body"], given["headers"])
    print("verified")
except WebhookVerificationError as e:
    print("rejected: %s" % e)
"#;
    let mut child = Command::new(python())
        .arg("-c")
        .arg(VERIFY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the test Python");
    let input = serde_json::json!({
        "secret": secret,
        "body": request.body,
        "headers": request.headers,
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the verifier failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn a_delivery_is_verified_by_the_reference_library_with_its_secret_only() {
    let receiver = WebhookReceiver::start();
    let sender = WebhookSender::new().unwrap();
    let message = message();

    let status = sender
        .send(
            &receiver.url("/hooks/tenantlink?team=ops"),
            &SecretString::new(SECRET),
            &message,
        )
        .await
        .unwrap();

    assert_eq!(status, 200);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "one attempt, one request");
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/tenantlink?team=ops");
    assert_eq!(request.body, message.body);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("webhook-id"), Some(message.id.as_str()));
    assert_eq!(
        request.header("webhook-timestamp"),
        Some(message.timestamp.unix_timestamp().to_string().as_str())
    );
    assert!(
        request
            .header("webhook-signature")
            .unwrap()
            .starts_with("v1,")
    );

    assert_eq!(reference_verdict(SECRET, request), "verified");
    let other = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let verdict = reference_verdict(other, request);
    assert!(verdict.starts_with("rejected"), "{verdict}");
}

#[tokio::test]
async fn a_tampered_body_is_rejected_by_the_reference_library() {
    let receiver = WebhookReceiver::start();
    WebhookSender::new()
        .unwrap()
        .send(&receiver.url("/"), &SecretString::new(SECRET), &message())
        .await
        .unwrap();
    let mut request = receiver.requests().remove(0);
    request.body = request.body.replace("14", "41");
    assert!(reference_verdict(SECRET, &request).starts_with("rejected"));
}

#[tokio::test]
async fn an_error_answer_is_a_failure_with_its_status_and_the_next_answer_is_a_delivery() {
    let receiver = WebhookReceiver::start();
    receiver.answer_next(2, Answer::Status(500));
    let sender = WebhookSender::new().unwrap();
    let secret = SecretString::new(SECRET);
    let message = message();

    for _ in 0..2 {
        let err = sender
            .send(&receiver.url("/"), &secret, &message)
            .await
            .unwrap_err();
        assert_eq!(err.status_code, Some(500));
        assert_eq!(
            err.message,
            "the endpoint answered HTTP 500 Internal Server Error"
        );
        assert!(
            !err.message.contains("MfKQ9r8"),
            "no secret in the log: {err}"
        );
    }
    assert_eq!(
        sender.send(&receiver.url("/"), &secret, &message).await,
        Ok(200)
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests
            .iter()
            .all(|r| r.header("webhook-id") == Some(message.id.as_str())),
        "every attempt carries the same id, so a receiver can drop duplicates"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_is_a_failure_naming_where_it_pointed() {
    let receiver = WebhookReceiver::start();
    let elsewhere = WebhookReceiver::start();
    let location = elsewhere.url("/stolen");
    receiver.answer_next(
        1,
        Answer::Redirect {
            status: 307,
            location: location.clone(),
        },
    );

    let err = WebhookSender::new()
        .unwrap()
        .send(&receiver.url("/"), &SecretString::new(SECRET), &message())
        .await
        .unwrap_err();

    assert_eq!(err.status_code, Some(307));
    assert!(err.message.contains("HTTP 307 Temporary Redirect"), "{err}");
    assert!(err.message.contains(&location), "{err}");
    assert!(err.message.contains("redirects are not followed"), "{err}");
    assert_eq!(receiver.requests().len(), 1);
    assert!(
        elsewhere.requests().is_empty(),
        "the signed body went nowhere else"
    );
}

#[tokio::test]
async fn clear_text_to_another_host_is_refused_before_any_connection() {
    let sender = WebhookSender::new().unwrap();
    let secret = SecretString::new(SECRET);
    // `.invalid` never resolves: a connection attempt would fail with a DNS error instead.
    for url in [
        "http://hooks.example.invalid/x",
        "http://10.0.0.1:9/x",
        "ftp://127.0.0.1/x",
    ] {
        let err = sender.send(url, &secret, &message()).await.unwrap_err();
        assert_eq!(err.status_code, None);
        assert!(
            err.message.starts_with("refused to send to"),
            "{url}: {err}"
        );
        assert!(err.message.contains("HTTPS"), "{url}: {err}");
    }
    let err = sender
        .send("not a url", &secret, &message())
        .await
        .unwrap_err();
    assert!(err.message.contains("not a URL"), "{err}");
}

#[tokio::test]
async fn a_closed_port_is_reported_as_connection_refused() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = WebhookSender::new()
        .unwrap()
        .send(
            &format!("http://127.0.0.1:{port}/"),
            &SecretString::new(SECRET),
            &message(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status_code, None);
    assert_eq!(
        err.message,
        format!("connection refused by 127.0.0.1:{port}")
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_a_timeout() {
    // Accepts the connection (the kernel's backlog) and never reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", silent.local_addr().unwrap());
    let err = WebhookSender::with_timeout(Duration::from_millis(300))
        .unwrap()
        .send(&url, &SecretString::new(SECRET), &message())
        .await
        .unwrap_err();
    assert_eq!(err.status_code, None);
    assert!(err.message.contains("(timeout)"), "{err}");
}

#[tokio::test]
async fn an_https_endpoint_without_a_trusted_certificate_is_a_tls_failure() {
    // A plain-HTTP server behind an https:// URL fails the TLS handshake.
    let receiver = WebhookReceiver::start();
    let url = format!("https://localhost:{}/", receiver.address().port());
    let err = WebhookSender::new()
        .unwrap()
        .send(&url, &SecretString::new(SECRET), &message())
        .await
        .unwrap_err();
    assert_eq!(err.status_code, None);
    assert!(err.message.starts_with("TLS with localhost:"), "{err}");
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_secret_that_cannot_key_a_signature_fails_without_sending_or_showing_it() {
    let receiver = WebhookReceiver::start();
    let err = WebhookSender::new()
        .unwrap()
        .send(
            &receiver.url("/"),
            &SecretString::new("whsec_%%%secret%%%"),
            &message(),
        )
        .await
        .unwrap_err();
    assert!(err.message.contains("signing secret"), "{err}");
    assert!(!err.message.contains("%%%secret"), "{err}");
    assert!(receiver.requests().is_empty());
}
