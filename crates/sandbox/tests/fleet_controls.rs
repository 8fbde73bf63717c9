//! The controls benchmarks use: bulk registration of applications with certificates, the token
//! endpoint's counters, and HS256 access tokens (no RSA operation per token) that Graph accepts.

mod common;

use common::{AssertionStyle, Fixture, TestCertificate};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn stats(fx: &Fixture) -> Value {
    fx.http
        .get(fx.url("/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&tenantlink_jose::b64url_decode_lenient(header).unwrap()).unwrap()
}

/// Client credentials for `app_id` with an assertion signed by `certificate`.
async fn token_for(
    fx: &Fixture,
    app_id: &str,
    certificate: &TestCertificate,
) -> (StatusCode, Value) {
    let assertion =
        certificate.assertion(app_id, &fx.token_url(), fx.now(), AssertionStyle::default());
    fx.post_form(
        &fx.token_url(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("scope", "https://graph.microsoft.com/.default"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn bulk_registered_applications_get_tokens_and_survive_a_restart() {
    let fx = Fixture::start().await;
    let certificates: Vec<TestCertificate> = (0..3)
        .map(|_| TestCertificate::valid_for_days(fx.now(), 30))
        .collect();
    let (status, body) = fx
        .control(
            "/applications",
            json!({"applications": certificates.iter().enumerate().map(|(i, c)| json!({
                "display_name": format!("fleet {i}"),
                "application_permissions": ["User.Read.All", "Mail.Read"],
                "certificates": [c.graph_key()],
            })).collect::<Vec<_>>()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let registered: Vec<String> = body["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(registered.len(), 3);

    let before = stats(&fx).await;
    for (app_id, certificate) in registered.iter().zip(&certificates) {
        let (status, tokens) = token_for(&fx, app_id, certificate).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let token = tokens["access_token"].as_str().unwrap();
        let (status, _) = fx
            .graph(
                Method::GET,
                &format!("/users/{}/messages?$top=1", fx.plain_user()),
                token,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    // Another application's certificate is not this one's.
    let (status, body) = token_for(&fx, &registered[0], &certificates[1]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error_codes"][0], 700027);

    let after = stats(&fx).await;
    let delta = |name: &str| after[name].as_u64().unwrap() - before[name].as_u64().unwrap();
    assert_eq!(delta("token_requests"), 4);
    assert_eq!(delta("client_assertions_verified"), 3);
    assert_eq!(delta("access_tokens_issued"), 3);
    assert_eq!(delta("rsa_signatures"), 3, "RS256 access tokens by default");
    assert_eq!(delta("mac_signatures"), 0);

    let fx = fx.restart().await;
    let (status, body) = token_for(&fx, &registered[2], &certificates[2]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn bulk_registration_refuses_bad_input_and_registers_nothing() {
    let fx = Fixture::start().await;
    let good = TestCertificate::valid_for_days(fx.now(), 30);
    for (body, kind) in [
        (
            json!({"applications": [{"display_name": "a", "certificates": [good.graph_key()]}, {"display_name": "b", "certificates": ["bm90IGEgY2VydGlmaWNhdGU="]}]}),
            "invalid_certificate",
        ),
        (
            json!({"applications": [{"display_name": " ", "certificates": []}]}),
            "invalid_request",
        ),
        (
            json!({"tenant": "nowhere.example", "applications": [{"display_name": "a"}]}),
            "unknown_tenant",
        ),
        (json!({"apps": []}), "invalid_request"),
    ] {
        let (status, answer) = fx.control("/applications", body.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(kind)),
            "{body}"
        );
    }
    // The first, valid application of the refused batch was not registered.
    let token = fx.delegated_token(&fx.admin()).await;
    let (_, apps) = fx.graph(Method::GET, "/applications", &token, None).await;
    let names: Vec<&str> = apps["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["displayName"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"a"), "{names:?}");
}

#[tokio::test]
async fn hs256_access_tokens_cost_no_rsa_signature_and_graph_accepts_them() {
    let fx = Fixture::start().await;
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&certificate]).await;
    let (_, rs256) = fx.client_credentials(&fx.assertion(&certificate)).await;
    let rs256 = rs256["access_token"].as_str().unwrap().to_owned();
    assert_eq!(header_of(&rs256)["alg"], "RS256");

    let (status, settings) = fx
        .control("/settings", json!({"access_token_signing": "HS256"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    let before = stats(&fx).await;
    let (_, hs256) = fx.client_credentials(&fx.assertion(&certificate)).await;
    let hs256 = hs256["access_token"].as_str().unwrap().to_owned();
    let after = stats(&fx).await;
    assert_eq!(header_of(&hs256)["alg"], "HS256");
    assert_eq!(after["rsa_signatures"], before["rsa_signatures"]);
    assert_eq!(
        after["mac_signatures"].as_u64().unwrap(),
        before["mac_signatures"].as_u64().unwrap() + 1
    );

    // Both kinds are accepted by Graph whatever the current setting; a forged MAC is not.
    let users = format!("/users/{}/messages?$top=1", fx.plain_user());
    for token in [&rs256, &hs256] {
        let (status, body) = fx.graph(Method::GET, &users, token, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _) = fx
        .control("/settings", json!({"access_token_signing": "RS256"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = fx.graph(Method::GET, &users, &hs256, None).await;
    assert_eq!(status, StatusCode::OK);
    let (input, _) = hs256.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", tenantlink_jose::b64url(&[7u8; 32]));
    let (status, body) = fx.graph(Method::GET, &users, &forged, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");

    let (status, answer) = fx
        .control("/settings", json!({"access_token_signing": "none"}))
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}
