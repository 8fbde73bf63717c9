//! `tenantlink entra …` run successfully end to end against a standalone `tenantlink sandbox`:
//! the device sign-in approved through the control API as soon as the CLI prints its code, the
//! backup application's certificate listed with the thumbprint OpenSSL computes, app-only tokens
//! from a PFX and from PEM files, and Entra's AADSTS700027 once the sandbox clock passes the
//! key's end. No access token is ever printed.

mod entra_sandbox_support;
mod openssl_support;
mod sandbox_process;

use entra_sandbox_support::{Finished, run, run_with_sign_in};
use openssl_support::{TestCert, openssl};
use sandbox_process::Sandbox;
use serde_json::json;

fn args(command: &[&str], sandbox: &Sandbox, more: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    all.extend(sandbox.target_args());
    all.extend(more.iter().map(|s| s.to_string()));
    all
}

/// A JWT (access or ID token) starts with a base64url JSON header: `eyJ`.
fn assert_no_token(run: &Finished) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!text.contains("eyJ"), "a token in {name}: {text}");
    }
}

#[tokio::test]
async fn device_login_prints_who_signed_in() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(&dir.path().join("state"));
    let public_client = sandbox.text("/public_client_id");
    let (user_code, login) = run_with_sign_in(
        &sandbox,
        &args(
            &["entra", "device-login"],
            &sandbox,
            &["--client-id", &public_client],
        ),
    )
    .await;
    login.assert_success();
    // Entra's instructions (with the code) on stderr; the result, parseable, on stdout.
    assert!(login.stderr.contains(&user_code), "{}", login.stderr);
    assert!(login.stderr.contains("/devicelogin"), "{}", login.stderr);
    assert!(!login.stdout.contains(&user_code), "{}", login.stdout);
    let admin = sandbox.admin();
    let tenant = sandbox.text("/tenant_id");
    let lines: Vec<&str> = login.stdout.lines().collect();
    assert_eq!(lines[0], format!("signed in: {admin}"), "{}", login.stdout);
    assert!(lines[1].starts_with("object id: "), "{}", login.stdout);
    assert!(!lines[1].contains("not in the token"), "{}", login.stdout);
    assert_eq!(lines[2], format!("tenant id: {tenant}"));
    assert!(
        lines.iter().any(|l| l.starts_with("token expires: ")),
        "{}",
        login.stdout
    );
    assert_no_token(&login);
}

#[tokio::test]
async fn keys_lists_the_backup_apps_certificate_with_the_openssl_thumbprint() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(&dir.path().join("state"));
    let backup_app = sandbox.text("/backup_app/app_id");
    let public_client = sandbox.text("/public_client_id");
    let keys_args = args(
        &["entra", "keys"],
        &sandbox,
        &["--app-id", &backup_app, "--client-id", &public_client],
    );
    // No `--scope`: the default, the narrower Application.Read.All, is consented in the sandbox.

    // The backup application starts without a certificate.
    let (_, before) = run_with_sign_in(&sandbox, &keys_args).await;
    before.assert_success();
    assert!(
        before.stdout.contains("no certificate credentials"),
        "{}",
        before.stdout
    );

    let cert = TestCert::new(dir.path(), "listed", 30);
    sandbox.attach_to_backup_app(&cert.cert_pem).await;
    let (_, listed) = run_with_sign_in(&sandbox, &keys_args).await;
    listed.assert_success();
    let object_id = sandbox.text("/backup_app/object_id");
    assert!(
        listed
            .stdout
            .starts_with(&format!("application {backup_app} (object id {object_id})")),
        "{}",
        listed.stdout
    );
    let thumbprints: Vec<String> = listed
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("- thumbprint "))
        .map(|rest| rest.split_whitespace().next().unwrap().to_ascii_uppercase())
        .collect();
    assert_eq!(thumbprints, [cert.openssl_sha1()], "{}", listed.stdout);
    assert!(
        listed.stdout.contains("(AsymmetricX509Cert / Verify)"),
        "{}",
        listed.stdout
    );
    assert_no_token(&listed);
}

