//! A crash between attaching a new certificate and activating it: after the restart the operation
//! is resolved and the organization has a working, active certificate.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use serde_json::json;
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, log_in};

on_both_backends!(killed_between_attach_and_activate_the_operation_resolves_after_restart);

async fn killed_between_attach_and_activate_the_operation_resolves_after_restart(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    // The new key stays invisible to the token endpoint for a while, so the service is still
    // retrying its token proof (after the attach, before activation) when it is killed.
    server
        .sandbox_control("/settings", json!({ "key_propagation_delay_seconds": 15 }))
        .await;
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let org = admin.first_organization().await;
    let op = admin.signed_in_operation(&server, "generate").await;

    let in_flight = admin.clone();
    let path = format!("/api/v1/operations/{op}/generate");
    let generate = tokio::spawn(async move { in_flight.post(&path, json!({})).await });
    let attached = admin.wait_for(&op, |o| o["step"] == "attached").await;
    let thumbprint = attached["sha1_thumbprint"].as_str().unwrap().to_owned();
    let restarted = server.restart();
    generate.abort();

    let admin = log_in(&restarted.base, "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    // The restarted process listens first and resumes the operation in the background.
    let op = admin
        .wait_for(&op, |o| o["step"] == "succeeded" || o["step"] == "failed")
        .await;
    assert_eq!(op["step"], "succeeded", "{op}");
    let (_, page) = admin
        .get(&format!("/api/v1/organizations/{org}/certificate"))
        .await;
    assert_eq!(page["state"], "valid", "{page}");
    assert_eq!(page["active"]["sha1_thumbprint"], thumbprint.as_str());
}
