//! The AADSTS codes an administrator meets on the device sign-in and the app-only token paths
//! arrive with their own kind and Entra's text verbatim. What to do about each (the remediation
//! naming where to act) is tenantlink-service's, tested in its `aadsts_remediations`.

mod support;

use support::{Fault, Harness};
use tenantlink_entra::{
    AadstsKind, AppTokenRequest, AssertionOptions, AssertionProfile, EntraError, Error,
};

/// An Entra error body in the layout of the reference (§0.1): `AADSTSn: text` + CRLF trailer.
fn body(error: &str, code: u64, text: &str) -> serde_json::Value {
    serde_json::json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: 6f6c4645-0202-4486-b625-fa957dfc4700\r\nCorrelation ID: 5fc87507-4086-4e77-b415-cee677eb232e\r\nTimestamp: 2026-11-27 09:00:00Z"),
        "error_codes": [code],
        "timestamp": "2026-11-27 09:00:00Z",
        "trace_id": "6f6c4645-0202-4486-b625-fa957dfc4700",
        "correlation_id": "5fc87507-4086-4e77-b415-cee677eb232e",
    })
}

fn parse(status: u16, error: &str, code: u64, text: &str) -> EntraError {
    EntraError::parse(status, body(error, code, text).to_string().as_bytes()).unwrap()
}

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
