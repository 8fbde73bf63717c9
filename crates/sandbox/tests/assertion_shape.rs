//! An application told to accept one assertion shape refuses the other with Entra's codes for an
//! unsupported algorithm (AADSTS5002738) or a missing key identifier (AADSTS5002723), and
//! accepts every shape again once the requirement is lifted.

mod common;

use common::{AssertionStyle, Fixture, TestCertificate, aadsts};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tenantlink_jose::Algorithm;

fn rs256() -> AssertionStyle {
    AssertionStyle::default()
}

fn ps256() -> AssertionStyle {
    AssertionStyle {
        alg: Algorithm::PS256,
        sha256: true,
        ..AssertionStyle::default()
    }
}

struct Setup {
    fx: Fixture,
    certificate: TestCertificate,
}

impl Setup {
    async fn start() -> Self {
        let fx = Fixture::start().await;
        let certificate = TestCertificate::valid_for_days(fx.now(), 30);
        fx.attach(&[&certificate]).await;
        Self { fx, certificate }
    }

    fn path(&self) -> String {
        format!(
            "/applications/{}/assertion_shape",
            self.fx.info().backup_app.app_id
        )
    }

    async fn require(&self, accept: Value) -> (StatusCode, Value) {
        self.fx
            .control(&self.path(), json!({ "accept": accept }))
            .await
    }

    async fn token(&self, style: AssertionStyle) -> (StatusCode, Value) {
        let assertion = self.certificate.assertion(
            &self.fx.info().backup_app.app_id,
            &self.fx.token_url(),
            self.fx.now(),
            style,
        );
        self.fx.client_credentials(&assertion).await
    }
}

#[tokio::test]
async fn ps256_only_refuses_rs256_with_5002738_and_accepts_ps256() {
    let s = Setup::start().await;
    let (status, body) = s.require(json!("ps256")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accept"], "ps256");

    let (status, body) = s.token(rs256()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    let (code, text) = aadsts(&body);
    assert_eq!(code, 5002738);
    assert_eq!(
        text,
        "AADSTS5002738: Invalid JWT token. 'RS256' is not a supported signature algorithm. Supported signing algorithms are: 'PS256'"
    );

    // PS256 naming the certificate by its SHA-1 only: no key identifier this app uses.
    let (status, body) = s
        .token(AssertionStyle {
            sha256: false,
            ..ps256()
        })
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(aadsts(&body).0, 5002723);

    let (status, body) = s.token(ps256()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn rs256_only_refuses_ps256_and_null_lifts_the_requirement() {
    let s = Setup::start().await;
    assert_eq!(s.require(json!("rs256")).await.0, StatusCode::OK);
    let (status, body) = s.token(ps256()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (code, text) = aadsts(&body);
    assert_eq!(code, 5002738);
    assert!(text.contains("'PS256' is not a supported"), "{text}");
    assert!(
        text.ends_with("Supported signing algorithms are: 'RS256'"),
        "{text}"
    );
    assert_eq!(s.token(rs256()).await.0, StatusCode::OK);

    let (status, body) = s.require(Value::Null).await;
    assert_eq!((status, &body["accept"]), (StatusCode::OK, &Value::Null));
    assert_eq!(s.token(ps256()).await.0, StatusCode::OK);
    assert_eq!(s.token(rs256()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn bad_requests_name_the_problem() {
    let s = Setup::start().await;
    let (status, body) = s.require(json!("es256")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, body) = s.fx.control(&s.path(), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("'accept' is required")
    );
    let (status, body) =
        s.fx.control(
            "/applications/00000000-0000-0000-0000-000000000000/assertion_shape",
            json!({"accept": "ps256"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_application"))
    );
    // Without a requirement, every shape passes (the default).
    assert_eq!(s.token(rs256()).await.0, StatusCode::OK);
    assert_eq!(s.token(ps256()).await.0, StatusCode::OK);
}
