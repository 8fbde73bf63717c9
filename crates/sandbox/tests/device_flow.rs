//! Discovery and the device authorization grant, over HTTPS, as MSAL drives them.

mod common;

use common::{Fixture, aadsts};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn discovery_answers_by_guid_and_domain_and_rejects_unknown_tenants() {
    let fx = Fixture::start().await;
    let info = fx.info();
    for tenant in [info.tenant_id.as_str(), info.tenant_domain.as_str()] {
        let doc: serde_json::Value = fx
            .http
            .get(fx.url(&format!("/{tenant}/v2.0/.well-known/openid-configuration")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["token_endpoint"],
            format!("{}/{}/oauth2/v2.0/token", info.authority, info.tenant_id)
        );
        assert_eq!(
            doc["device_authorization_endpoint"],
            format!(
                "{}/{}/oauth2/v2.0/devicecode",
                info.authority, info.tenant_id
            )
        );
        assert_eq!(
            doc["issuer"],
            format!("{}/{}/v2.0", info.authority, info.tenant_id)
        );
        let jwks: serde_json::Value = fx
            .http
            .get(doc["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jwks["keys"][0]["kty"], "RSA");
    }
    let response = fx
        .http
        .get(fx.url("/contoso.example/v2.0/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_tenant");
    let (code, text) = aadsts(&body);
    assert_eq!(code, 90002);
    assert!(
        text.starts_with("AADSTS90002: Tenant 'contoso.example' not found."),
        "{text}"
    );
    let description = body["error_description"].as_str().unwrap();
    let lines: Vec<&str> = description.split("\r\n").collect();
    assert_eq!(lines.len(), 4);
    assert!(
        lines[1].starts_with("Trace ID: ")
            && lines[2].starts_with("Correlation ID: ")
            && lines[3].starts_with("Timestamp: ")
    );
    assert_eq!(
        lines[3],
        format!("Timestamp: {}", body["timestamp"].as_str().unwrap())
    );

    let instance: serde_json::Value = fx
        .http
        .get(fx.url(&format!(
            "/common/discovery/instance?api-version=1.1&authorization_endpoint={}/{}/oauth2/v2.0/authorize",
            info.authority, info.tenant_id
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        instance["tenant_discovery_endpoint"],
        format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            info.authority, info.tenant_id
        )
    );
}

#[tokio::test]
async fn devicecode_response_has_entra_shape() {
    let fx = Fixture::start().await;
    let flow = fx.start_device_flow("openid profile offline_access").await;
    let user_code = flow["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert!(
        user_code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert_eq!(flow["expires_in"], 900);
    assert_eq!(flow["interval"], 5);
    let uri = format!("{}/devicelogin", fx.info().authority);
    assert_eq!(flow["verification_uri"], uri);
    assert_eq!(
        flow["message"],
        format!(
            "To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."
        )
    );
    assert!(flow.get("verification_uri_complete").is_none());
}

#[tokio::test]
async fn devicecode_errors_name_the_problem() {
    let fx = Fixture::start().await;
    let url = fx.url(&format!("/{}/oauth2/v2.0/devicecode", fx.info().tenant_id));
    let (status, body) = fx.post_form(&url, &[("scope", "openid")]).await;
    assert_eq!((status, aadsts(&body).0), (StatusCode::BAD_REQUEST, 900144));
    let unknown = uuid::Uuid::new_v4().to_string();
    let (status, body) = fx
        .post_form(&url, &[("client_id", &unknown), ("scope", "openid")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");
    assert!(aadsts(&body).1.contains(&format!(
        "Application with identifier '{unknown}' was not found"
    )));
    let (status, body) = fx
        .post_form(
            &fx.url("/nowhere.example/oauth2/v2.0/devicecode"),
            &[
                ("client_id", &fx.info().public_client_id),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!((status, aadsts(&body).0), (StatusCode::BAD_REQUEST, 90002));
}

#[tokio::test]
async fn device_flow_pending_slow_down_then_tokens_once() {
    let fx = Fixture::start().await;
    let flow = fx
        .start_device_flow("https://graph.microsoft.com/User.Read openid profile offline_access")
        .await;
    let device_code = flow["device_code"].as_str().unwrap();

    let (status, body) = fx.poll_device(device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "authorization_pending");
    assert_eq!(
        aadsts(&body),
        (
            70016,
            "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling."
                .to_owned()
        )
    );
    let (_, body) = fx.poll_device(device_code).await;
    assert_eq!(body["error"], "slow_down");
    fx.advance_clock(6).await;

    let (status, _) = fx
        .control(
            "/device/approve",
            json!({"user_code": flow["user_code"], "username": fx.admin()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // MSAL Python's form: the URN, plus `code`, `client_info` and `claims`.
    let (status, body) = fx
        .post_form(
            &fx.token_url(),
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", &fx.info().public_client_id),
                ("device_code", device_code),
                ("code", device_code),
                ("client_info", "1"),
                (
                    "claims",
                    r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#,
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert!(
        body["id_token"].is_string()
            && body["refresh_token"].is_string()
            && body["client_info"].is_string()
    );
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["upn"], fx.admin());
    assert_eq!(claims["scp"], "User.Read");
    assert_eq!(claims["tid"], fx.info().tenant_id);

    let (status, body) = fx.poll_device(device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"], "invalid_grant",
        "a device code is single-use"
    );

    // Refresh tokens for offline_access.
    let refresh = fx
        .start_device_flow("openid offline_access https://graph.microsoft.com/User.Read")
        .await;
    fx.control(
        "/device/approve",
        json!({"user_code": refresh["user_code"], "username": fx.plain_user()}),
    )
    .await;
    let (_, tokens) = fx
        .poll_device(refresh["device_code"].as_str().unwrap())
        .await;
    let (status, body) = fx
        .post_form(
            &fx.token_url(),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &fx.info().public_client_id),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
                (
                    "scope",
                    "https://graph.microsoft.com/User.Read offline_access",
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["upn"],
        fx.plain_user()
    );
    let (status, body) = fx
        .post_form(
            &fx.token_url(),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &fx.info().public_client_id),
                ("refresh_token", "forged"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn short_grant_type_spelling_is_accepted() {
    let fx = Fixture::start().await;
    let flow = fx.start_device_flow("openid").await;
    fx.control(
        "/device/approve",
        json!({"user_code": flow["user_code"], "username": fx.plain_user()}),
    )
    .await;
    let (status, body) = fx
        .post_form(
            &fx.token_url(),
            &[
                ("grant_type", "device_code"),
                ("client_id", &fx.info().public_client_id),
                ("device_code", flow["device_code"].as_str().unwrap()),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn declined_expired_and_unknown_codes() {
    let fx = Fixture::start().await;
    let declined = fx.start_device_flow("openid").await;
    let (status, _) = fx
        .control(
            "/device/decline",
            json!({"user_code": declined["user_code"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = fx
        .poll_device(declined["device_code"].as_str().unwrap())
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authorization_declined"))
    );

    let (status, body) = fx.poll_device("not-a-device-code").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_verification_code"))
    );

    let expiring = fx.start_device_flow("openid").await;
    fx.advance_clock(901).await;
    let (status, body) = fx
        .poll_device(expiring["device_code"].as_str().unwrap())
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("expired_token"))
    );
    assert_eq!(aadsts(&body), (70020, "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired.".to_owned()));
    let (status, body) = fx
        .control(
            "/device/approve",
            json!({"user_code": expiring["user_code"], "username": fx.admin()}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("code_expired"))
    );
}

#[tokio::test]
async fn scripted_approval_checks_code_and_user() {
    let fx = Fixture::start().await;
    let flow = fx.start_device_flow("openid").await;
    let (status, body) = fx
        .control(
            "/device/approve",
            json!({"user_code": "ZZZZZZZZZ", "username": fx.admin()}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_code"))
    );
    let (status, body) = fx
        .control(
            "/device/approve",
            json!({"user_code": flow["user_code"], "username": "nobody@sandbox.onmicrosoft.com"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_user"))
    );
    let (status, _) = fx
        .control(
            "/device/approve",
            json!({"user_code": flow["user_code"], "username": fx.admin()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = fx
        .control(
            "/device/approve",
            json!({"user_code": flow["user_code"], "username": fx.admin()}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("code_already_used"))
    );
}

#[tokio::test]
async fn token_endpoint_rejects_unknown_grants_clients_and_tenants() {
    let fx = Fixture::start().await;
    let (status, body) = fx
        .post_form(
            &fx.token_url(),
            &[
                ("grant_type", "password"),
                ("client_id", &fx.info().public_client_id),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str(), aadsts(&body).0),
        (
            StatusCode::BAD_REQUEST,
            Some("unsupported_grant_type"),
            70003
        )
    );
    let (status, body) = fx
        .post_form(
            &fx.token_url(),
            &[("client_id", &fx.info().public_client_id)],
        )
        .await;
    assert_eq!((status, aadsts(&body)), (StatusCode::BAD_REQUEST, (900144, "AADSTS900144: The request body must contain the following parameter: 'grant_type'.".to_owned())));
    let (status, body) = fx
        .post_form(
            &fx.url("/nowhere.example/oauth2/v2.0/token"),
            &[("grant_type", "client_credentials"), ("client_id", "x")],
        )
        .await;
    assert_eq!((status, aadsts(&body).0), (StatusCode::BAD_REQUEST, 90002));
    let stranger = uuid::Uuid::new_v4().to_string();
    let (status, body) = fx
        .post_form(
            &fx.token_url(),
            &[
                ("grant_type", "device_code"),
                ("client_id", &stranger),
                ("device_code", "x"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str(), aadsts(&body).0),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"), 700016)
    );
}

pub fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&tenantlink_jose::b64url_decode_lenient(payload).unwrap()).unwrap()
}
