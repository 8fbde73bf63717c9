//! keyCredentials writes against the loopback fake Graph: read–merge–write–verify with every
//! existing key kept, concurrent changes, addKey/removeKey proofs, typed Graph errors.

mod support;

use serde_json::Value;
use support::{APP_OBJECT_ID, CLIENT_ID, Harness, START, TestCert};
use tenantlink_entra::{
    Error, GraphErrorKind, KeyCredential, KeyUpdateError, ProofAudience, SigningCertificate,
    proof_of_possession,
};
use time::Duration;

fn new_entry(cert: &TestCert) -> KeyCredential {
    KeyCredential::for_certificate(&cert.der, "CN=tenantlink", cert.not_before, cert.not_after)
}

#[tokio::test]
async fn reads_keys_with_select_and_matches_by_computed_thumbprint() {
    let h = Harness::start().await;
    let cert = h.registered_cert("listed");
    // customKeyIdentifier is garbage here: matching must not depend on it.
    h.server.state.keys.lock().unwrap()[0]["customKeyIdentifier"] =
        Value::String("bm90LWEtdGh1bWI=".into());
    let app = h
        .graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap();
    assert_eq!(app.id, APP_OBJECT_ID);
    assert_eq!(app.app_id, CLIENT_ID);
    let key = app
        .key_for_certificate(&cert.der)
        .expect("found by thumbprint of `key`");
    assert_eq!(key.sha1_hex().unwrap(), cert.signer().sha1_hex());
    assert_eq!(key.end(), Some(cert.not_after));
    let get = &h.server.requests("/v1.0/")[0];
    assert!(get.path.contains("applications(appId='"), "{}", get.path);
}

#[tokio::test]
async fn attach_keeps_every_existing_key_and_verifies() {
    let h = Harness::start().await;
    let a = h.registered_cert("a");
    let b = h.registered_cert("b");
    let before = h.server.key_ids();
    let new = TestCert::generate("new", START, Duration::days(180));
    let outcome = h
        .graph()
        .attach_certificate("token", CLIENT_ID, &new_entry(&new))
        .await
        .unwrap();
    assert_eq!(outcome.kept, 2);
    assert_eq!(outcome.application_object_id, APP_OBJECT_ID);
    assert!(outcome.key_id.is_some());
    let after = h.server.key_ids();
    assert_eq!(after.len(), 3);
    assert!(
        before.iter().all(|id| after.contains(id)),
        "old keys kept with their key ids"
    );
    let app = h
        .graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap();
    for cert in [&a, &b, &new] {
        assert!(app.key_for_certificate(&cert.der).is_some());
    }
    // Attaching again writes nothing.
    let again = h
        .graph()
        .attach_certificate("token", CLIENT_ID, &new_entry(&new))
        .await
        .unwrap();
    assert!(again.already_attached);
    assert_eq!(
        h.server
            .requests("/v1.0/")
            .iter()
            .filter(|r| r.method == "PATCH")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_concurrent_change_between_read_and_write_is_merged_not_lost() {
    let h = Harness::start().await;
    h.registered_cert("existing");
    let theirs = TestCert::generate("theirs", START, Duration::days(90));
    let theirs_json = support::server::key_json(
        &theirs.der,
        "0000aaaa-0000-0000-0000-000000000001",
        theirs.not_before,
        theirs.not_after,
    );
    // Another administrator adds a key right after our first read.
    h.server.after_get(0, move |keys| keys.push(theirs_json));
    let new = TestCert::generate("new", START, Duration::days(180));
    let outcome = h
        .graph()
        .attach_certificate("token", CLIENT_ID, &new_entry(&new))
        .await
        .unwrap();
    assert_eq!(outcome.concurrent_changes_merged, 1);
    assert_eq!(outcome.kept, 2);
    let app = h
        .graph()
        .application_by_app_id("token", CLIENT_ID)
        .await
        .unwrap();
    assert!(
        app.key_for_certificate(&theirs.der).is_some(),
        "their key survived our write"
    );
    assert!(app.key_for_certificate(&new.der).is_some());
    assert_eq!(app.key_credentials.len(), 3);
}

#[tokio::test]
async fn a_change_racing_the_write_is_detected_by_the_read_back() {
    let h = Harness::start().await;
    let old = h.registered_cert("existing");
    let old_id = h.server.key_ids()[0].clone();
    // Someone else's write lands right after ours and drops the old key.
    h.server
        .after_patch(move |keys| keys.retain(|k| k["keyId"] != old_id.as_str()));
    let new = TestCert::generate("new", START, Duration::days(180));
    let err = h
        .graph()
        .attach_certificate("token", CLIENT_ID, &new_entry(&new))
        .await
        .unwrap_err();
    let Error::KeyUpdate(KeyUpdateError::VerificationFailed { missing }) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(missing.len(), 1);
    assert!(err.summary().contains("same moment"));
    let _ = old;
}

#[tokio::test]
async fn keys_that_keep_changing_stop_the_write() {
    let h = Harness::start().await;
    h.registered_cert("existing");
    // Every read is followed by another writer's change.
    for i in 0..8 {
        let extra = TestCert::generate(&format!("x{i}"), START, Duration::days(10));
        let json = support::server::key_json(
            &extra.der,
            &uuid::Uuid::new_v4().to_string(),
            extra.not_before,
            extra.not_after,
        );
        h.server.state_after_every_get(json);
    }
    let new = TestCert::generate("new", START, Duration::days(180));
    let err = h
        .graph()
        .attach_certificate("token", CLIENT_ID, &new_entry(&new))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::KeyUpdate(KeyUpdateError::KeepsChanging { .. })),
        "{err:?}"
    );
    assert_eq!(
        h.server
            .requests("/v1.0/")
            .iter()
            .filter(|r| r.method == "PATCH")
            .count(),
        0,
        "nothing written"
    );
}