#[tokio::test]
async fn token_with_a_registered_pfx_then_an_expired_key() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(&dir.path().join("state"));
    // Valid for one day: two days of sandbox time later Entra refuses it.
    let cert = TestCert::new(dir.path(), "backup", 1);
    let pfx = cert.pfx("pfx secret");
    sandbox.attach_to_backup_app(&cert.cert_pem).await;
    let backup_app = sandbox.text("/backup_app/app_id");
    let token_args = args(
        &["entra", "token"],
        &sandbox,
        &[
            "--client-id",
            &backup_app,
            "--cert",
            pfx.to_str().unwrap(),
            "--password-stdin",
        ],
    );

    let issued = run(&token_args, "pfx secret\n").await;
    issued.assert_success();
    let thumbprint = cert.openssl_sha1();
    assert!(
        issued
            .stdout
            .to_ascii_uppercase()
            .contains(&format!("CERTIFICATE: SHA-1 {thumbprint}")),
        "{}",
        issued.stdout
    );
    assert!(
        issued
            .stdout
            .contains("token issued for https://graph.microsoft.com/.default"),
        "{}",
        issued.stdout
    );
    let expires = issued
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("expires: "))
        .unwrap_or_else(|| panic!("no expiry: {}", issued.stdout));
    // The sandbox's access tokens live 3599 s.
    assert!(expires.ends_with("(in 59 min)"), "{expires}");
    let roles = issued
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("roles: "))
        .unwrap_or_else(|| panic!("no roles: {}", issued.stdout));
    let mut roles: Vec<&str> = roles.split(", ").collect();
    roles.sort_unstable();
    assert_eq!(
        roles,
        [
            "Application.ReadWrite.OwnedBy",
            "Mail.Read",
            "User.Read.All"
        ]
    );
    assert_no_token(&issued);

    sandbox
        .control("/clock", json!({ "advance_seconds": 2 * 24 * 3600 }))
        .await;
    let refused = run(&token_args, "pfx secret\n").await;
    assert_eq!(refused.code, Some(1), "{refused:#?}");
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    let stderr = &refused.stderr;
    assert!(stderr.starts_with("error: entra_refused: "), "{stderr}");
    assert!(stderr.contains("AADSTS700027"), "{stderr}");
    assert!(stderr.contains("The key used is expired."), "{stderr}");
    assert!(
        stderr.contains("what it means: The certificate tenantlink signs with has expired"),
        "{stderr}"
    );
    assert!(
        stderr.contains("what to do: Generate a new certificate"),
        "{stderr}"
    );
    assert_no_token(&refused);
}

#[tokio::test]
async fn token_with_pem_certificate_and_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(&dir.path().join("state"));
    let cert = TestCert::new(dir.path(), "exported", 30);
    sandbox.attach_to_backup_app(&cert.cert_pem).await;
    let backup_app = sandbox.text("/backup_app/app_id");
    let thumbprint = cert.openssl_sha1();
    let token_with = |cert_pem: &str, key_pem: &str, profile: &str| {
        args(
            &["entra", "token"],
            &sandbox,
            &[
                "--client-id",
                &backup_app,
                "--cert-pem",
                cert_pem,
                "--key-pem",
                key_pem,
                "--profile",
                profile,
            ],
        )
    };
    let cert_pem = cert.cert_pem.to_str().unwrap().to_owned();
    let key_pem = cert.key_pem.to_str().unwrap().to_owned();

    // Separate files, PKCS#8 key (what `openssl req -newkey` writes), PS256 (x5t#S256).
    let separate = run(&token_with(&cert_pem, &key_pem, "ps256"), "").await;
    separate.assert_success();
    assert!(
        separate
            .stdout
            .to_ascii_uppercase()
            .contains(&format!("SHA-1 {thumbprint} (PROFILE PS256)")),
        "{}",
        separate.stdout
    );

    // One file holding a PKCS#1 ("BEGIN RSA PRIVATE KEY") key and the certificate.
    let combined = dir.path().join("combined.pem");
    let pkcs1 = String::from_utf8(openssl(&["rsa", "-traditional", "-in", &key_pem])).unwrap();
    assert!(
        pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{pkcs1}"
    );
    std::fs::write(
        &combined,
        pkcs1 + &std::fs::read_to_string(&cert.cert_pem).unwrap(),
    )
    .unwrap();
    let combined = combined.to_str().unwrap();
    let one_file = run(&token_with(combined, combined, "rs256"), "").await;
    one_file.assert_success();
    assert!(
        one_file
            .stdout
            .to_ascii_uppercase()
            .contains(&format!("SHA-1 {thumbprint} (PROFILE RS256)")),
        "{}",
        one_file.stdout
    );
    assert_no_token(&one_file);
}
