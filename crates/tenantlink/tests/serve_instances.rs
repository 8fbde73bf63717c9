//! Two `tenantlink serve` processes on one PostgreSQL database (docs/service.md, "Several
//! instances on one PostgreSQL database"): each with its own data directory and instance id, the
//! same master key file, database URL and configured organization (a standalone `tenantlink
//! sandbox` process standing in for the global cloud). The certificate workflow stays with the
//! instance holding the device sign-in; the other shows it as stored, refuses to continue it with
//! a 409 naming the holder, and then sees the certificate it produced. Run now pressed on both at
//! once makes one run. PostgreSQL only: SQLite is one process's file.

mod config_support;
mod openssl_support;
mod sandbox_process;
mod serve_support;

use config_support::Serve;
use reqwest::StatusCode;
use sandbox_process::Sandbox;
use serde_json::json;
use serve_support::scenario::{certificate_page, finished_run};
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Session, log_in};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// base64 of the 32 bytes 0x00..=0x1f: a fixed test key, shared by both instances the way a
/// mounted secret would be.
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// One `serve` of the pair: its own data directory, everything else shared.
fn start_instance(
    data_dir: &Path,
    database_url: &str,
    master_key: &Path,
    cloud: &Sandbox,
) -> Serve {
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
            "--database-url",
            database_url,
        ],
        &[
            ("TENANTLINK_MASTER_KEY_FILE", master_key.to_str().unwrap()),
            ("TENANTLINK_TENANT", tenant.as_str()),
            ("TENANTLINK_APP_ID", app_id.as_str()),
            ("TENANTLINK_AUTHORITY", authority.as_str()),
            ("TENANTLINK_GRAPH", authority.as_str()),
            ("TENANTLINK_CA_FILE", ca_file.as_str()),
            ("TENANTLINK_DEVICE_CLIENT_ID", client.as_str()),
        ],
    )
}

