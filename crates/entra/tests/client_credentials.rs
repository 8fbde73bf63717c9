//! App-only tokens with a certificate against the loopback fake Entra, which verifies each
//! assertion's signature with the registered certificate: both header profiles, each
//! AADSTS700027 reason, and the token cache.

mod support;

use std::sync::Arc;

use support::{CLIENT_ID, Harness, START, TestCert};
use tenantlink_entra::{
    AadstsKind, AppTokenRequest, AssertionOptions, AssertionProfile, Error, KeyRejectionReason,
};
use time::Duration;

const SCOPE: &str = "https://graph.microsoft.com/.default";

fn request(
    h: &Harness,
    profile: AssertionProfile,
) -> (tenantlink_entra::TenantId, AssertionOptions) {
    (
        h.tenant(),
        AssertionOptions {
            profile,
            include_x5c: false,
        },
    )
}

#[tokio::test]
async fn both_assertion_profiles_are_accepted_with_their_headers_and_claims() {
    let h = Harness::start().await;
    let cert = h.registered_cert("both-profiles");
    let signer = cert.signer();
    for (profile, alg, thumb_header, thumb) in [
        (AssertionProfile::Rs256X5t, "RS256", "x5t", signer.x5t()),
        (
            AssertionProfile::Ps256X5tS256,
            "PS256",
            "x5t#S256",
            signer.x5t_s256(),
        ),
    ] {
        let (tenant, assertion) = request(&h, profile);
        let token = h
            .tokens()
            .fetch(
                AppTokenRequest {
                    tenant: &tenant,
                    client_id: CLIENT_ID,
                    scope: SCOPE,
                    assertion,
                },
                &signer,
            )
            .await
            .unwrap();
        assert_eq!(token.roles(), vec!["Application.ReadWrite.OwnedBy"]);
        assert_eq!(token.expires_at, START + Duration::seconds(3599));
        let jws = h
            .server
            .state
            .last_assertion
            .lock()
            .unwrap()
            .clone()
            .unwrap();
        assert_eq!(jws.header_str("alg"), Some(alg));
        assert_eq!(jws.header_str("typ"), Some("JWT"));
        assert_eq!(jws.header_str(thumb_header), Some(thumb.as_str()));
        assert_eq!(
            jws.header.len(),
            3,
            "alg, typ and one thumbprint: {:?}",
            jws.header
        );
        assert_eq!(
            jws.claim_str("aud"),
            Some(h.server.token_endpoint().as_str())
        );
        assert_eq!(jws.claim_str("iss"), Some(CLIENT_ID));
        assert_eq!(jws.claim_str("sub"), Some(CLIENT_ID));
        assert!(uuid::Uuid::parse_str(jws.claim_str("jti").unwrap()).is_ok());
        let now = START.unix_timestamp() as f64;
        assert_eq!(jws.claim_date("nbf"), Some(now));
        assert_eq!(jws.claim_date("iat"), Some(now));
        assert_eq!(jws.claim_date("exp"), Some(now + 600.0));
        let form = h.server.requests("/token").last().unwrap().form.clone();
        assert_eq!(
            form["client_assertion_type"],
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert_eq!(form["grant_type"], "client_credentials");
        assert_eq!(form["scope"], SCOPE);
    }
}

#[tokio::test]
async fn x5c_carries_the_leaf_certificate_when_asked() {
    let h = Harness::start().await;
    let cert = h.registered_cert("x5c");
    let tenant = h.tenant();
    let assertion = AssertionOptions {
        profile: AssertionProfile::Ps256X5tS256,
        include_x5c: true,
    };
    h.tokens()
        .fetch(
            AppTokenRequest {
                tenant: &tenant,
                client_id: CLIENT_ID,
                scope: SCOPE,
                assertion,
            },
            &cert.signer(),
        )
        .await
        .unwrap();
    let jws = h
        .server
        .state
        .last_assertion
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    use base64::Engine as _;
    let x5c = jws.header["x5c"].as_array().unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(x5c[0].as_str().unwrap())
            .unwrap(),
        cert.der
    );
}

