//! Every failure of the certificate workflows (issue 5, item 5) through the REST API of the real
//! binary, on SQLite and on PostgreSQL: each ends the operation with the explained error (Entra's
//! code where there is one), is refused any further step with a problem document, is in the
//! audit log, and leaves the organization's active certificate as it was.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use sandbox_process::GraphAdmin;
use serde_json::json;
use serve_support::scenario::{
    active_certificate, assert_failed, assert_failure_audited, assert_refuses_to_continue,
    assert_still_active, start_operation,
};
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Session, log_in, openssl_pfx};

on_both_backends!(
    sign_in_declined,
    sign_in_expired,
    insufficient_privileges,
    tenant_policy_rejects_the_certificate,
    token_still_refused_after_attaching,
    bad_files,
    certificate_not_attached,
    two_administrators_at_once,
);

async fn admin(server: &serve_support::Server) -> Session {
    log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in")
}

async fn sign_in_declined(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let admin = admin(&server).await;
    let baseline = active_certificate(&server, &admin).await;

    let (op, user_code) = start_operation(&admin, &baseline.organization, "generate").await;
    server
        .sandbox_control("/device/decline", json!({ "user_code": user_code }))
        .await;
    let failed = admin
        .wait_for(&op, |o| o["step"] != "awaiting_sign_in")
        .await;
    let failure = assert_failed(&failed, "sign_in_declined");
    assert_eq!(failure["code"], "sign_in_declined:AADSTS70000", "{failed}");
    let message = failure["message"].as_str().unwrap();
    // Entra's answer verbatim: `authorization_declined`, AADSTS70000.
    assert!(
        message.contains("declined")
            && message.contains("authorization_declined")
            && message.contains("AADSTS70000"),
        "{failed}"
    );

    assert_refuses_to_continue(&admin, &op, "generate").await;
    assert_failure_audited(&admin, "admin", "sign_in_declined").await;
    assert_still_active(&admin, &baseline).await;
}

async fn sign_in_expired(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let admin = admin(&server).await;
    let baseline = active_certificate(&server, &admin).await;

    let (op, user_code) = start_operation(&admin, &baseline.organization, "upload").await;
    let (_, pending) = admin.get(&format!("/api/v1/operations/{op}")).await;
    assert_eq!(pending["step"], "awaiting_sign_in", "{pending}");
    // Entra's device codes live 900 s; the service shares the sandbox's clock.
    server
        .sandbox_control("/clock", json!({ "advance_seconds": 901 }))
        .await;
    let failed = admin
        .wait_for(&op, |o| o["step"] != "awaiting_sign_in")
        .await;
    assert_failed(&failed, "sign_in_expired");

    // Too late for the person, too: the sandbox refuses the expired code.
    let (status, refused) = server
        .sandbox_control_status(
            "/device/approve",
            json!({ "user_code": user_code, "username": server.sandbox_admin() }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "code_expired", "{refused}");

    assert_refuses_to_continue(&admin, &op, "import").await;
    assert_failure_audited(&admin, "admin", "sign_in_expired").await;
    assert_still_active(&admin, &baseline).await;
}

async fn insufficient_privileges(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let admin = admin(&server).await;
    let baseline = active_certificate(&server, &admin).await;
    let graph = GraphAdmin::sign_in(&server.sandbox).await;
    let keys_before = graph.thumbprints().await;

    // A tenant user without an administrator role signs in on the device page.
    let (op, user_code) = start_operation(&admin, &baseline.organization, "generate").await;
    let (plain_user, _) = server.sandbox_user(false);
    server
        .sandbox_control(
            "/device/approve",
            json!({ "user_code": user_code, "username": plain_user }),
        )
        .await;
    let signed_in = admin
        .wait_for(&op, |o| o["step"] != "awaiting_sign_in")
        .await;
    assert_eq!(signed_in["step"], "signed_in", "{signed_in}");
    assert_eq!(
        signed_in["signed_in_as"],
        plain_user.as_str(),
        "{signed_in}"
    );

    let (status, failed) = admin.generate(&op).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{failed}");
    let failure = assert_failed(
        &failed,
        "insufficient_privileges:Authorization_RequestDenied",
    );
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("Insufficient privileges"),
        "Graph's own words: {failed}"
    );

    assert_refuses_to_continue(&admin, &op, "generate").await;
    assert_failure_audited(&admin, "admin", "insufficient_privileges").await;
    assert_still_active(&admin, &baseline).await;
    assert_eq!(graph.thumbprints().await, keys_before, "no key was added");
}

