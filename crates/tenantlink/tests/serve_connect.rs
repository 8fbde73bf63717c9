//! "Connect an organization" end to end through the API of `tenantlink serve` and its sandbox:
//! a new sandbox tenant, the device sign-in of its Global Administrator, and the organization
//! ends connected with an active certificate while the sandbox's Graph shows the application,
//! its service principal and exactly the consented app roles. A plain user and an Application
//! Administrator are told which step Graph refused; the next attempt reuses what was made. The
//! API's refusals are problems that change nothing.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use serve_support::rotation::SandboxView;
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Server, Session, log_in};
use std::collections::BTreeSet;

const TENANT: &str = "fabrikam.example";

/// A new sandbox tenant with a Global Administrator, an Application Administrator and a plain
/// user; their user names.
async fn new_tenant(server: &Server, domain: &str) -> (String, String, String) {
    let created = server
        .sandbox_control(
            "/tenants",
            json!({"domain": domain, "users": [
                {"alias": "ga", "roles": ["Global Administrator"]},
                {"alias": "apps", "roles": ["Application Administrator"]},
                {"alias": "plain"},
            ]}),
        )
        .await;
    let name = |i: usize| created["users"][i]["username"].as_str().unwrap().to_owned();
    (name(0), name(1), name(2))
}