#[tokio::test]
async fn add_key_and_remove_key_carry_a_valid_proof_of_possession() {
    let h = Harness::start().await;
    let current = h.registered_cert("current");
    let signer = current.signer();
    let new = TestCert::generate("next", START, Duration::days(180));
    let graph = h.graph();
    let added = graph
        .add_key("app-token", APP_OBJECT_ID, &new_entry(&new), &signer)
        .await
        .unwrap();
    let (raw, proof) = h.server.state.last_proof.lock().unwrap().clone().unwrap();
    assert!(!raw.contains('='), "no padding anywhere");
    assert_eq!(
        proof.claim_str("aud"),
        Some("00000002-0000-0000-c000-000000000000")
    );
    assert_eq!(
        proof.claim_str("iss"),
        Some(APP_OBJECT_ID),
        "the object id, not the app id"
    );
    let lifetime = proof.claim_date("exp").unwrap() - proof.claim_date("nbf").unwrap();
    assert!(lifetime > 0.0 && lifetime <= 600.0, "{lifetime}");
    assert_eq!(proof.header_str("x5t"), Some(signer.x5t().as_str()));
    let new_key_id = added.key_id.clone().unwrap();
    assert_eq!(h.server.key_ids().len(), 2);

    // The new key proves the removal of the old one.
    let old_id = h.server.key_ids()[0].clone();
    graph
        .remove_key("app-token", APP_OBJECT_ID, &old_id, &new.signer())
        .await
        .unwrap();
    assert_eq!(h.server.key_ids(), vec![new_key_id]);
}

#[tokio::test]
async fn an_expired_certificate_cannot_sign_a_proof() {
    let old = TestCert::generate("expired", START - Duration::days(400), Duration::days(365));
    let err = proof_of_possession(
        &old.signer(),
        APP_OBJECT_ID,
        ProofAudience::default(),
        START,
    )
    .unwrap_err();
    assert!(err.to_string().contains("still-valid"), "{err}");
    // And a proof signed by an unregistered key is refused by Graph with its own words.
    let h = Harness::start().await;
    h.registered_cert("current");
    let stranger: SigningCertificate =
        TestCert::generate("stranger", START - Duration::days(1), Duration::days(30)).signer();
    let new = TestCert::generate("next", START, Duration::days(180));
    let err = h
        .graph()
        .add_key("t", APP_OBJECT_ID, &new_entry(&new), &stranger)
        .await
        .unwrap_err();
    let Error::Graph(g) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(g.kind, GraphErrorKind::MissingOrMalformedToken);
    assert_eq!(g.message, "Access Token missing or malformed.");
}

#[tokio::test]
async fn graph_errors_are_typed_with_the_message_verbatim() {
    let h = Harness::start().await;
    let err = h
        .graph()
        .application_by_app_id("t", "00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    let Error::Graph(g) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(g.kind, GraphErrorKind::NotFound);
    assert!(g.message.starts_with("Resource 'applications(appId="));
    assert!(g.request_id.is_some());
    h.server.push_fault(support::Fault::Status {
        status: 403,
        retry_after: None,
        body: serde_json::json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}),
    });
    let err = h
        .graph()
        .application_by_app_id("t", CLIENT_ID)
        .await
        .unwrap_err();
    let Error::Graph(g) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(g.kind, GraphErrorKind::AuthorizationDenied);
    assert!(
        err.to_string()
            .contains("Insufficient privileges to complete the operation.")
    );
}
