//! `tenantlink admin rotate-master-key` on a real installation: a certificate generated through the
//! portal keeps signing after the rotation, serve starts with the new key, the old key is then
//! refused with a specific error, a rotation that cannot write its new key file (or that finds
//! the service running) changes nothing.

mod config_support;
mod openssl_support;
mod sandbox_process;
// Shared with the API tests, which use its re-exports; this test needs only `Server` and `log_in`.
#[allow(unused_imports)]
mod serve_support;

use config_support::{app_only_proof, run, serve_refuses};
use reqwest::StatusCode;
use serde_json::json;
use serve_support::{ADMIN_PASSWORD, Server, log_in};
use tenantlink_store::MasterKey;

fn rotate(data: &std::path::Path) -> (Option<i32>, String, String) {
    run(
        &[
            "admin",
            "rotate-master-key",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_keeps_the_active_certificate_signing_and_retires_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = data.join("tenantlink.db");
    let key_file = data.join("master.key");

    // A certificate generated and activated through the portal, under the first master key.
    let server = Server::start(&data);
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let op = admin.signed_in_operation(&server, "generate").await;
    let (status, done) = admin
        .post(&format!("/api/v1/operations/{op}/generate"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let thumbprint = done["sha1_thumbprint"].as_str().unwrap().to_owned();
    let old_text = std::fs::read_to_string(&key_file).unwrap();
    let old_copy = dir.path().join("old.key");
    std::fs::write(&old_copy, &old_text).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&old_copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    // Not while the service runs: it would keep sealing new keys with the old master key.
    let (code, _, stderr) = rotate(&data);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("error: master-key: another tenantlink process holds")
            && stderr.contains("stop it before rotating the master key"),
        "{stderr}"
    );
    server.kill();

    // The new key file cannot be written (a directory is in its place): nothing changes.
    let pending = data.join("master.key.new");
    std::fs::create_dir(&pending).unwrap();
    std::fs::write(pending.join("occupied"), "").unwrap();
    let (code, _, stderr) = rotate(&data);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with(&format!(
            "error: master-key: cannot write the new master key to {}",
            pending.display()
        )) && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), old_text);
    // The service starts as before, and the active certificate still signs with the old key.
    let old_key = MasterKey::load(&key_file).unwrap();
    let server = Server::start(&data);
    assert_eq!(
        app_only_proof(&database, &old_key, &server.sandbox).await,
        thumbprint
    );
    server.kill();
    std::fs::remove_dir_all(&pending).unwrap();

    let (code, stdout, stderr) = rotate(&data);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.starts_with("re-encrypted 1 private key(s) under the new master key"),
        "{stdout}"
    );
    let new_key = MasterKey::load(&key_file).unwrap();
    assert_ne!(new_key.id(), old_key.id());
    let leftovers: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("master.key."))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no pending key or backup left: {leftovers:?}"
    );
    assert!(!stdout.contains(old_text.trim()), "keys are never printed");

    // Serve starts with the new key; the active certificate is the same and still signs.
    let server = Server::start(&data);
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let org = admin.first_organization().await;
    let (_, page) = admin
        .get(&format!("/api/v1/organizations/{org}/certificate"))
        .await;
    assert_eq!(page["active"]["sha1_thumbprint"], thumbprint.as_str());
    assert_eq!(
        app_only_proof(&database, &new_key, &server.sandbox).await,
        thumbprint
    );
    server.kill();

    // The old key no longer opens anything: serve refuses to start and says why.
    let stderr = serve_refuses(
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[("TENANTLINK_MASTER_KEY_FILE", old_copy.to_str().unwrap())],
    );
    assert!(
        stderr.starts_with(&format!(
            "error: config: the master key from {} (TENANTLINK_MASTER_KEY_FILE) (id {}) does not open the stored private keys, which are encrypted under master key {}",
            old_copy.display(),
            old_key.id(),
            new_key.id()
        )),
        "{stderr}"
    );
}
