//! Connect refused or failing: each refusal changes nothing, each failure names the call with
//! Graph's words and what to do, and what was made is reused by the next attempt.

use crate::world::{TENANT, admin, caller, request, world};
use std::sync::Arc;
use tenantlink_clock::RecordingSleeper;
use tenantlink_service::fakes::{FakeRegistrar, MemoryRepository};
use tenantlink_service::{
    Cloud, ConnectRequest, ConnectSettings, OperationKind, OperationStep, RegistrationCall,
    Repository, Role, ServiceError, Workflows, WorkflowsConfig,
};

#[tokio::test]
async fn a_plain_user_is_told_which_step_graph_refused_and_nothing_is_created() {
    let w = world();
    let op = w.connect_signed_in().await;
    w.registrar.fail_next(
        RegistrationCall::CreateApplication,
        FakeRegistrar::insufficient_privileges(),
    );
    let done = w.steps(op.id).await;
    assert_eq!(done.step, OperationStep::Failed);
    let why = done.failure.expect("failure");
    assert_eq!(
        why.code,
        "create_application:insufficient_privileges:Authorization_RequestDenied"
    );
    assert!(
        why.message
            .starts_with("Creating the application registration failed: Insufficient privileges"),
        "{}",
        why.message
    );
    assert!(
        why.remediation.contains("Global Administrator"),
        "{}",
        why.remediation
    );
    assert!(w.registrar.applications().is_empty());
    let org = w.organization(op.organization).await;
    assert_eq!(org.app_id, "", "no application recorded");
    assert_eq!(org.active_certificate, None);
    assert!(w.directory.attached().is_empty(), "no certificate attached");
}

#[tokio::test]
async fn a_failure_after_the_application_was_created_is_reused_by_the_next_attempt() {
    let w = world();
    let op = w.connect_signed_in().await;
    w.registrar.fail_next(
        RegistrationCall::GrantConsent,
        FakeRegistrar::insufficient_privileges(),
    );
    let failed = w.steps(op.id).await;
    assert_eq!(failed.step, OperationStep::Failed);
    assert!(
        failed
            .failure
            .as_ref()
            .unwrap()
            .code
            .starts_with("grant_consent:"),
        "{:?}",
        failed.failure
    );
    let app = w.registrar.applications()[0].clone();
    assert_eq!(w.organization(op.organization).await.app_id, app.app_id);

    let again = w.reconnect_signed_in(op.organization).await;
    let done = w.steps(again.id).await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(w.registrar.applications().len(), 1, "no second application");
    assert_eq!(w.registrar.calls(RegistrationCall::CreateApplication), 1);
    assert_eq!(w.registrar.calls(RegistrationCall::ServicePrincipal), 2);
    assert_eq!(w.registrar.granted(&app.app_id).len(), 3);
}

#[tokio::test]
async fn the_tenants_application_limit_is_explained() {
    let w = world();
    let op = w.connect_signed_in().await;
    w.registrar.fail_next(
        RegistrationCall::CreateApplication,
        FakeRegistrar::quota_exceeded(),
    );
    let done = w.steps(op.id).await;
    let why = done.failure.expect("failure");
    assert_eq!(
        why.code,
        "create_application:directory_quota_exceeded:Directory_QuotaExceeded"
    );
    assert!(why.message.contains("quota limit"), "{}", why.message);
}

#[tokio::test]
async fn an_unknown_permission_fails_before_anything_is_registered() {
    let w = world();
    let workflows = Workflows::new(
        Arc::new(w.repository.clone()),
        Arc::new(w.directory.clone()),
        w.clock.clone(),
        Arc::new(RecordingSleeper::advancing(w.clock.clone())),
        WorkflowsConfig {
            connect: ConnectSettings {
                permissions: vec!["Mail.Read".into(), "Mail.Teleport".into()],
                ..ConnectSettings::default()
            },
            ..WorkflowsConfig::default()
        },
    )
    .with_registrar(Arc::new(w.registrar.clone()));
    let started = workflows.start_connect(&admin(), request()).await.unwrap();
    w.directory
        .approve(&started.sign_in.as_ref().unwrap().user_code);
    workflows.settled(&admin(), started.id).await.unwrap();
    let done = workflows.connect_steps(&admin(), started.id).await.unwrap();
    let why = done.failure.expect("failure");
    assert!(
        why.code.starts_with("read_graph_permissions:"),
        "{}",
        why.code
    );
    assert!(why.message.contains("Mail.Teleport"), "{}", why.message);
    assert_eq!(w.registrar.calls(RegistrationCall::FindApplication), 0);
    assert!(w.registrar.applications().is_empty());
}

