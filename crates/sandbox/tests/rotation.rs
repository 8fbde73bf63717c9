//! Zero-touch rotation through Graph (issue #12), as a client sees it over HTTPS: an application
//! rolls its own keys app-only without any permission, with either documented proof audience;
//! new keys wait out the propagation delay at the token endpoint; the tenant lifetime policy,
//! the key-count limit and the request budget refuse in Graph's shape; injected Graph faults
//! too; and the control API counts key changes per application. Time moves only through the
//! sandbox clock.

mod common;

use common::{AssertionStyle, Fixture, TestCertificate, aadsts};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An application registered through the control API with one certificate and no permission
/// at all, and an app-only Graph token it obtained with that certificate.
struct SelfRoller {
    app_id: String,
    object_id: String,
    certificate: TestCertificate,
    token: String,
}

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

async fn self_roller(fx: &Fixture, days: i64) -> SelfRoller {
    let certificate = TestCertificate::valid_for_days(fx.now(), days);
    let (status, body) = fx
        .control(
            "/applications",
            json!({"applications": [{"display_name": "self roller", "certificates": [certificate.graph_key()]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let app_id = body["applications"][0]["app_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let object_id = body["applications"][0]["object_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, tokens) = token_for(fx, &app_id, &certificate).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    SelfRoller {
        app_id,
        object_id,
        certificate,
        token: tokens["access_token"].as_str().unwrap().to_owned(),
    }
}

fn add_key_body(certificate: &TestCertificate, proof: String) -> Value {
    json!({
        "keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": certificate.graph_key()},
        "passwordCredential": null,
        "proof": proof,
    })
}

fn graph_error(body: &Value) -> (&str, &str) {
    (
        body["error"]["code"].as_str().unwrap_or(""),
        body["error"]["message"].as_str().unwrap_or(""),
    )
}

async fn application_view(fx: &Fixture, id: &str) -> Value {
    let (status, body) = fx.control_get(&format!("/applications/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn an_application_rolls_its_own_keys_without_permission_and_the_rotation_is_counted() {
    let fx = Fixture::start().await;
    let roller = self_roller(&fx, 30).await;
    let add_path = format!("/applications/{}/addKey", roller.object_id);

    // Microsoft Graph's id as the proof audience works as well as Azure AD Graph's.
    let next = TestCertificate::valid_for_days(fx.now(), 60);
    let proof = roller.certificate.proof_for(
        &roller.object_id,
        fx.now(),
        "00000003-0000-0000-c000-000000000000",
    );
    let (status, added) = fx
        .graph(
            Method::POST,
            &add_path,
            &roller.token,
            Some(add_key_body(&next, proof)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["customKeyIdentifier"], next.sha1_hex());
    assert!(
        added["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#microsoft.graph.keyCredential")
    );
    let (status, _) = token_for(&fx, &roller.app_id, &next).await;
    assert_eq!(status, StatusCode::OK, "no propagation delay by default");

    // The Graph resource URL is not a documented proof audience.
    let url_proof = next.proof_for(&roller.object_id, fx.now(), "https://graph.microsoft.com");
    let (status, body) = fx
        .graph(
            Method::POST,
            &add_path,
            &roller.token,
            Some(add_key_body(
                &TestCertificate::valid_for_days(fx.now(), 60),
                url_proof,
            )),
        )
        .await;
    assert_eq!(
        (status, graph_error(&body).0),
        (
            StatusCode::UNAUTHORIZED,
            "Authentication_MissingOrMalformed"
        )
    );

    // Removing the old key with a proof of the new one; an unknown keyId is Graph's 404.
    let old_key_id = application_view(&fx, &roller.app_id).await["key_credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["thumbprint"] == roller.certificate.sha1_hex())
        .unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let remove_path = format!("/applications(appId='{}')/removeKey", roller.app_id);
    let unknown = "11111111-2222-3333-4444-555555555555";
    let (status, body) = fx
        .graph(
            Method::POST,
            &remove_path,
            &roller.token,
            Some(json!({"keyId": unknown, "proof": next.proof(&roller.object_id, fx.now())})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        graph_error(&body),
        (
            "Request_ResourceNotFound",
            "Resource '11111111-2222-3333-4444-555555555555' does not exist or one of its queried reference-property objects are not present."
        )
    );
    let (status, body) = fx
        .graph(
            Method::POST,
            &remove_path,
            &roller.token,
            Some(json!({"keyId": old_key_id, "proof": next.proof(&roller.object_id, fx.now())})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = token_for(&fx, &roller.app_id, &roller.certificate).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old key is gone");

    // Exactly one rotation: one key added, one removed, nothing patched.
    let view = application_view(&fx, &roller.object_id).await;
    assert_eq!(view["key_count"], 1);
    assert_eq!(view["key_credentials"][0]["thumbprint"], next.sha1_hex());
    assert_eq!(view["key_credentials"][0]["usable_now"], true);
    assert_eq!(
        view["graph_key_changes"],
        json!({"keys_added": 1, "keys_removed": 1, "key_credential_patches": 0})
    );
    let (_, stats) = fx.control_get("/stats").await;
    assert_eq!(
        (stats["keys_added"].as_u64(), stats["keys_removed"].as_u64()),
        (Some(1), Some(1))
    );
    let (_, log) = fx.control_get("/requests").await;
    let outcomes: Vec<&str> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"].as_str().unwrap_or("").contains("Key"))
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes,
        [
            "added",
            "Authentication_MissingOrMalformed",
            "Request_ResourceNotFound",
            "removed"
        ]
    );
}

#[tokio::test]
async fn no_permission_means_only_ones_own_keys() {
    let fx = Fixture::start().await;
    let roller = self_roller(&fx, 30).await;
    let stranger = TestCertificate::valid_for_days(fx.now(), 30);
    // The backup application's keys are not the roller's to change, even with a valid proof
    // format: it is refused for want of permission before the proof is looked at.
    let backup = &fx.info().backup_app.object_id;
    let (status, body) = fx
        .graph(
            Method::POST,
            &format!("/applications/{backup}/addKey"),
            &roller.token,
            Some(add_key_body(
                &stranger,
                roller.certificate.proof(backup, fx.now()),
            )),
        )
        .await;
    assert_eq!(
        (status, graph_error(&body).0),
        (StatusCode::FORBIDDEN, "Authorization_RequestDenied")
    );
    let view = application_view(&fx, &fx.info().backup_app.app_id).await;
    assert_eq!(view["key_count"], 0);
    assert_eq!(view["graph_key_changes"]["keys_added"], 0);
}

#[tokio::test]
async fn a_new_key_waits_out_the_propagation_delay_on_the_sandbox_clock() {
    let fx = Fixture::start().await;
    let roller = self_roller(&fx, 30).await;
    let (status, _) = fx
        .control("/settings", json!({"key_propagation_delay_seconds": 30}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let next = TestCertificate::valid_for_days(fx.now(), 60);
    let (status, body) = fx
        .graph(
            Method::POST,
            &format!("/applications/{}/addKey", roller.object_id),
            &roller.token,
            Some(add_key_body(
                &next,
                roller.certificate.proof(&roller.object_id, fx.now()),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, refused) = token_for(&fx, &roller.app_id, &next).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (code, headline) = aadsts(&refused);
    assert_eq!(code, 700027);
    assert!(
        headline.contains("is not registered on application")
            && headline.contains("The key was not found."),
        "{headline}"
    );
    let view = application_view(&fx, &roller.app_id).await;
    let new_key = view["key_credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["thumbprint"] == next.sha1_hex())
        .unwrap()
        .clone();
    assert_eq!(new_key["usable_now"], false);

    fx.advance_clock(31).await;
    let (status, body) = token_for(&fx, &roller.app_id, &next).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_tenant_lifetime_policy_refuses_add_key_in_graphs_shape() {
    let fx = Fixture::start().await;
    let roller = self_roller(&fx, 20).await;
    let (status, _) = fx
        .control(
            "/tenant/policy",
            json!({"max_certificate_lifetime_days": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // valid_for_days starts yesterday: 61 days of validity against a 30-day cap.
    let long = TestCertificate::valid_for_days(fx.now(), 60);
    let (status, body) = fx
        .graph(
            Method::POST,
            &format!("/applications/{}/addKey", roller.object_id),
            &roller.token,
            Some(add_key_body(
                &long,
                roller.certificate.proof(&roller.object_id, fx.now()),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (code, message) = graph_error(&body);
    assert_eq!(code, "CredentialInvalidLifetimeAsPerAppPolicy");
    assert!(
        message.starts_with(
            "Credential lifetime exceeds the max value allowed as per assigned policy '"
        ) && message.contains("at most 30 days"),
        "{message}"
    );
    assert_eq!(
        body["error"]["details"],
        json!([{"code": "InvalidKeyEndDate", "message": message, "target": "EndDate"}])
    );
    let view = application_view(&fx, &roller.app_id).await;
    assert_eq!(view["key_count"], 1, "nothing was added");
    assert_eq!(view["graph_key_changes"]["keys_added"], 0);

    // Within the policy the same call succeeds.
    let short = TestCertificate::valid_for_days(fx.now(), 28);
    let (status, body) = fx
        .graph(
            Method::POST,
            &format!("/applications/{}/addKey", roller.object_id),
            &roller.token,
            Some(add_key_body(
                &short,
                roller.certificate.proof(&roller.object_id, fx.now()),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn beyond_the_key_count_limit_add_key_and_patch_are_refused() {
    let fx = Fixture::start().await;
    let (_, defaults) = fx.control_get("/settings").await;
    assert_eq!(defaults["max_key_credentials"], 100);
    assert_eq!(defaults["graph_throttle"], Value::Null);
    let (status, body) = fx
        .control("/settings", json!({"max_key_credentials": 2}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let roller = self_roller(&fx, 30).await;
    let add_path = format!("/applications/{}/addKey", roller.object_id);
    let second = TestCertificate::valid_for_days(fx.now(), 30);
    let third = TestCertificate::valid_for_days(fx.now(), 30);
    let (status, body) = fx
        .graph(
            Method::POST,
            &add_path,
            &roller.token,
            Some(add_key_body(
                &second,
                roller.certificate.proof(&roller.object_id, fx.now()),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = fx
        .graph(
            Method::POST,
            &add_path,
            &roller.token,
            Some(add_key_body(
                &third,
                roller.certificate.proof(&roller.object_id, fx.now()),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        graph_error(&body),
        (
            "Directory_ResourceSizeExceeded",
            "The size of the object has exceeded its limit. Please reduce the number of values and retry your request."
        )
    );

    // PATCH of three keys onto the backup application: refused the same way, nothing changes.
    let admin = fx.delegated_token(&fx.admin()).await;
    let keys: Vec<Value> = [&roller.certificate, &second, &third]
        .iter()
        .map(|c| json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": c.graph_key()}))
        .collect();
    let (status, body) = fx
        .graph(
            Method::PATCH,
            &format!("/applications/{}", fx.info().backup_app.object_id),
            &admin,
            Some(json!({"keyCredentials": keys})),
        )
        .await;
    assert_eq!(
        (status, graph_error(&body).0),
        (StatusCode::BAD_REQUEST, "Directory_ResourceSizeExceeded")
    );
    assert_eq!(
        application_view(&fx, &fx.info().backup_app.app_id).await["key_count"],
        0
    );
    assert_eq!(application_view(&fx, &roller.app_id).await["key_count"], 2);
}

#[tokio::test]
async fn the_tenant_request_budget_answers_429_with_retry_after_until_the_window_ends() {
    let fx = Fixture::start().await;
    let roller = self_roller(&fx, 30).await;
    let (status, body) = fx
        .control(
            "/settings",
            json!({"graph_throttle": {"requests": 2, "window_seconds": 60}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app_url = format!("{}/applications/{}", fx.info().graph_base, roller.object_id);
    let next = TestCertificate::valid_for_days(fx.now(), 60);
    let add_key = || {
        fx.http
            .post(format!("{app_url}/addKey"))
            .bearer_auth(&roller.token)
            .header("client-request-id", "0f3c2b9e-6a35-4bd4-9a57-2b8f4c1d7e60")
            .json(&add_key_body(
                &next,
                roller.certificate.proof(&roller.object_id, fx.now()),
            ))
    };
    // A refusal for another reason still spends budget (Graph counts requests, not successes).
    let forbidden = fx
        .graph(
            Method::GET,
            &format!("/applications/{}", roller.object_id),
            &roller.token,
            None,
        )
        .await;
    assert_eq!(forbidden.0, StatusCode::FORBIDDEN, "no read permission");
    let added = add_key().send().await.unwrap();
    assert_eq!(added.status(), StatusCode::OK);

    fx.advance_clock(15).await;
    let throttled = add_key().send().await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((44..=46).contains(&retry_after), "{retry_after}");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert!(
        graph_error(&body)
            .1
            .contains(&format!("try after {retry_after} seconds")),
        "{body}"
    );
    assert_eq!(
        body["error"]["innerError"]["client-request-id"],
        "0f3c2b9e-6a35-4bd4-9a57-2b8f4c1d7e60"
    );
    // Other Graph requests are not part of the budget.
    let admin = fx.delegated_token(&fx.admin()).await;
    let (status, _) = fx.graph(Method::GET, "/users", &admin, None).await;
    assert_eq!(status, StatusCode::OK);

    fx.advance_clock(retry_after as i64).await;
    let (status, body) = fx
        .graph(
            Method::POST,
            &format!("/applications/{}/removeKey", roller.object_id),
            &roller.token,
            Some(json!({
                "keyId": application_view(&fx, &roller.app_id).await["key_credentials"][0]["key_id"],
                "proof": next.proof(&roller.object_id, fx.now()),
            })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "a new window: {body}");
    let (_, stats) = fx.control_get("/stats").await;
    assert_eq!(stats["graph_throttled"], 1);
    assert_eq!(
        application_view(&fx, &roller.app_id).await["graph_key_changes"],
        json!({"keys_added": 1, "keys_removed": 1, "key_credential_patches": 0}),
        "the throttled addKey changed nothing"
    );
}

#[tokio::test]
async fn injected_graph_faults_answer_in_graphs_shape() {
    let fx = Fixture::start().await;
    let roller = self_roller(&fx, 30).await;
    let (status, _) = fx
        .control(
            "/faults",
            json!({"route": "/v1.0/applications*", "method": "POST", "kind": "status", "status": 429, "retry_after_seconds": 9, "count": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let response = fx
        .http
        .post(format!(
            "{}/applications/{}/addKey",
            fx.info().graph_base,
            roller.object_id
        ))
        .bearer_auth(&roller.token)
        .json(&add_key_body(
            &TestCertificate::valid_for_days(fx.now(), 60),
            roller.certificate.proof(&roller.object_id, fx.now()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "9");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert!(body["error"]["message"].is_string());
    assert!(body["error"]["innerError"]["request-id"].is_string());
    assert!(body["error"]["innerError"]["date"].is_string());
    assert_eq!(
        application_view(&fx, &roller.app_id).await["key_count"],
        1,
        "the injected refusal served nothing"
    );
}

#[tokio::test]
async fn rotation_settings_and_views_refuse_bad_input_and_change_nothing() {
    let fx = Fixture::start().await;
    for bad in [
        json!({"max_key_credentials": 0}),
        json!({"graph_throttle": {"requests": 0, "window_seconds": 60}}),
        json!({"graph_throttle": {"requests": 5}}),
        json!({"graph_throttle": {"requests": 5, "window_seconds": 60, "burst": 1}}),
        json!({"key_propagation_delay_seconds": 18_446_744_073_709_551_615_u64}),
    ] {
        let (status, body) = fx.control("/settings", bad.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
    let (_, settings) = fx.control_get("/settings").await;
    assert_eq!(
        (
            settings["max_key_credentials"].as_u64(),
            settings["key_propagation_delay_seconds"].as_u64(),
            settings["graph_throttle"].is_null()
        ),
        (Some(100), Some(0), true)
    );
    for unknown in ["not-a-guid", "11111111-2222-3333-4444-555555555555"] {
        let (status, body) = fx.control_get(&format!("/applications/{unknown}")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("unknown_application")),
            "{unknown}"
        );
    }
}
