//! Each organization talks to its own cloud (issue 5, "Organizations"): `tenantlink serve` on its
//! defaults (the in-process sandbox) with `[clouds.usgov]` pointing at a standalone `tenantlink
//! sandbox` process. An organization added with cloud `usgov` gets its certificate through the
//! standalone sandbox only, and its backup policy reads the standalone sandbox's mail; the
//! default organization keeps using the in-process one. And an organization whose cloud has no
//! directory in this `serve` is refused, changing nothing. On SQLite and PostgreSQL.

mod config_support;
mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use sandbox_process::{GraphAdmin, Sandbox};
use serde_json::{Value, json};
use serve_support::scenario::{certificate_page, finished_run};
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Session, log_in};

on_both_backends!(
    an_organization_in_another_cloud_uses_that_clouds_directory,
    an_organization_whose_cloud_is_not_here_is_refused_and_nothing_changes,
);

async fn an_organization_in_another_cloud_uses_that_clouds_directory(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let usgov = Sandbox::start(&deployment.scratch_dir("usgov-cloud"));
    let data = deployment.data_dir();
    std::fs::create_dir_all(&data).unwrap();
    // The data directory's own configuration file; the in-process sandbox still starts.
    std::fs::write(
        data.join("tenantlink.toml"),
        format!(
            r#"
[clouds.usgov]
authority = "{authority}"
graph = "{authority}"
ca_file = "{ca_file}"
device_client_id = "{public_client}"
# The stand-in is a sandbox, whose Graph is named as in the global cloud.
graph_resource = "https://graph.microsoft.com"
"#,
            authority = usgov.text("/authority"),
            ca_file = usgov.text("/ca_file"),
            public_client = usgov.text("/public_client_id"),
        ),
    )
    .unwrap();
    let server = deployment.start();
    assert!(
        server.stdout_lines.iter().any(|l| l.starts_with(&format!(
            "cloud usgov at {} (`clouds.usgov.authority` in ",
            usgov.text("/authority")
        ))),
        "the banner names the moved cloud: {:?}",
        server.stdout_lines
    );
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");
    let in_process = GraphAdmin::sign_in(&server.sandbox).await;
    let in_process_keys = in_process.thumbprints().await;
    // The standalone sandbox's backup application keys, read through its Graph as its
    // administrator, outside tenantlink.
    let usgov_graph = GraphAdmin::sign_in(&usgov.info).await;
    let usgov_keys = usgov_graph.thumbprints().await;

    let (status, added) = admin
        .post(
            "/api/v1/organizations",
            json!({
                "name": "Contoso (US Government)",
                "tenant": usgov.text("/tenant_id"),
                "cloud": "usgov",
                "app_id": usgov.info["backup_app"]["app_id"],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let organization = added["id"].as_str().unwrap().to_owned();

    let thumbprint = generate(&admin, &organization, &usgov.info).await;
    let mut expected = usgov_keys.clone();
    expected.push(thumbprint.clone());
    expected.sort();
    assert_eq!(
        usgov_graph.thumbprints().await,
        expected,
        "the new key is on the usgov cloud's application, every other key kept"
    );
    assert_eq!(
        in_process.thumbprints().await,
        in_process_keys,
        "the in-process sandbox's application is untouched"
    );
    let page = certificate_page(&admin, &organization).await;
    assert_eq!(page["state"], "valid", "{page}");
    assert_eq!(page["active"]["sha1_thumbprint"], thumbprint.as_str());
    let (_, read) = admin
        .get(&format!("/api/v1/organizations/{organization}"))
        .await;
    assert_eq!(
        read["app_object_id"], usgov.info["backup_app"]["object_id"],
        "looked up through the usgov cloud's Graph: {read}"
    );

    // Its backups go to the usgov cloud too: the in-process sandbox knows neither its tenant
    // nor its application, so a run sent there would fail to authenticate.
    let (status, policy) = admin
        .post(
            &format!("/api/v1/organizations/{organization}/policies"),
            json!({"name": "Mail", "schedule": "0 3 * * *"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let (status, run) = admin
        .post(
            &format!("/api/v1/policies/{}/run", policy["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run = finished_run(&admin, run["id"].as_str().unwrap()).await;
    assert_eq!(run["run"]["status"], "success", "{run}");
    let usgov_users = usgov.info["users"].as_array().unwrap().len();
    assert_eq!(run["run"]["users"], usgov_users, "{run}");
    assert!(run["run"]["items_new"].as_i64().unwrap() > 0, "{run}");

    // The default organization still goes to the in-process sandbox.
    let (_, organizations) = admin.get("/api/v1/organizations").await;
    let default = organizations["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["cloud"] == "sandbox")
        .expect("the default organization");
    let default_id = default["id"].as_str().unwrap().to_owned();
    let default_thumbprint = generate(&admin, &default_id, &server.sandbox).await;
    let mut expected = in_process_keys.clone();
    expected.push(default_thumbprint);
    expected.sort();
    assert_eq!(in_process.thumbprints().await, expected);
    assert_eq!(
        usgov_graph.thumbprints().await.len(),
        usgov_keys.len() + 1,
        "nothing more on the usgov cloud"
    );
}

async fn an_organization_whose_cloud_is_not_here_is_refused_and_nothing_changes(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    // A configured tenant (the standalone sandbox as the global cloud): no in-process sandbox.
    let cloud = Sandbox::start(&deployment.scratch_dir("global-cloud"));
    let data = deployment.data_dir();
    let (tenant, app_id) = (
        cloud.text("/tenant_id"),
        cloud.info["backup_app"]["app_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let (authority, ca_file, client) = (
        cloud.text("/authority"),
        cloud.text("/ca_file"),
        cloud.text("/public_client_id"),
    );
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let database_url = deployment.options().database_url;
    if let Some(url) = &database_url {
        args.extend(["--database-url", url.as_str()]);
    }
    let serve = config_support::Serve::start(
        &args,
        &[
            ("TENANTLINK_TENANT", tenant.as_str()),
            ("TENANTLINK_APP_ID", app_id.as_str()),
            ("TENANTLINK_AUTHORITY", authority.as_str()),
            ("TENANTLINK_GRAPH", authority.as_str()),
            ("TENANTLINK_CA_FILE", ca_file.as_str()),
            ("TENANTLINK_DEVICE_CLIENT_ID", client.as_str()),
        ],
    );
    assert!(!data.join("sandbox").exists(), "no in-process sandbox");
    let admin = log_in(&serve.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in");

    let (status, added) = admin
        .post(
            "/api/v1/organizations",
            json!({
                "name": "Old sandbox organization",
                "tenant": "0c1e3b3e-1111-4222-8333-444455556666",
                "cloud": "sandbox",
                "app_id": "11111111-2222-3333-4444-555555555555",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let organization = added["id"].as_str().unwrap().to_owned();
    let (_, audit_before) = admin.get("/api/v1/audit").await;

    let (status, problem) = admin
        .post(
            &format!("/api/v1/organizations/{organization}/operations"),
            json!({ "kind": "generate" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(
            "The organization \"Old sandbox organization\" is in the cloud \"sandbox\", but this tenantlink serve runs no sandbox tenant"
        ) && detail.contains("add the organization again with its real cloud (global, usgov or china)"),
        "{problem}"
    );
    let (_, operations) = admin
        .get(&format!("/api/v1/organizations/{organization}/operations"))
        .await;
    assert_eq!(operations, json!([]), "no operation was started");
    let (_, audit_after) = admin.get("/api/v1/audit").await;
    assert_eq!(audit_after, audit_before, "nothing audited as started");
    let page = certificate_page(&admin, &organization).await;
    assert_eq!(page["state"], "none", "{page}");
}

/// Generate through the device sign-in approved on the sandbox described by `sandbox`
/// (sandbox.json): the new certificate's thumbprint, active.
async fn generate(admin: &Session, organization: &str, sandbox: &Value) -> String {
    let (status, op) = admin
        .post(
            &format!("/api/v1/organizations/{organization}/operations"),
            json!({ "kind": "generate" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{op}");
    let verification = op["sign_in"]["verification_uri"].as_str().unwrap();
    assert!(
        verification.starts_with(sandbox["authority"].as_str().unwrap()),
        "the sign-in page is that cloud's: {verification}"
    );
    sandbox_process::approve(sandbox, op["sign_in"]["user_code"].as_str().unwrap()).await;
    let id = op["id"].as_str().unwrap();
    let signed_in = admin
        .wait_for(id, |o| o["step"] != "awaiting_sign_in")
        .await;
    assert_eq!(signed_in["step"], "signed_in", "{signed_in}");
    let (status, done) = admin.generate(id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    assert_eq!(done["step"], "succeeded", "{done}");
    done["sha1_thumbprint"].as_str().unwrap().to_owned()
}
