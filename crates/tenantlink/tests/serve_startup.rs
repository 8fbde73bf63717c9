//! Start-up order: `serve` listens before it resumes the operations a killed process left
//! unfinished, because resuming may wait on Entra for a minute (the token proof retries while a
//! new key propagates). A standalone `tenantlink sandbox` stands in for the cloud, so its key
//! propagation delay outlives the restart of `serve`.

mod config_support;
mod openssl_support;
mod sandbox_process;
mod serve_support;

use config_support::Serve;
use reqwest::StatusCode;
use sandbox_process::Sandbox;
use serde_json::json;
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, log_in};
use std::path::Path;

fn start(data_dir: &Path, cloud: &Sandbox) -> Serve {
    let (tenant, app_id) = (cloud.text("/tenant_id"), cloud.text("/backup_app/app_id"));
    let (authority, ca_file, client) = (
        cloud.text("/authority"),
        cloud.text("/ca_file"),
        cloud.text("/public_client_id"),
    );
    Serve::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_dir.to_str().unwrap(),
        ],
        &[
            ("TENANTLINK_TENANT", tenant.as_str()),
            ("TENANTLINK_APP_ID", app_id.as_str()),
            ("TENANTLINK_AUTHORITY", authority.as_str()),
            ("TENANTLINK_GRAPH", authority.as_str()),
            ("TENANTLINK_CA_FILE", ca_file.as_str()),
            ("TENANTLINK_DEVICE_CLIENT_ID", client.as_str()),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_serve_answers_while_it_resumes_an_operation_waiting_on_entra() {
    let Some(deployment) = Deployment::new(Backend::Sqlite) else {
        return;
    };
    let cloud = Sandbox::start(&deployment.scratch_dir("cloud"));
    // A new key stays invisible to the token endpoint for 25 s: the proof keeps retrying.
    cloud
        .control("/settings", json!({ "key_propagation_delay_seconds": 25 }))
        .await;
    let data_dir = deployment.scratch_dir("data");
    let serve = start(&data_dir, &cloud);
    let admin = log_in(&serve.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let organization = admin.first_organization().await;
    let (status, started) = admin
        .post(
            &format!("/api/v1/organizations/{organization}/operations"),
            json!({ "kind": "generate" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let op = started["id"].as_str().unwrap().to_owned();
    cloud
        .approve(started["sign_in"]["user_code"].as_str().unwrap())
        .await;
    admin.wait_for(&op, |o| o["step"] == "signed_in").await;
    let (status, _) = admin
        .post(&format!("/api/v1/operations/{op}/generate"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    admin.wait_for(&op, |o| o["step"] == "attached").await;

    // Killed while proving; started again on the same data directory.
    drop(serve);
    let serve = start(&data_dir, &cloud);
    let admin = log_in(&serve.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let (status, seen) = admin.get(&format!("/api/v1/operations/{op}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        seen["step"], "attached",
        "serving while the resumed proof still waits on Entra: {seen}"
    );

    // And the resumed operation finishes by itself.
    let done = admin
        .wait_for(&op, |o| o["step"] == "succeeded" || o["step"] == "failed")
        .await;
    assert_eq!(done["step"], "succeeded", "{done}");
    let (_, page) = admin
        .get(&format!("/api/v1/organizations/{organization}/certificate"))
        .await;
    assert_eq!(page["active"]["sha1_thumbprint"], done["sha1_thumbprint"]);
}
