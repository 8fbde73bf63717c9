//! Graph: reading applications, replacing keyCredentials, addKey/removeKey with proofs,
//! authorization, users and the sample mailboxes.

mod common;

use common::{Fixture, TestCertificate};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn app_path(fx: &Fixture) -> String {
    format!("/applications/{}", fx.info().backup_app.object_id)
}

fn graph_error(body: &Value) -> (&str, &str) {
    (
        body["error"]["code"].as_str().unwrap_or(""),
        body["error"]["message"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn get_by_object_id_and_app_id_with_select() {
    let fx = Fixture::start().await;
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&certificate]).await;
    let token = fx.delegated_token(&fx.admin()).await;
    let (status, body) = fx.graph(Method::GET, &app_path(&fx), &token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["appId"], fx.info().backup_app.app_id);
    let key = &body["keyCredentials"][0];
    assert!(key["key"].is_null(), "key only with $select");
    assert_eq!(key["customKeyIdentifier"], certificate.sha1_hex());
    assert_eq!(key["type"], "AsymmetricX509Cert");
    assert_eq!(key["usage"], "Verify");
    assert_eq!(key["displayName"], "CN=sandbox test app");

    let by_app_id = format!(
        "/applications(appId='{}')?$select=keyCredentials,appId",
        fx.info().backup_app.app_id
    );
    let (status, body) = fx.graph(Method::GET, &by_app_id, &token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["keyCredentials"][0]["key"], certificate.graph_key());
    assert!(
        body.get("displayName").is_none(),
        "$select keeps only what was asked"
    );

    let (status, body) = fx
        .graph(
            Method::GET,
            "/applications/00000000-0000-0000-0000-000000000000",
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(graph_error(&body).0, "Request_ResourceNotFound");
    assert!(
        body["error"]["innerError"]["request-id"].is_string()
            && body["error"]["innerError"]["date"].is_string()
    );
}

#[tokio::test]
async fn patch_replaces_the_collection_and_keeps_round_tripped_keys() {
    let fx = Fixture::start().await;
    let first = TestCertificate::valid_for_days(fx.now(), 30);
    let second = TestCertificate::valid_for_days(fx.now(), 60);
    fx.attach(&[&first]).await;
    let token = fx.delegated_token(&fx.admin()).await;
    let (_, current) = fx.graph(Method::GET, &app_path(&fx), &token, None).await;
    // Round-trip the existing entry without its key (as GET returns it) and add the second one.
    let mut keys = current["keyCredentials"].as_array().unwrap().clone();
    keys.push(json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": second.graph_key(), "displayName": "next"}));
    let (status, body) = fx
        .graph(
            Method::PATCH,
            &app_path(&fx),
            &token,
            Some(json!({"keyCredentials": keys})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, after) = fx
        .graph(
            Method::GET,
            &format!("{}?$select=keyCredentials", app_path(&fx)),
            &token,
            None,
        )
        .await;
    let stored: Vec<&str> = after["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    assert_eq!(stored, vec![first.graph_key(), second.graph_key()]);
    // A valid assertion from the second certificate works.
    assert_eq!(
        fx.client_credentials(&fx.assertion(&second)).await.0,
        StatusCode::OK
    );

    // PATCH with only the second replaces the first.
    fx.attach(&[&second]).await;
    let (status, _) = fx.client_credentials(&fx.assertion(&first)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn patch_validates_and_changes_nothing_on_error() {
    let fx = Fixture::start().await;
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&certificate]).await;
    let token = fx.delegated_token(&fx.admin()).await;
    let cases = [
        (
            json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Encrypt", "key": certificate.graph_key()}]}),
            "The value for the property \"usage\" in one of your credentials is invalid. Acceptable values are Sign, Verify.",
        ),
        (
            json!({"keyCredentials": [{"type": "Password", "usage": "Verify", "key": certificate.graph_key()}]}),
            "The value for the property \"type\" in one of your credentials is invalid.",
        ),
        (
            json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "bm90IGEgY2VydGlmaWNhdGU="}]}),
            "Invalid certificate: Key value is invalid certificate",
        ),
        (
            json!({"passwordCredentials": []}),
            "New password credentials must be generated using service actions.",
        ),
    ];
    for (body, message) in cases {
        let (status, response) = fx
            .graph(Method::PATCH, &app_path(&fx), &token, Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (code, text) = graph_error(&response);
        assert_eq!(code, "Request_BadRequest");
        assert!(text.starts_with(message), "{text}");
    }
    assert_eq!(
        fx.client_credentials(&fx.assertion(&certificate)).await.0,
        StatusCode::OK,
        "rejected PATCHes left the key"
    );
}

#[tokio::test]
async fn tenant_lifetime_policy_rejects_long_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sandbox-config.json");
    std::fs::write(
        &config,
        r#"{"tenants":[{"domain":"sandbox.onmicrosoft.com","max_certificate_lifetime_days":365}]}"#,
    )
    .unwrap();
    let fx = Fixture::start_in(dir, Some(config)).await;
    let token = fx.delegated_token(&fx.admin()).await;
    let long = TestCertificate::valid_for_days(fx.now(), 400);
    let body = json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": long.graph_key()}]});
    let (status, response) = fx
        .graph(Method::PATCH, &app_path(&fx), &token, Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (code, message) = graph_error(&response);
    assert_eq!(code, "CredentialInvalidLifetimeAsPerAppPolicy");
    assert!(
        message.starts_with(
            "Credential lifetime exceeds the max value allowed as per assigned policy '"
        ) && message.contains("at most 365 days"),
        "{response}"
    );
    let short = TestCertificate::valid_for_days(fx.now(), 300);
    fx.attach(&[&short]).await;
}

#[tokio::test]
async fn the_lifetime_policy_is_set_through_the_control_api_and_survives_a_restart() {
    let fx = Fixture::start().await;
    let policy_url = fx.url("/_sandbox/tenant/policy");
    let shown: Value = fx
        .http
        .get(&policy_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown["max_certificate_lifetime_days"],
        Value::Null,
        "no limit by default"
    );

    // Bad input is refused and changes nothing.
    for bad in [
        json!({}),
        json!({"max_certificate_lifetime_days": 0}),
        json!({"max_certificate_lifetime_days": "a year"}),
        json!({"max_certificate_lifetime_days": 365, "extra": 1}),
    ] {
        let (status, body) = fx.control("/tenant/policy", bad.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
    let (status, body) = fx
        .control(
            "/tenant/policy",
            json!({"tenant": "nowhere.example", "max_certificate_lifetime_days": 30}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_tenant"))
    );
    let shown: Value = fx
        .http
        .get(&policy_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["max_certificate_lifetime_days"], Value::Null);

    let (status, body) = fx
        .control(
            "/tenant/policy",
            json!({"max_certificate_lifetime_days": 365}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["max_certificate_lifetime_days"], 365);

    let fx = fx.restart().await;
    let token = fx.delegated_token(&fx.admin()).await;
    let long = TestCertificate::valid_for_days(fx.now(), 400);
    let body = json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": long.graph_key()}]});
    let (status, response) = fx
        .graph(Method::PATCH, &app_path(&fx), &token, Some(body.clone()))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the policy survived the restart"
    );
    assert!(
        graph_error(&response).1.contains("at most 365 days"),
        "{response}"
    );

    // null lifts the limit, without a restart.
    let (status, _) = fx
        .control(
            "/tenant/policy",
            json!({"max_certificate_lifetime_days": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, response) = fx
        .graph(Method::PATCH, &app_path(&fx), &token, Some(body))
        .await;
    assert!(status.is_success(), "{status} {response}");
}

#[tokio::test]
async fn authorization_rules() {
    let fx = Fixture::start().await;
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&certificate]).await;
    let (status, body) = fx.graph(Method::GET, &app_path(&fx), "", None).await;
    assert_eq!(
        (status, graph_error(&body).0),
        (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken")
    );
    let (status, _) = fx
        .graph(Method::GET, &app_path(&fx), "forged.token.value", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A plain user (no role, not an owner) is denied even with the scope.
    let user_token = fx.delegated_token(&fx.plain_user()).await;
    let (status, body) = fx
        .graph(
            Method::PATCH,
            &app_path(&fx),
            &user_token,
            Some(json!({"keyCredentials": []})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        graph_error(&body),
        (
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation."
        )
    );

    // The backup app (Application.ReadWrite.OwnedBy, owner of itself) reads and writes its own registration…
    let (_, tokens) = fx.client_credentials(&fx.assertion(&certificate)).await;
    let app_token = tokens["access_token"].as_str().unwrap();
    let (status, _) = fx.graph(Method::GET, &app_path(&fx), app_token, None).await;
    assert_eq!(status, StatusCode::OK);
    // …but not the public client it does not own.
    let (_, listing) = fx
        .graph(
            Method::GET,
            "/applications",
            &fx.delegated_token(&fx.admin()).await,
            None,
        )
        .await;
    let public_object_id = listing["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appId"] == fx.info().public_client_id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = fx
        .graph(
            Method::GET,
            &format!("/applications/{public_object_id}"),
            app_token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Expired tokens are refused.
    fx.advance_clock(3700).await;
    let (status, body) = fx.graph(Method::GET, &app_path(&fx), app_token, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        graph_error(&body).1,
        "Lifetime validation failed, the token is expired."
    );
}

#[tokio::test]
async fn add_key_and_remove_key_need_a_valid_proof() {
    let fx = Fixture::start().await;
    let current = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&current]).await;
    let (_, tokens) = fx.client_credentials(&fx.assertion(&current)).await;
    let app_token = tokens["access_token"].as_str().unwrap().to_owned();
    let object_id = fx.info().backup_app.object_id.clone();
    let next = TestCertificate::valid_for_days(fx.now(), 60);
    let add = |proof: String| json!({"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": next.graph_key()}, "passwordCredential": null, "proof": proof});
    let add_path = format!(
        "/applications(appId='{}')/addKey",
        fx.info().backup_app.app_id
    );

    // Proofs that must fail: wrong signer, wrong issuer, padded segments, too long a lifetime.
    let stranger = TestCertificate::valid_for_days(fx.now(), 30);
    let padded = {
        let proof = current.proof(&object_id, fx.now());
        let mut parts: Vec<String> = proof.split('.').map(str::to_owned).collect();
        parts[1].push('=');
        parts.join(".")
    };
    for bad in [
        stranger.proof(&object_id, fx.now()),
        current.proof(&fx.info().backup_app.app_id, fx.now()),
        padded,
    ] {
        let (status, body) = fx
            .graph(Method::POST, &add_path, &app_token, Some(add(bad)))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            graph_error(&body),
            (
                "Authentication_MissingOrMalformed",
                "Access Token missing or malformed."
            )
        );
    }

    let (status, body) = fx
        .graph(
            Method::POST,
            &add_path,
            &app_token,
            Some(add(current.proof(&object_id, fx.now()))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["customKeyIdentifier"], next.sha1_hex());
    let new_key_id = body["keyId"].as_str().unwrap().to_owned();
    assert_eq!(
        fx.client_credentials(&fx.assertion(&next)).await.0,
        StatusCode::OK
    );

    // removeKey of the old key with a proof from the new one.
    let (_, app) = fx
        .graph(
            Method::GET,
            &format!("/applications/{object_id}"),
            &app_token,
            None,
        )
        .await;
    let old_key_id = app["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyId"] != new_key_id.as_str())
        .unwrap()["keyId"]
        .clone();
    let remove_path = format!("/applications/{object_id}/removeKey");
    let (status, _) = fx
        .graph(
            Method::POST,
            &remove_path,
            &app_token,
            Some(json!({"keyId": old_key_id, "proof": next.proof(&object_id, fx.now())})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        fx.client_credentials(&fx.assertion(&current)).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Once every certificate has expired, no proof can be made: addKey is impossible.
    fx.advance_clock(61 * 24 * 3600).await;
    let admin_now = fx.delegated_token(&fx.admin()).await;
    let (status, _) = fx
        .graph(
            Method::POST,
            &add_path,
            &admin_now,
            Some(add(next.proof(&object_id, fx.now()))),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn users_and_mailboxes_page_like_graph() {
    let fx = Fixture::start().await;
    let certificate = TestCertificate::valid_for_days(fx.now(), 30);
    fx.attach(&[&certificate]).await;
    let (_, tokens) = fx.client_credentials(&fx.assertion(&certificate)).await;
    let token = tokens["access_token"].as_str().unwrap();
    let (status, users) = fx.graph(Method::GET, "/users", token, None).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    let upns: Vec<&str> = users["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect();
    assert_eq!(upns, vec![fx.admin().as_str(), fx.plain_user().as_str()]);

    let mut url = format!(
        "{}/users/{}/messages?$top=20",
        fx.info().graph_base,
        fx.plain_user()
    );
    let mut seen = Vec::new();
    loop {
        let page: Value = fx
            .http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned()),
        );
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 57);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 57, "ids are unique across pages");

    let mut url = format!(
        "{}/users/{}/mailFolders/inbox/messages/delta",
        fx.info().graph_base,
        fx.plain_user()
    );
    let mut count = 0;
    let delta_link = loop {
        let page: Value = fx
            .http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        count += page["value"].as_array().unwrap().len();
        if let Some(delta) = page["@odata.deltaLink"].as_str() {
            break delta.to_owned();
        }
        url = page["@odata.nextLink"].as_str().unwrap().to_owned();
    };
    assert_eq!(count, 57);
    let changes: Value = fx
        .http
        .get(&delta_link)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(changes["value"].as_array().unwrap().len(), 0);

    // A delegated caller without Mail.Read reads nobody's mail; with it, only their own.
    let user_token = fx.delegated_token(&fx.plain_user()).await;
    let (status, _) = fx
        .graph(
            Method::GET,
            &format!("/users/{}/messages", fx.admin()),
            &user_token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = fx
        .graph(
            Method::GET,
            &format!("/users/{}/messages", fx.plain_user()),
            &user_token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
