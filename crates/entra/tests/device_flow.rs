//! Device sign-in against the loopback fake Entra: polling rhythm, slow_down, and each way a
//! sign-in can end.

mod support;

use std::time::Duration;

use support::{Harness, TENANT};
use tenantlink_entra::{DeviceFlowError, Error};

fn scopes() -> Vec<String> {
    vec!["https://graph.microsoft.com/Application.ReadWrite.All".to_owned()]
}

#[tokio::test]
async fn pending_then_slow_down_then_success_names_who_signed_in() {
    let h = Harness::start().await;
    h.server.script_device(&[
        "authorization_pending",
        "slow_down",
        "authorization_pending",
        "ok",
    ]);
    let device = h.device();
    let code = device
        .start(&h.tenant(), support::CLIENT_ID, &scopes())
        .await
        .unwrap();
    assert_eq!(code.user_code, "BPPVYQZMA");
    assert_eq!(code.verification_uri, "https://microsoft.com/devicelogin");
    assert!(code.message.contains("enter the code BPPVYQZMA"));
    assert_eq!(code.interval, Duration::from_secs(5));
    assert_eq!(
        code.expires_at,
        support::START + time::Duration::seconds(900)
    );
    assert!(
        !format!("{code:?}").contains("DEVICE-CODE-SECRET"),
        "device code is redacted"
    );

    let signed_in = device.wait(&code, std::future::pending()).await.unwrap();
    assert_eq!(
        signed_in.account.user_principal_name.as_deref(),
        Some("admin@contoso.onmicrosoft.com")
    );
    assert_eq!(
        signed_in.account.object_id.as_deref(),
        Some("0f0f0f0f-1111-2222-3333-444444444444")
    );
    assert_eq!(signed_in.account.tenant_id.as_deref(), Some(TENANT));
    assert!(!format!("{signed_in:?}").contains(signed_in.access_token.expose()));

    // Interval honoured, +5 s after slow_down and kept from then on.
    let secs: Vec<u64> = h.sleeper.waits().iter().map(Duration::as_secs).collect();
    assert_eq!(secs, vec![5, 5, 10, 10]);
    let polls = h.server.requests("/oauth2/v2.0/token");
    assert_eq!(polls.len(), 4);
    assert_eq!(
        polls[0].form["grant_type"],
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_eq!(polls[0].form["device_code"], "DEVICE-CODE-SECRET");
    let start = &h.server.requests("/devicecode")[0];
    assert!(start.form["scope"].contains("openid"));
    assert!(
        !start.form["scope"].contains("offline_access"),
        "no refresh token is asked for"
    );
}

#[tokio::test]
async fn declined_expired_and_bad_code_are_distinct_errors() {
    for (step, check) in [
        (
            "authorization_declined",
            (|e: &DeviceFlowError| matches!(e, DeviceFlowError::Declined(_)))
                as fn(&DeviceFlowError) -> bool,
        ),
        ("expired_token", |e| {
            matches!(e, DeviceFlowError::Expired(_))
        }),
        ("bad_verification_code", |e| {
            matches!(e, DeviceFlowError::BadVerificationCode(_))
        }),
    ] {
        let h = Harness::start().await;
        h.server.script_device(&["authorization_pending", step]);
        let device = h.device();
        let code = device
            .start(&h.tenant(), support::CLIENT_ID, &scopes())
            .await
            .unwrap();
        let err = device
            .wait(&code, std::future::pending())
            .await
            .unwrap_err();
        let Error::DeviceFlow(flow) = &err else {
            panic!("{step}: {err:?}")
        };
        assert!(check(flow), "{step}: {flow:?}");
        assert!(!err.summary().is_empty());
        assert_eq!(
            h.server.requests("/token").len(),
            2,
            "{step}: stops polling"
        );
    }
}

#[tokio::test]
async fn stops_at_the_codes_expiry_without_polling_past_it() {
    let h = Harness::start().await;
    let device = h.device();
    let code = device
        .start(&h.tenant(), support::CLIENT_ID, &scopes())
        .await
        .unwrap();
    // The server never stops saying "pending"; the sleeper moves the clock 5 s per poll.
    let err = device
        .wait(&code, std::future::pending())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::DeviceFlow(DeviceFlowError::ExpiredLocally { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        h.server.requests("/token").len(),
        179,
        "900 s / 5 s, minus the poll at expiry"
    );
}

#[tokio::test]
async fn cancellation_ends_the_wait() {
    let h = Harness::start().await;
    let device = h.device();
    let code = device
        .start(&h.tenant(), support::CLIENT_ID, &scopes())
        .await
        .unwrap();
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    cancel.send(()).unwrap();
    let err = device
        .wait(&code, async move {
            let _ = cancelled.await;
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::DeviceFlow(DeviceFlowError::Cancelled)),
        "{err:?}"
    );
}

#[tokio::test]
async fn unknown_application_is_explained() {
    let h = Harness::start().await;
    let err = h
        .device()
        .start(&h.tenant(), "not-our-app", &scopes())
        .await
        .unwrap_err();
    let Error::Entra(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.kind, tenantlink_entra::AadstsKind::ApplicationNotFound);
}