async fn tenant_policy_rejects_the_certificate(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let admin = admin(&server).await;
    let baseline = active_certificate(&server, &admin).await;

    // The tenant's app-management policy allows certificates of at most 30 days; the service
    // generates 365-day certificates. The sandbox's control API sets the policy while both run.
    let policy = server
        .sandbox_control(
            "/tenant/policy",
            json!({ "max_certificate_lifetime_days": 30 }),
        )
        .await;
    assert_eq!(policy["max_certificate_lifetime_days"], 30, "{policy}");
    let graph = GraphAdmin::sign_in(&server.sandbox).await;
    let keys_before = graph.thumbprints().await;
    assert_eq!(keys_before, vec![baseline.thumbprint.clone()]);

    let op = admin.signed_in_operation(&server, "generate").await;
    let (status, failed) = admin.generate(&op).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{failed}");
    let failure = assert_failed(&failed, "policy_rejected");
    let message = failure["message"].as_str().unwrap();
    assert!(
        message.contains("max value allowed as per assigned policy") && message.contains("30 days"),
        "Graph's policy text: {failed}"
    );
    assert!(
        failure["remediation"]
            .as_str()
            .unwrap()
            .contains("shorter validity"),
        "{failed}"
    );

    assert_refuses_to_continue(&admin, &op, "generate").await;
    assert_failure_audited(&admin, "admin", "policy_rejected").await;
    assert_still_active(&admin, &baseline).await;
    assert_eq!(graph.thumbprints().await, keys_before, "no key was added");
}