/// The id from the banner line `instance ID (holds the sign-ins …)`.
fn instance_id(serve: &Serve) -> String {
    let line = serve
        .stdout_lines
        .iter()
        .find(|l| l.starts_with("instance "))
        .unwrap_or_else(|| panic!("the banner names the instance: {:?}", serve.stdout_lines));
    let id = line["instance ".len()..]
        .split_whitespace()
        .next()
        .expect("an id after `instance `");
    uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{line}: not a UUID: {e}"));
    id.to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_one_database_and_the_sign_in_stays_with_its_instance() {
    // A fresh database; fails loudly without TENANTLINK_TEST_POSTGRES_URL (unless skipped).
    let Some(deployment) = Deployment::new(Backend::Postgres) else {
        return;
    };
    let database_url = deployment.options().database_url.expect("a PostgreSQL URL");
    let cloud = Sandbox::start(&deployment.scratch_dir("cloud"));
    let master_key = deployment.scratch_dir("secrets").join("master.key");
    std::fs::write(&master_key, MASTER_KEY).unwrap();
    std::fs::set_permissions(&master_key, std::fs::Permissions::from_mode(0o600)).unwrap();

    let serve_a = start_instance(
        &deployment.scratch_dir("a"),
        &database_url,
        &master_key,
        &cloud,
    );
    let serve_b = start_instance(
        &deployment.scratch_dir("b"),
        &database_url,
        &master_key,
        &cloud,
    );
    let (instance_a, instance_b) = (instance_id(&serve_a), instance_id(&serve_b));
    assert_ne!(instance_a, instance_b, "each data directory has its own id");

    let a = log_in(&serve_a.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in on A");
    let b = log_in(&serve_b.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin signs in on B");
    let (_, organizations_a) = a.get("/api/v1/organizations").await;
    let (_, organizations_b) = b.get("/api/v1/organizations").await;
    assert_eq!(
        organizations_a["rows"].as_array().map(Vec::len),
        Some(1),
        "one configured organization, not one per instance: {organizations_a}"
    );
    assert_eq!(organizations_a, organizations_b, "the same database");
    let organization = organizations_a["rows"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A starts Generate: A holds the device code.
    let (status, started) = a
        .post(
            &format!("/api/v1/organizations/{organization}/operations"),
            json!({ "kind": "generate" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let operation_path = format!("/api/v1/operations/{id}");

    // B has no device code: it shows the operation as stored, without failing it.
    let (status, on_b) = b.get(&operation_path).await;
    assert_eq!(status, StatusCode::OK, "{on_b}");
    assert_eq!(on_b["step"], "awaiting_sign_in", "{on_b}");
    assert!(on_b["failure"].is_null(), "{on_b}");
    assert_eq!(started["sign_in_holder"], instance_a.as_str(), "{started}");
    assert_eq!(on_b["sign_in_holder"], instance_a.as_str(), "{on_b}");
    let user_code = started["sign_in"]["user_code"].as_str().unwrap().to_owned();

    // The operation page: A shows the code as before; B (no sticky session) names A instead of
    // a code screen that would never advance, and offers Cancel to the administrator.
    let page_path = format!("/operations/{id}");
    let (status, html_a) = a.get_text(&page_path).await;
    assert_eq!(status, StatusCode::OK, "{html_a}");
    assert!(
        html_a.contains("id=\"user-code\"") && html_a.contains(&user_code),
        "{html_a}"
    );
    assert!(!html_a.contains("held-elsewhere"), "{html_a}");
    let (status, html_b) = b.get_text(&page_path).await;
    assert_eq!(status, StatusCode::OK, "{html_b}");
    assert!(
        html_b.contains("data-held-elsewhere=\"true\"")
            && html_b.contains(&format!(
                "handled by tenantlink instance <code id=\"holder-instance\">{instance_a}</code>"
            ))
            && html_b.contains("sticky sessions")
            && html_b.contains(&format!("action=\"/operations/{id}/cancel\"")),
        "{html_b}"
    );
    assert!(
        !html_b.contains(&user_code)
            && !html_b.contains("id=\"user-code\"")
            && !html_b.contains("id=\"countdown\"")
            && !html_b.contains("data-step="),
        "no code, countdown or polling on B: {html_b}"
    );

    cloud.approve(&user_code).await;

    // Whether or not A has seen the approval yet, B cannot continue: the sign-in is A's.
    let (_, audit_before) = b.get("/api/v1/audit").await;
    let (status, problem) = b.generate(&id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!(
            "Operation {id} cannot generate here: its sign-in is held by tenantlink instance {instance_a},"
        )) && detail.contains("use sticky sessions"),
        "{problem}"
    );
    let (_, after_refusal) = b.get(&operation_path).await;
    assert!(
        matches!(
            after_refusal["step"].as_str(),
            Some("awaiting_sign_in" | "signed_in")
        ) && after_refusal["failure"].is_null()
            && after_refusal["sha1_thumbprint"].is_null(),
        "the refusal changed nothing: {after_refusal}"
    );
    let (_, audit_after) = b.get("/api/v1/audit").await;
    assert_eq!(audit_after, audit_before, "nothing audited by the refusal");
    assert_eq!(
        certificate_page(&b, &organization).await["state"],
        "none",
        "no certificate yet"
    );

    // A sees the sign-in (its own poll of the token endpoint) and generates.
    let signed_in = a.wait_for(&id, |op| op["step"] != "awaiting_sign_in").await;
    assert_eq!(signed_in["step"], "signed_in", "{signed_in}");
    // Signed in is the step Generate continues from, yet B still has no delegated token.
    let (_, signed_in_on_b) = b.get(&operation_path).await;
    assert_eq!(signed_in_on_b["step"], "signed_in", "{signed_in_on_b}");
    let (_, html_b) = b.get_text(&page_path).await;
    assert!(
        html_b.contains(&format!("<code id=\"holder-instance\">{instance_a}</code>"))
            && !html_b.contains(&format!("action=\"/operations/{id}/generate\"")),
        "signed in on A, B still names A and offers no Generate: {html_b}"
    );
    let (status, problem) = b.generate(&id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("held by tenantlink instance {instance_a},"))),
        "{problem}"
    );
    let (status, done) = a.generate(&id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    assert_eq!(done["step"], "succeeded", "{done}");
    let thumbprint = done["sha1_thumbprint"].as_str().unwrap().to_owned();

    let page_a = certificate_page(&a, &organization).await;
    let page_b = certificate_page(&b, &organization).await;
    assert_eq!(page_b["state"], "valid", "{page_b}");
    assert_eq!(page_b["active"]["sha1_thumbprint"], thumbprint.as_str());
    assert_eq!(page_b["active"]["id"], page_a["active"]["id"], "{page_b}");
    let (_, finished_on_b) = b.get(&operation_path).await;
    assert_eq!(finished_on_b["step"], "succeeded", "{finished_on_b}");
    let (_, html_b) = b.get_text(&page_path).await;
    assert!(
        html_b.contains("The new certificate is active.") && !html_b.contains("held-elsewhere"),
        "finished, B shows the outcome: {html_b}"
    );

    // B signs with the private key A stored: it opens it with the same master key.
    let (status, checked) = b
        .post(
            &format!("/api/v1/organizations/{organization}/check"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked["state"], "valid", "{checked}");

    run_now_on_both_at_once(&cloud, &a, &b, &organization).await;
}

/// Run now pressed on A and on B at the same moment: the database's one-running-run-per-policy
/// rule lets exactly one start; the other is told the policy is already running.
async fn run_now_on_both_at_once(cloud: &Sandbox, a: &Session, b: &Session, organization: &str) {
    let (status, policy) = a
        .post(
            &format!("/api/v1/organizations/{organization}/policies"),
            json!({"name": "Mail", "schedule": "0 3 * * *"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{policy}");
    let policy = policy["id"].as_str().unwrap().to_owned();
    let run_path = format!("/api/v1/policies/{policy}/run");
    // The winner's run holds at its users listing for 3 s, so it is certainly still running when
    // the other instance's request reaches the database, however the two requests interleave.
    cloud
        .control(
            "/faults",
            json!({"route": "/v1.0/users*", "method": "GET", "kind": "latency", "latency_ms": 3000, "count": 1}),
        )
        .await;
    let ((status_a, answer_a), (status_b, answer_b)) =
        tokio::join!(a.post(&run_path, json!({})), b.post(&run_path, json!({})));
    let mut statuses = [status_a, status_b];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::ACCEPTED, StatusCode::CONFLICT],
        "A: {status_a} {answer_a}; B: {status_b} {answer_b}"
    );
    let (started, refused, winner) = if status_a == StatusCode::ACCEPTED {
        (answer_a, answer_b, a)
    } else {
        (answer_b, answer_a, b)
    };
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("policy \"Mail\" is already running")),
        "{refused}"
    );
    let run = finished_run(winner, started["id"].as_str().unwrap()).await;
    assert_eq!(run["run"]["status"], "success", "{run}");
    for session in [a, b] {
        let (status, runs) = session
            .get(&format!("/api/v1/policies/{policy}/runs"))
            .await;
        assert_eq!(status, StatusCode::OK, "{runs}");
        let runs = runs.as_array().cloned().unwrap_or_default();
        assert_eq!(runs.len(), 1, "one run in the job log: {runs:?}");
        assert_eq!(runs[0]["id"], started["id"], "{runs:?}");
    }
}