async fn rejection(
    h: &Harness,
    signer: &tenantlink_entra::SigningCertificate,
    profile: AssertionProfile,
) -> tenantlink_entra::EntraError {
    let (tenant, assertion) = request(h, profile);
    let err = h
        .tokens()
        .fetch(
            AppTokenRequest {
                tenant: &tenant,
                client_id: CLIENT_ID,
                scope: SCOPE,
                assertion,
            },
            signer,
        )
        .await
        .unwrap_err();
    match err {
        Error::Entra(e) => *e,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn each_aadsts700027_reason_is_parsed() {
    let h = Harness::start().await;
    // Key not found: a certificate that was never attached.
    let stranger = TestCert::generate("stranger", START - Duration::days(1), Duration::days(30));
    let e = rejection(&h, &stranger.signer(), AssertionProfile::Rs256X5t).await;
    let AadstsKind::AssertionKeyRejected(r) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(r.reason, KeyRejectionReason::KeyNotFound);
    assert_eq!(
        r.client_thumbprint.as_deref(),
        Some(stranger.signer().sha1_hex().as_str())
    );
    assert_eq!(e.http_status, 401);

    // Key expired: attached, but its window ended before now.
    let old = TestCert::generate("old", START - Duration::days(400), Duration::days(365));
    h.server
        .register_key(&old.der, old.not_before, old.not_after);
    let e = rejection(&h, &old.signer(), AssertionProfile::Ps256X5tS256).await;
    let AadstsKind::AssertionKeyRejected(r) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(r.reason, KeyRejectionReason::KeyExpired);
    assert_eq!(r.found_key_end, Some(old.not_after));
    assert_eq!(r.found_key_start, Some(old.not_before));
    assert!(
        e.description.contains("[Reason - The key used is expired."),
        "verbatim text kept"
    );

    // Signature mismatch: the attached certificate with another private key.
    let attached = h.registered_cert("attached");
    let impostor = TestCert::generate("impostor", START - Duration::days(1), Duration::days(30));
    let forged = tenantlink_entra::SigningCertificate::from_parts(
        attached.der.clone(),
        vec![],
        &impostor.pkcs8,
        attached.not_before,
        attached.not_after,
    )
    .unwrap();
    let e = rejection(&h, &forged, AssertionProfile::Rs256X5t).await;
    let AadstsKind::AssertionKeyRejected(r) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(r.reason, KeyRejectionReason::SignatureMismatch);
    assert_eq!(r.found_key_end, Some(attached.not_after));
}

#[tokio::test]
async fn cache_hits_then_refreshes_ahead_of_expiry() {
    let h = Harness::start().await;
    let cert = h.registered_cert("cache");
    let signer = cert.signer();
    let tokens = h.tokens();
    let (tenant, assertion) = request(&h, AssertionProfile::Rs256X5t);
    let req = AppTokenRequest {
        tenant: &tenant,
        client_id: CLIENT_ID,
        scope: SCOPE,
        assertion,
    };
    let first = tokens.app_token(req, &signer).await.unwrap();
    let second = tokens.app_token(req, &signer).await.unwrap();
    assert!(Arc::ptr_eq(&first, &second), "served from the cache");
    assert_eq!(
        h.server
            .state
            .token_issued
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );

    // 3599 s token: still cached 54 minutes later, refreshed inside the last 5 minutes.
    h.clock.advance(Duration::minutes(54));
    tokens.app_token(req, &signer).await.unwrap();
    assert_eq!(
        h.server
            .state
            .token_issued
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    h.clock.advance(Duration::minutes(1));
    let refreshed = tokens.app_token(req, &signer).await.unwrap();
    assert!(!Arc::ptr_eq(&first, &refreshed));
    assert_eq!(
        h.server
            .state
            .token_issued
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
    assert_eq!(
        refreshed.expires_at,
        h.clock_now() + Duration::seconds(3599)
    );
}

trait ClockNow {
    fn clock_now(&self) -> time::OffsetDateTime;
}
impl ClockNow for Harness {
    fn clock_now(&self) -> time::OffsetDateTime {
        use tenantlink_clock::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn a_new_certificate_drops_the_old_entries() {
    let h = Harness::start().await;
    let old = h.registered_cert("old");
    let new = h.registered_cert("new");
    let tokens = h.tokens();
    let (tenant, assertion) = request(&h, AssertionProfile::Rs256X5t);
    let req = AppTokenRequest {
        tenant: &tenant,
        client_id: CLIENT_ID,
        scope: SCOPE,
        assertion,
    };
    tokens.app_token(req, &old.signer()).await.unwrap();
    assert_eq!(tokens.cache().len(), 1);
    tokens.app_token(req, &new.signer()).await.unwrap();
    assert_eq!(
        tokens.cache().len(),
        1,
        "the old certificate's entry is gone"
    );
    assert_eq!(
        h.server
            .state
            .token_issued
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
    tokens.cache().invalidate(tenant.as_str(), CLIENT_ID);
    assert!(tokens.cache().is_empty());
    tokens.app_token(req, &new.signer()).await.unwrap();
    assert_eq!(
        h.server
            .state
            .token_issued
            .load(std::sync::atomic::Ordering::SeqCst),
        3
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_request() {
    let h = Harness::start().await;
    let cert = h.registered_cert("single-flight");
    let signer = Arc::new(cert.signer());
    let tokens = h.tokens();
    let gate = h.server.gate_tokens();
    let tenant = h.tenant();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (tokens, signer, tenant) = (tokens.clone(), signer.clone(), tenant.clone());
        tasks.push(tokio::spawn(async move {
            let req = AppTokenRequest {
                tenant: &tenant,
                client_id: CLIENT_ID,
                scope: SCOPE,
                assertion: AssertionOptions::default(),
            };
            tokens.app_token(req, &signer).await.unwrap()
        }));
    }
    // The first request reached the server and is held; on this single-threaded runtime the
    // yields let every other caller run up to where it waits.
    gate.arrived.notified().await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    h.server.ungate_tokens();
    gate.release.notify_waiters();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert!(results.iter().all(|t| Arc::ptr_eq(t, &results[0])));
    assert_eq!(
        h.server.requests("/token").len(),
        1,
        "one assertion, one request"
    );
}
