//! Issue #12, several instances: two `tenantlink serve` processes on one PostgreSQL database
//! (their own data directories, the same master key, a standalone sandbox standing in for the
//! global cloud), each with its renewal scheduler looking every five seconds, and several
//! organizations whose active certificates are already past their renewal point. Each
//! organization is rotated exactly once: one `certificate_rotated` in the audit log and one
//! addKey in the sandbox's request log per organization, whichever instance did it.
//!
//! The instances read the system clock (only the sandbox embedded in `serve` shares its clock),
//! so "past renewal" is made by the certificates themselves: each was issued 21 of its 30 days
//! ago, uploaded, and the policy for uploaded certificates set to `rotate`.

mod config_support;
mod openssl_support;
mod sandbox_process;
mod serve_support;

use config_support::Serve;
use reqwest::StatusCode;
use sandbox_process::Sandbox;
use serde_json::{Value, json};
use serve_support::rotation::{
    SandboxView, audited, certificate, count_requests, eventually, set_renewal_policy,
};
use serve_support::scan::base64_standard;
use serve_support::scenario::start_operation;
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Session, log_in};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use tenantlink_certificate::{Credential, GenerateOptions, export_pkcs12, generate};
use tenantlink_secret::SecretString;

/// base64 of the 32 bytes 0x00..=0x1f, shared by both instances like a mounted secret.
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const ORGANIZATIONS: usize = 3;
const PFX_PASSWORD: &str = "rotation-instances-pfx";

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
            ("TENANTLINK_RENEWAL_CHECK_EVERY_SECONDS", "5"),
            ("TENANTLINK_VALIDITY_DAYS", "30"),
            ("TENANTLINK_EXPIRING_SOON_DAYS", "7"),
        ],
    )
}

/// A 30-day certificate issued 21 days ago: past two thirds of its life.
fn half_spent_certificate(index: usize) -> Credential {
    let now = time::OffsetDateTime::now_utc();
    generate(
        &GenerateOptions {
            subject_cn: format!("tenantlink instances test {index}"),
            validity_days: 30,
            ..GenerateOptions::default()
        },
        now - time::Duration::days(21),
    )
    .expect("certificate")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_rotate_each_organization_exactly_once() {
    let Some(deployment) = Deployment::new(Backend::Postgres) else {
        return;
    };
    let database_url = deployment.options().database_url.expect("a PostgreSQL URL");
    let cloud = Sandbox::start(&deployment.scratch_dir("cloud"));
    let sandbox = SandboxView { info: &cloud.info };
    let master_key = deployment.scratch_dir("secrets").join("master.key");
    std::fs::write(&master_key, MASTER_KEY).unwrap();
    std::fs::set_permissions(&master_key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Each organization is its own application, registered with its certificate attached.
    let credentials: Vec<Credential> = (0..ORGANIZATIONS).map(half_spent_certificate).collect();
    let registered = sandbox
        .post(
            "/applications",
            json!({"applications": credentials.iter().enumerate().map(|(i, c)| json!({
                "display_name": format!("Backup {i}"),
                "application_permissions": ["Application.ReadWrite.All", "User.Read.All", "Mail.Read"],
                "certificates": [base64_standard(c.certificate().der())],
            })).collect::<Vec<_>>()}),
        )
        .await;
    let applications = registered["applications"]
        .as_array()
        .expect("registered")
        .clone();

    let serve_a = start_instance(
        &deployment.scratch_dir("a"),
        &database_url,
        &master_key,
        &cloud,
    );
    let a = log_in(&serve_a.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin on A");
    let (_, listed) = a.get("/api/v1/organizations").await;
    let cloud_name = listed["rows"][0]["cloud"]
        .as_str()
        .expect("cloud")
        .to_owned();
    let tenant = cloud.text("/tenant_id");

    let mut organizations = Vec::new();
    for (i, (credential, application)) in credentials.iter().zip(&applications).enumerate() {
        let (status, created) = a
            .post(
                "/api/v1/organizations",
                json!({"name": format!("Organization {i}"), "tenant": tenant, "cloud": cloud_name,
                       "app_id": application["app_id"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let org = created["id"].as_str().expect("id").to_owned();
        // Renewal off while the certificate is uploaded; on, for uploaded ones too, below.
        set_renewal_policy(&a, &org, json!({"automatic": false})).await;
        upload(&a, &cloud, &org, credential).await;
        organizations.push((
            org,
            application["object_id"]
                .as_str()
                .expect("object id")
                .to_owned(),
        ));
    }

    let serve_b = start_instance(
        &deployment.scratch_dir("b"),
        &database_url,
        &master_key,
        &cloud,
    );
    let b = log_in(&serve_b.base, "admin", ADMIN_PASSWORD)
        .await
        .expect("admin on B");
    sandbox.clear_requests().await;
    for (org, _) in &organizations {
        set_renewal_policy(
            &a,
            org,
            json!({"automatic": true, "uploaded": "rotate", "jitter_seconds": 0, "lifetime_days": 30}),
        )
        .await;
    }

    // Both schedulers see every organization due; each is rotated once.
    for (org, _) in &organizations {
        eventually(
            &format!("{org} rotated"),
            Duration::from_secs(120),
            || async {
                let page = certificate(&b, org).await;
                if page["active"]["source"] == "generated" {
                    Ok(())
                } else {
                    Err(page.to_string())
                }
            },
        )
        .await;
    }
    // Nothing more is due on either instance, and each organization has one rotate operation.
    for session in [&a, &b] {
        for (org, _) in &organizations {
            let page = certificate(session, org).await;
            assert_eq!(page["renewal"]["state"], "not_due", "{page}");
        }
    }
    let rotated = audited(&a, "certificate_rotated").await;
    let requests = sandbox.requests().await;
    for (org, object_id) in &organizations {
        let of_org: Vec<&Value> = rotated
            .iter()
            .filter(|e| e["organization"] == org.as_str())
            .collect();
        assert_eq!(of_org.len(), 1, "one rotation of {org}: {rotated:?}");
        assert_eq!(
            count_requests(
                &requests,
                "POST",
                &format!("/applications/{object_id}/addKey")
            ),
            1,
            "one addKey for {org}: {requests:?}"
        );
        let operations = serve_support::rotation::rotations(&a, org).await;
        assert_eq!(operations.len(), 1, "{operations:?}");
        assert_eq!(operations[0]["step"], "succeeded", "{operations:?}");
    }
}

/// Upload with a device sign-in on `session`'s instance, then Import of the PFX.
async fn upload(session: &Session, cloud: &Sandbox, org: &str, credential: &Credential) {
    let (op, code) = start_operation(session, org, "upload").await;
    cloud.approve(&code).await;
    let signed_in = session
        .wait_for(&op, |o| o["step"] != "awaiting_sign_in")
        .await;
    assert_eq!(signed_in["step"], "signed_in", "{signed_in}");
    let pfx = export_pkcs12(credential, &SecretString::from(PFX_PASSWORD.to_owned())).expect("PFX");
    let (status, done) = session.import(&op, pfx, Some(PFX_PASSWORD)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{done}");
    assert_eq!(done["step"], "succeeded", "{done}");
}
