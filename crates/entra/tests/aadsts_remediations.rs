//! The AADSTS codes an administrator meets on the device sign-in and the app-only token paths
//! arrive with their own kind and Entra's text verbatim. What to do about each (the remediation
//! naming where to act) is tenantlink-service's, tested in its `aadsts_remediations`.

mod support;

use support::{Fault, Harness};
use tenantlink_entra::test_util::{error_body as body, parse_error as parse};
use tenantlink_entra::{AadstsKind, AppTokenRequest, AssertionOptions, AssertionProfile, Error};

const CONSENT_TEXT: &str = "The user or administrator has not consented to use the application with ID '11111111-2222-3333-4444-555555555555' named 'tenantlink'. Send an interactive authorization request for this user and resource.";
const BLOCKED_TEXT: &str = "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.";

#[test]
fn a_declined_sign_in_keeps_its_kind_although_entra_numbers_it_70000() {
    let declined = parse(
        400,
        "authorization_declined",
        70000,
        "The user declined to authorize the request.",
    );
    assert_eq!(declined.kind, AadstsKind::AuthorizationDeclined);
    let grant = parse(400, "invalid_grant", 70000, "Provided grant is invalid.");
    assert_eq!(grant.kind, AadstsKind::InvalidGrant);
}

#[tokio::test]
async fn consent_required_during_device_sign_in_is_explained() {
    let h = Harness::start().await;
    let device = h.device();
    let scopes = vec!["https://graph.microsoft.com/Application.ReadWrite.All".to_owned()];
    let code = device
        .start(&h.tenant(), support::CLIENT_ID, &scopes)
        .await
        .unwrap();
    h.server.push_fault(Fault::Status {
        status: 400,
        retry_after: None,
        body: body("invalid_grant", 65001, CONSENT_TEXT),
    });
    let err = device
        .wait(&code, std::future::pending::<()>())
        .await
        .unwrap_err();
    let Error::Entra(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.kind, AadstsKind::ConsentRequired);
    // The crate-wide summary (what the portal, job log and CLI show) is the specific one.
    assert_eq!(err.summary(), e.summary());
    assert!(e.description.contains("named 'tenantlink'"));
}

#[tokio::test]
async fn conditional_access_on_the_app_only_token_is_explained() {
    let h = Harness::start().await;
    let cert = h.registered_cert("blocked");
    h.server.push_fault(Fault::Status {
        status: 400,
        retry_after: None,
        body: body("invalid_grant", 53003, BLOCKED_TEXT),
    });
    let tenant = h.tenant();
    let err = h
        .tokens()
        .fetch(
            AppTokenRequest {
                tenant: &tenant,
                client_id: support::CLIENT_ID,
                scope: "https://graph.microsoft.com/.default",
                assertion: AssertionOptions {
                    profile: AssertionProfile::Rs256X5t,
                    include_x5c: false,
                },
            },
            &cert.signer(),
        )
        .await
        .unwrap_err();
    let Error::Entra(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.kind, AadstsKind::BlockedByConditionalAccess);
    assert_eq!(err.summary(), e.summary());
    assert!(e.description.contains(BLOCKED_TEXT));
}