#[tokio::test]
async fn a_tenant_already_connected_is_refused_naming_its_organization() {
    let w = world();
    let first = w.connected().await;
    let sign_ins = w.directory.device_sign_ins_started();
    let again = ConnectRequest {
        tenant: TENANT.to_uppercase(),
        name: None,
        ..request()
    };
    let err = w
        .workflows
        .start_connect(&admin(), again)
        .await
        .unwrap_err();
    let ServiceError::Conflict { detail } = err else {
        panic!("{err:?}")
    };
    assert!(detail.contains(&first.id.to_string()), "{detail}");
    assert!(detail.contains("Reconnect"), "{detail}");
    assert_eq!(
        w.directory.device_sign_ins_started(),
        sign_ins,
        "no device code asked for"
    );
    assert_eq!(w.repository.organizations().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_same_tenant_in_another_cloud_is_another_organization() {
    let w = world();
    w.connected().await;
    let other = ConnectRequest {
        cloud: Cloud::Global,
        ..request()
    };
    let op = w.workflows.start_connect(&admin(), other).await.unwrap();
    assert_eq!(op.kind, OperationKind::Connect);
    assert_eq!(w.repository.organizations().await.unwrap().len(), 2);
}

#[tokio::test]
async fn refusals_change_nothing() {
    let w = world();
    let viewer = w
        .workflows
        .start_connect(&caller(Role::Operator), request())
        .await
        .unwrap_err();
    assert!(
        matches!(viewer, ServiceError::Forbidden { .. }),
        "{viewer:?}"
    );
    let bad = ConnectRequest {
        tenant: "fabrikam".into(),
        ..request()
    };
    let err = w.workflows.start_connect(&admin(), bad).await.unwrap_err();
    assert!(
        matches!(&err, ServiceError::Invalid { field, .. } if field == "tenant"),
        "{err:?}"
    );
    // A service started without a registrar explains that Connect is not available.
    let plain = Workflows::new(
        Arc::new(MemoryRepository::new()),
        Arc::new(w.directory.clone()),
        w.clock.clone(),
        Arc::new(RecordingSleeper::advancing(w.clock.clone())),
        WorkflowsConfig::default(),
    );
    let err = plain.start_connect(&admin(), request()).await.unwrap_err();
    assert!(matches!(err, ServiceError::Conflict { .. }), "{err:?}");
    assert!(w.repository.organizations().await.unwrap().is_empty());
    assert_eq!(w.directory.device_sign_ins_started(), 0);
}

#[tokio::test]
async fn the_connect_steps_run_only_on_a_signed_in_connect_operation() {
    let w = world();
    let started = w
        .workflows
        .start_connect(&admin(), request())
        .await
        .unwrap();
    let early = w
        .workflows
        .start_connect_steps(&admin(), started.id)
        .await
        .unwrap_err();
    assert!(matches!(early, ServiceError::WrongStep { .. }), "{early:?}");
    let signed_in = w.sign_in(&started).await;
    let done = w.steps(signed_in.id).await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    // A Generate is not a connect operation; and a certificate operation cannot be `connect`.
    let generate = w
        .workflows
        .start(&admin(), done.organization, OperationKind::Generate)
        .await
        .unwrap();
    let wrong = w
        .workflows
        .start_connect_steps(&admin(), generate.id)
        .await
        .unwrap_err();
    assert!(matches!(wrong, ServiceError::Invalid { .. }), "{wrong:?}");
    w.workflows.cancel(&admin(), generate.id).await.unwrap();
    let err = w
        .workflows
        .start(&admin(), done.organization, OperationKind::Connect)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid { .. }), "{err:?}");
}
