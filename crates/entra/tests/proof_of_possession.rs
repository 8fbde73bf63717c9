//! The addKey/removeKey proof as Graph checks it, decoded: RS256 with the signer's SHA-1 `x5t`,
//! `iss` the application's object id, `aud` one of the two documented values (the first by
//! default), `nbf` now and `exp` ten minutes later, no `=` in any segment, and a signature the
//! signer's certificate verifies.

mod support;

use support::certs::rsa_public_key;
use support::{APP_OBJECT_ID, CLIENT_ID, Harness, START, TestCert};
use tenantlink_entra::{KeyCredential, ProofAudience, proof_of_possession};
use tenantlink_jose::{Algorithm, UnverifiedJws, b64url};
use time::Duration;

fn decoded(audience: ProofAudience) -> (String, UnverifiedJws, TestCert) {
    let cert = TestCert::generate("current", START - Duration::days(1), Duration::days(365));
    let proof = proof_of_possession(&cert.signer(), APP_OBJECT_ID, audience, START).unwrap();
    let raw = proof.expose().to_owned();
    let jws = UnverifiedJws::parse(&raw).unwrap();
    (raw, jws, cert)
}

#[test]
fn the_default_proof_has_the_documented_header_and_claims() {
    let (raw, jws, cert) = decoded(ProofAudience::default());
    assert_eq!(raw.split('.').count(), 3);
    assert!(!raw.contains('='), "no padding in any segment: {raw}");

    assert_eq!(jws.header_str("alg"), Some("RS256"));
    assert_eq!(jws.header_str("typ"), Some("JWT"));
    let sha1 = *cert.signer().sha1();
    assert_eq!(jws.header_str("x5t"), Some(b64url(&sha1).as_str()));
    assert!(jws.header.get("x5t#S256").is_none());

    assert_eq!(
        jws.claim_str("aud"),
        Some("00000002-0000-0000-c000-000000000000")
    );
    assert_eq!(jws.claim_str("iss"), Some(APP_OBJECT_ID));
    assert_ne!(jws.claim_str("iss"), Some(CLIENT_ID), "not the appId");
    let nbf = jws.claim_date("nbf").unwrap();
    let exp = jws.claim_date("exp").unwrap();
    assert_eq!(
        nbf,
        START.unix_timestamp() as f64,
        "nbf is the injected now"
    );
    assert_eq!(exp - nbf, 600.0, "ten minutes, Graph's maximum");

    jws.verify_rsa(Algorithm::RS256, &rsa_public_key(&cert.der))
        .expect("signed by the certificate's key");
}

#[test]
fn the_other_documented_audience_is_one_setting_away() {
    let (_, jws, _) = decoded(ProofAudience::MicrosoftGraph);
    assert_eq!(
        jws.claim_str("aud"),
        Some("00000003-0000-0000-c000-000000000000")
    );
    for (name, audience) in [
        ("aad-graph", ProofAudience::AzureAdGraph),
        (
            "00000002-0000-0000-c000-000000000000",
            ProofAudience::AzureAdGraph,
        ),
        ("Microsoft-Graph", ProofAudience::MicrosoftGraph),
        (
            "00000003-0000-0000-c000-000000000000",
            ProofAudience::MicrosoftGraph,
        ),
    ] {
        assert_eq!(ProofAudience::from_name(name), Some(audience), "{name}");
    }
    assert_eq!(ProofAudience::from_name("graph"), None);
}

#[test]
fn a_signer_not_yet_valid_is_refused_before_anything_is_signed() {
    let later = TestCert::generate("later", START + Duration::days(1), Duration::days(30));
    let err = proof_of_possession(
        &later.signer(),
        APP_OBJECT_ID,
        ProofAudience::default(),
        START,
    )
    .unwrap_err();
    assert!(err.to_string().contains("still-valid"), "{err}");
}

#[tokio::test]
async fn the_graph_client_sends_the_audience_it_is_given() {
    let h = Harness::start().await;
    let current = h.registered_cert("current");
    let new = TestCert::generate("next", START, Duration::days(180));
    let graph = h.graph().with_proof_audience(ProofAudience::MicrosoftGraph);
    assert_eq!(graph.proof_audience(), ProofAudience::MicrosoftGraph);
    let entry = KeyCredential::for_certificate(&new.der, "CN=next", new.not_before, new.not_after);
    graph
        .add_key("app-token", APP_OBJECT_ID, &entry, &current.signer())
        .await
        .expect("the fake Graph accepts both documented audiences");
    let (_, proof) = h.server.state.last_proof.lock().unwrap().clone().unwrap();
    assert_eq!(
        proof.claim_str("aud"),
        Some("00000003-0000-0000-c000-000000000000")
    );
    assert_eq!(proof.claim_str("iss"), Some(APP_OBJECT_ID));
}