async fn token_still_refused_after_attaching(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    // A small retry budget, configured as an operator would: still several attempts with
    // backoff (10, 20, 40 ms), so the retry path runs, but not the default ~70 s of waiting.
    let mut options = deployment.options();
    options.env.extend(
        [
            ("TENANTLINK_PROOF_ATTEMPTS", "4"),
            ("TENANTLINK_PROOF_FIRST_DELAY_MS", "10"),
            ("TENANTLINK_PROOF_MAX_DELAY_MS", "40"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let server = serve_support::Server::start_with(&deployment.data_dir(), options);
    let admin = admin(&server).await;
    let baseline = active_certificate(&server, &admin).await;

    // New keys stay invisible to the token endpoint for a day of sandbox time: far beyond any
    // retry budget.
    server
        .sandbox_control(
            "/settings",
            json!({ "key_propagation_delay_seconds": 86_400 }),
        )
        .await;
    let op = admin.signed_in_operation(&server, "generate").await;
    let (status, failed) = admin.generate(&op).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{failed}");
    let failure = assert_failed(&failed, "token_refused:credential_rejected:AADSTS700027");
    let message = failure["message"].as_str().unwrap();
    assert!(message.contains("after 4 attempts"), "{failed}");
    let new_thumbprint = failed["sha1_thumbprint"].as_str().unwrap();
    assert_ne!(new_thumbprint, baseline.thumbprint);

    // The key did reach the application (the attach worked) but was never activated.
    let graph = GraphAdmin::sign_in(&server.sandbox).await;
    assert!(
        graph
            .thumbprints()
            .await
            .contains(&new_thumbprint.to_owned())
    );
    assert_refuses_to_continue(&admin, &op, "generate").await;
    let audited = assert_failure_audited(&admin, "admin", "token_refused").await;
    assert_eq!(audited["thumbprints"][0], new_thumbprint, "{audited}");
    assert_still_active(&admin, &baseline).await;
}

async fn bad_files(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let admin = admin(&server).await;
    let baseline = active_certificate(&server, &admin).await;
    let (pfx, _) = openssl_pfx(&deployment.scratch_dir("pfx"), "pfx-pass-4711");

    let cases: [(&str, Vec<u8>, Option<&str>, &str); 3] = [
        (
            "not PKCS#12",
            b"-----BEGIN CERTIFICATE-----\nnot a pfx\n".to_vec(),
            None,
            "bad_file:not_pkcs12",
        ),
        (
            "wrong password",
            pfx.clone(),
            Some("not-the-password"),
            "bad_file:wrong_password",
        ),
        ("password required", pfx, None, "bad_file:password_required"),
    ];
    for (case, file, password, code) in cases {
        let op = admin.signed_in_operation(&server, "upload").await;
        let (status, failed) = admin.import(&op, file, password).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{case}: {failed}");
        let failure = assert_failed(&failed, code);
        assert_eq!(failure["code"], code, "{case}");
        assert!(
            failure["remediation"].as_str().unwrap().contains(".pfx"),
            "{case}: {failed}"
        );
        assert!(failed["certificate"].is_null(), "{case}: nothing stored");
        assert_refuses_to_continue(&admin, &op, "import").await;
        assert_failure_audited(&admin, "admin", code).await;
        assert_still_active(&admin, &baseline).await;
    }
}

async fn certificate_not_attached(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let admin = admin(&server).await;
    let baseline = active_certificate(&server, &admin).await;
    let (pfx, thumbprint) = openssl_pfx(&deployment.scratch_dir("pfx"), "pfx-pass-4711");

    let op = admin.signed_in_operation(&server, "upload").await;
    let (status, failed) = admin.import(&op, pfx, Some("pfx-pass-4711")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{failed}");
    let failure = assert_failed(&failed, "not_attached");
    let message = failure["message"].as_str().unwrap();
    let app_id = server.sandbox["backup_app"]["app_id"].as_str().unwrap();
    assert!(
        message.contains(&thumbprint)
            && message.contains(app_id)
            && message.contains("tenantlink backup"),
        "names the thumbprint and the application: {failed}"
    );
    assert!(
        failure["remediation"]
            .as_str()
            .unwrap()
            .contains("Certificates & secrets"),
        "{failed}"
    );

    assert_refuses_to_continue(&admin, &op, "import").await;
    assert_failure_audited(&admin, "admin", "not_attached").await;
    assert_still_active(&admin, &baseline).await;
}

async fn two_administrators_at_once(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let alice = admin(&server).await;
    let (status, created) = alice
        .post(
            "/api/v1/users",
            json!({"username": "bob", "password": "bob-the-second-admin", "role": "administrator"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let bob = log_in(&server.base, "bob", "bob-the-second-admin")
        .await
        .expect("bob signs in");
    let organization = alice.first_organization().await;
    let path = format!("/api/v1/organizations/{organization}/operations");

    let (a, b) = tokio::join!(
        alice.post(&path, json!({"kind": "generate"})),
        bob.post(&path, json!({"kind": "upload"})),
    );
    let mut outcomes = [a, b];
    outcomes.sort_by_key(|(status, _)| *status);
    let [(won, operation), (lost, problem)] = outcomes;
    assert_eq!(won, StatusCode::CREATED, "{operation}");
    assert_eq!(lost, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/conflict", "{problem}");
    assert_eq!(problem["status"], 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("operation")),
        "the problem explains the running operation: {problem}"
    );

    // Only the winner's operation exists, and a second try while it runs is refused too.
    let (_, operations) = alice.get(&path).await;
    assert_eq!(operations.as_array().unwrap().len(), 1, "{operations}");
    assert_eq!(operations[0]["id"], operation["id"], "{operations}");
    let (status, problem) = bob.post(&path, json!({"kind": "generate"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/conflict", "{problem}");
}
