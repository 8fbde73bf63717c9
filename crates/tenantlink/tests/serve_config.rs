//! `tenantlink serve` configured by a TOML file: a real tenant through the same code (a standalone
//! sandbox process stands in for a Microsoft cloud as explicit authority / Graph / CA file, and no
//! in-process sandbox starts), and configuration mistakes that stop the start with the setting
//! named.

mod config_support;
mod openssl_support;
mod sandbox_process;

use config_support::{Serve, log_in, serve_refuses};
use reqwest::StatusCode;
use sandbox_process::Sandbox;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_tenant_replaces_the_sandbox_and_the_generate_workflow_works_against_it() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = Sandbox::start(&dir.path().join("cloud"));
    let data = dir.path().join("data");
    let config = dir.path().join("tenantlink.toml");
    std::fs::write(
        &config,
        format!(
            r#"
listen = "127.0.0.1:0"
data_dir = "data"

[certificates]
validity_days = 90
expiring_soon_days = 14

[organization]
name = "Contoso (stand-in cloud)"
tenant = "{tenant}"
app_id = "{app_id}"
cloud = "global"
device_client_id = "{public_client}"
authority = "{authority}"
graph = "{authority}"
ca_file = "{ca_file}"
"#,
            tenant = cloud.text("/tenant_id"),
            app_id = cloud.info["backup_app"]["app_id"].as_str().unwrap(),
            public_client = cloud.text("/public_client_id"),
            authority = cloud.text("/authority"),
            ca_file = cloud.text("/ca_file"),
        ),
    )
    .unwrap();

    let serve = Serve::start(&["--config", config.to_str().unwrap()], &[]);
    let directory_line = serve
        .stdout_lines
        .iter()
        .find(|l| l.starts_with("directory "))
        .expect("the banner names the directory");
    assert!(
        directory_line.contains(&format!(
            "tenant {} (global cloud) at {}",
            cloud.text("/tenant_id"),
            cloud.text("/authority")
        )),
        "{directory_line}"
    );
    assert!(
        data.join("tenantlink.db").exists(),
        "data_dir relative to the file"
    );
    assert!(
        !data.join("sandbox").exists(),
        "no in-process sandbox is started for a configured tenant"
    );

    let http = cloud.client();
    let (_, cookie, csrf) = log_in(&http, &serve.base).await;
    let get = |path: String| {
        let request = http
            .get(format!("{}{path}", serve.base))
            .header("cookie", &cookie);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let organizations = get("/api/v1/organizations".into()).await;
    let organization = &organizations["rows"].as_array().unwrap()[0];
    assert_eq!(organizations["rows"].as_array().unwrap().len(), 1);
    assert_eq!(organization["cloud"], "global");
    assert_eq!(organization["tenant"], cloud.text("/tenant_id"));
    assert_eq!(organization["name"], "Contoso (stand-in cloud)");
    assert!(
        organization["app_object_id"].is_null(),
        "unknown until the first sign-in: {organization}"
    );
    let org = organization["id"].as_str().unwrap().to_owned();

    // Generate through the device sign-in, approved on the stand-in cloud.
    let response = http
        .post(format!(
            "{}/api/v1/organizations/{org}/operations",
            serve.base
        ))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({ "kind": "generate" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let operation: Value = response.json().await.unwrap();
    let id = operation["id"].as_str().unwrap().to_owned();
    let verification = operation["sign_in"]["verification_uri"].as_str().unwrap();
    assert!(
        verification.starts_with(&cloud.text("/authority")),
        "the sign-in page is the configured authority's: {verification}"
    );
    cloud
        .approve(operation["sign_in"]["user_code"].as_str().unwrap())
        .await;
    // The service learns of the sign-in from its own poll of the token endpoint (an external
    // event): read the operation until it moves, with a deadline.
    let deadline = Instant::now() + Duration::from_secs(60);
    let signed_in = loop {
        let op = get(format!("/api/v1/operations/{id}")).await;
        if op["step"] != "awaiting_sign_in" {
            break op;
        }
        assert!(Instant::now() < deadline, "sign-in never seen: {op}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(signed_in["step"], "signed_in", "{signed_in}");
    let organizations = get("/api/v1/organizations".into()).await;
    assert_eq!(
        organizations["rows"][0]["app_object_id"], cloud.info["backup_app"]["object_id"],
        "looked up through Graph at the first sign-in"
    );

    let response = http
        .post(format!("{}/api/v1/operations/{id}/generate", serve.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    // Generate runs in the background: follow the operation to its outcome.
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let op = get(format!("/api/v1/operations/{id}")).await;
        if op["step"] == "succeeded" || op["step"] == "failed" {
            break op;
        }
        assert!(Instant::now() < deadline, "generate never finished: {op}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done["step"], "succeeded", "{done}");
    let page = get(format!("/api/v1/organizations/{org}/certificate")).await;
    assert_eq!(page["active"]["sha1_thumbprint"], done["sha1_thumbprint"]);
    assert_eq!(
        page["active"]["days_left"], 89,
        "validity_days from the file"
    );
    assert_eq!(page["state"], "valid");
}

#[test]
fn configuration_mistakes_stop_the_start_and_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let config = dir.path().join("tenantlink.toml");

    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\n[certificates]\nvalidty_days = 90\n",
    )
    .unwrap();
    let stderr = serve_refuses(
        &["--config", config.to_str().unwrap(), "--data-dir", data_arg],
        &[],
    );
    assert!(
        stderr.starts_with(&format!(
            "error: config: configuration file {} line 3, key `certificates.validty_days`: unknown field `validty_days`",
            config.display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");

    std::fs::write(&config, "[certificates]\nkey_size = \"big\"\n").unwrap();
    let stderr = serve_refuses(
        &["--data-dir", data_arg],
        &[("TENANTLINK_CONFIG", config.to_str().unwrap())],
    );
    assert!(
        stderr.contains("line 2, key `certificates.key_size`") && stderr.contains("expected u32"),
        "{stderr}"
    );

    let stderr = serve_refuses(
        &["--data-dir", data_arg, "--listen", "127.0.0.1:0"],
        &[("TENANTLINK_VALIDITY_DAYS", "5000")],
    );
    assert!(
        stderr.contains(
            "error: config: validity of 5000 days (TENANTLINK_VALIDITY_DAYS) is out of range"
        ),
        "{stderr}"
    );

    let stderr = serve_refuses(
        &["--data-dir", data_arg, "--listen", "127.0.0.1:0"],
        &[
            ("TENANTLINK_TENANT", "contoso.onmicrosoft.com"),
            ("TENANTLINK_APP_ID", "11111111-2222-3333-4444-555555555555"),
            ("TENANTLINK_CLOUD", "moon"),
        ],
    );
    assert!(
        stderr.contains("unknown cloud \"moon\"") && stderr.contains("(TENANTLINK_CLOUD)"),
        "{stderr}"
    );
    let stderr = serve_refuses(
        &["--data-dir", data_arg, "--listen", "127.0.0.1:0"],
        &[
            ("TENANTLINK_TENANT", "contoso.onmicrosoft.com"),
            ("TENANTLINK_APP_ID", "11111111-2222-3333-4444-555555555555"),
            ("TENANTLINK_CA_FILE", "/nonexistent/ca.pem"),
        ],
    );
    assert!(
        stderr.starts_with("error: config: cannot read the extra CA file /nonexistent/ca.pem"),
        "{stderr}"
    );
    assert!(
        !data.join("tenantlink.db").exists(),
        "nothing was created by a refused start"
    );
}