/// Approves the device code of `op` as `username`, waits for the sign-in, presses Connect and
/// follows the operation to its end.
async fn sign_in_and_connect(
    server: &Server,
    admin: &Session,
    op: &Value,
    username: &str,
) -> Value {
    let id = op["id"].as_str().unwrap();
    let code = op["sign_in"]["user_code"].as_str().expect("a device code");
    server
        .sandbox_control(
            "/device/approve",
            json!({"user_code": code, "username": username}),
        )
        .await;
    let signed_in = admin
        .wait_for(id, |op| op["step"] != "awaiting_sign_in")
        .await;
    assert_eq!(signed_in["step"], "signed_in", "{signed_in}");
    let (status, started) = admin
        .post(&format!("/api/v1/operations/{id}/connect"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    admin
        .wait_for(id, |op| {
            matches!(
                op["step"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            )
        })
        .await
}

async fn connect(admin: &Session, body: Value) -> (StatusCode, Value) {
    admin.post("/api/v1/organizations/connect", body).await
}

#[tokio::test]
async fn a_new_tenant_is_connected_by_its_global_administrators_sign_in() {
    let Some(deployment) = Deployment::new(Backend::Sqlite) else {
        return;
    };
    let server = deployment.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let (ga, _, _) = new_tenant(&server, TENANT).await;

    let (status, op) = connect(
        &admin,
        json!({"tenant": TENANT, "cloud": "sandbox", "name": "Fabrikam"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{op}");
    assert_eq!(
        (op["kind"].as_str(), op["step"].as_str()),
        (Some("connect"), Some("awaiting_sign_in"))
    );
    let org = op["organization"].as_str().unwrap().to_owned();
    let (_, stored) = admin.get(&format!("/api/v1/organizations/{org}")).await;
    assert_eq!(
        stored["app_id"], "",
        "no application before the sign-in: {stored}"
    );

    let done = sign_in_and_connect(&server, &admin, &op, &ga).await;
    assert_eq!(done["step"], "succeeded", "{done}");

    let (_, organization) = admin.get(&format!("/api/v1/organizations/{org}")).await;
    assert_eq!(organization["connection"], "connected", "{organization}");
    let app_id = organization["app_id"].as_str().unwrap().to_owned();
    assert!(!app_id.is_empty());
    let (_, page) = admin
        .get(&format!("/api/v1/organizations/{org}/certificate"))
        .await;
    assert_eq!(
        page["active"]["sha1_thumbprint"], done["sha1_thumbprint"],
        "{page}"
    );

    // What the sandbox's Graph holds now.
    let app = SandboxView::of(&server)
        .get(&format!("/applications/{app_id}"))
        .await;
    assert_eq!(app["display_name"], "tenantlink backup", "{app}");
    assert_eq!(app["registered_through_graph"], true);
    assert_eq!(app["tags"], json!([format!("tenantlink:{org}")]));
    let principal = &app["service_principal"];
    let principal_id = principal["id"].as_str().expect("a service principal");
    let granted: BTreeSet<&str> = principal["app_roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["permission"].as_str())
        .collect();
    assert_eq!(
        granted,
        BTreeSet::from([
            "Application.ReadWrite.OwnedBy",
            "Mail.Read",
            "User.Read.All"
        ]),
        "{app}"
    );
    assert_eq!(
        principal["app_roles"].as_array().unwrap().len(),
        3,
        "each once"
    );
    assert!(
        app["owners"].to_string().contains(principal_id),
        "the application owns itself: {app}"
    );
    assert_eq!(app["key_count"], 1, "{app}");

    // The same tenant again: refused, naming the organization; Reconnect it instead.
    let (status, problem) = connect(&admin, json!({"tenant": TENANT, "cloud": "sandbox"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains(&org),
        "{problem}"
    );
    let (_, orgs) = admin.get("/api/v1/organizations").await;
    let fabrikams = orgs["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["tenant"] == TENANT)
        .count();
    assert_eq!(fabrikams, 1);
}

/// `[connect]`: the configured display name and permission list are what Connect registers
/// and consents, nothing more.
#[tokio::test]
async fn connect_registers_the_configured_name_and_consents_only_the_configured_permissions() {
    let Some(deployment) = Deployment::new(Backend::Sqlite) else {
        return;
    };
    let mut options = deployment.options();
    options.env = vec![
        (
            "TENANTLINK_CONNECT_APPLICATION_NAME".into(),
            "Contoso mail backup".into(),
        ),
        (
            "TENANTLINK_CONNECT_PERMISSIONS".into(),
            "User.Read.All, Application.ReadWrite.OwnedBy".into(),
        ),
    ];
    let server = Server::start_with(&deployment.data_dir(), options);
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let (ga, _, _) = new_tenant(&server, "contoso.example").await;

    let (status, op) = connect(
        &admin,
        json!({"tenant": "contoso.example", "cloud": "sandbox"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{op}");
    let done = sign_in_and_connect(&server, &admin, &op, &ga).await;
    assert_eq!(done["step"], "succeeded", "{done}");

    let org = op["organization"].as_str().unwrap();
    let (_, organization) = admin.get(&format!("/api/v1/organizations/{org}")).await;
    let app_id = organization["app_id"].as_str().unwrap();
    let app = SandboxView::of(&server)
        .get(&format!("/applications/{app_id}"))
        .await;
    assert_eq!(app["display_name"], "Contoso mail backup", "{app}");
    let granted: Vec<&str> = app["service_principal"]["app_roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["permission"].as_str())
        .collect();
    assert_eq!(
        granted.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(["Application.ReadWrite.OwnedBy", "User.Read.All"]),
        "Mail.Read is not configured, so not consented: {app}"
    );
    assert_eq!(granted.len(), 2, "each once: {app}");
}

#[tokio::test]
async fn graphs_refusals_are_explained_and_the_next_attempt_reuses_the_application() {
    let Some(deployment) = Deployment::new(Backend::Sqlite) else {
        return;
    };
    let server = deployment.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let (ga, apps, plain) = new_tenant(&server, "northwind.example").await;

    // A plain user: nothing can be registered, and nothing is.
    let (status, op) = connect(
        &admin,
        json!({"tenant": "northwind.example", "cloud": "sandbox"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{op}");
    let org = op["organization"].as_str().unwrap().to_owned();
    let failed = sign_in_and_connect(&server, &admin, &op, &plain).await;
    assert_eq!(failed["step"], "failed", "{failed}");
    let failure = &failed["failure"];
    assert_eq!(
        failure["code"], "create_application:insufficient_privileges:Authorization_RequestDenied",
        "{failed}"
    );
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("Insufficient privileges"),
        "{failed}"
    );
    assert!(
        failure["remediation"]
            .as_str()
            .unwrap()
            .contains("Global Administrator"),
        "{failed}"
    );
    let (_, stored) = admin.get(&format!("/api/v1/organizations/{org}")).await;
    assert_eq!(stored["app_id"], "", "nothing registered: {stored}");

    // An Application Administrator registers, but may not grant Graph's app roles.
    let (status, op) = admin
        .post(&format!("/api/v1/organizations/{org}/reconnect"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{op}");
    let failed = sign_in_and_connect(&server, &admin, &op, &apps).await;
    assert_eq!(failed["step"], "failed", "{failed}");
    let code = failed["failure"]["code"].as_str().unwrap();
    assert!(
        code.starts_with("grant_consent:insufficient_privileges"),
        "{failed}"
    );
    assert!(
        failed["failure"]["remediation"]
            .as_str()
            .unwrap()
            .contains("Privileged Role Administrator"),
        "{failed}"
    );
    let (_, stored) = admin.get(&format!("/api/v1/organizations/{org}")).await;
    let registered = stored["app_id"].as_str().unwrap().to_owned();
    assert!(
        !registered.is_empty(),
        "the application was registered: {stored}"
    );

    // The Global Administrator's Reconnect reuses it: no second application.
    let (status, op) = admin
        .post(&format!("/api/v1/organizations/{org}/reconnect"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{op}");
    let done = sign_in_and_connect(&server, &admin, &op, &ga).await;
    assert_eq!(done["step"], "succeeded", "{done}");
    let (_, stored) = admin.get(&format!("/api/v1/organizations/{org}")).await;
    assert_eq!(stored["app_id"], registered.as_str());
    assert_eq!(stored["connection"], "connected");
    let audit = admin.get("/api/v1/audit?limit=200").await.1;
    let reused = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "application_registered")
        .filter_map(|e| e["detail"].as_str())
        .filter(|d| d.contains(&registered))
        .map(|d| d.ends_with("(reused)"))
        .collect::<Vec<_>>();
    assert_eq!(
        reused,
        [true, false],
        "newest first: reused once, registered once"
    );
}

#[tokio::test]
async fn the_apis_refusals_are_problems_that_change_nothing() {
    let Some(deployment) = Deployment::new(Backend::Sqlite) else {
        return;
    };
    let server = deployment.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let (_, before) = admin.get("/api/v1/organizations").await;

    let (status, problem) =
        connect(&admin, json!({"tenant": "fabrikam", "cloud": "sandbox"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "tenant", "{problem}");
    let (status, problem) = connect(&admin, json!({"tenant": TENANT, "cloud": "mars"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = connect(
        &admin,
        json!({"tenant": TENANT, "cloud": "sandbox", "app_id": "x"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown field: {problem}"
    );
    let response = admin
        .client
        .post(format!("{}/api/v1/organizations/connect", admin.base))
        .header("cookie", &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("problem+json"),
        "a problem"
    );
    let status = admin
        .post_without_csrf(
            "/api/v1/organizations/connect",
            json!({"tenant": TENANT, "cloud": "sandbox"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = admin
        .post(
            &format!("/api/v1/organizations/{}/reconnect", uuid_nil()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    // Connect's steps on a Generate operation.
    let generate = admin.signed_in_operation(&server, "generate").await;
    let (status, problem) = admin
        .post(&format!("/api/v1/operations/{generate}/connect"), json!({}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = admin
        .post(
            &format!(
                "/api/v1/organizations/{}/operations",
                admin.first_organization().await
            ),
            json!({"kind": "connect"}),
        )
        .await;
    assert!(status.is_client_error(), "{status} {problem}");
    let (_, after) = admin.get("/api/v1/organizations").await;
    assert_eq!(
        before["rows"].as_array().map(Vec::len),
        after["rows"].as_array().map(Vec::len)
    );

    // The OpenAPI document lists the three paths.
    let (_, openapi) = admin.get("/api/v1/openapi.json").await;
    for path in [
        "/api/v1/organizations/connect",
        "/api/v1/organizations/{id}/reconnect",
        "/api/v1/operations/{id}/connect",
    ] {
        assert!(openapi["paths"][path]["post"].is_object(), "{path}");
    }
}

fn uuid_nil() -> &'static str {
    "00000000-0000-4000-8000-000000000000"
}
