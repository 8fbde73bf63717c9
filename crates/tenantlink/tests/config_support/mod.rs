//! Processes for the configuration, TLS and admin tests: `tenantlink serve` with any flags and
//! environment (also when it must refuse to start), test PKI made by the `openssl` CLI, and an
//! app-only token proof with a certificate read back from the store. A standalone `tenantlink
//! sandbox` standing in for a Microsoft cloud is `crate::sandbox_process::Sandbox` (a test binary
//! declaring `mod config_support;` declares `mod sandbox_process;` and `mod openssl_support;` too).
#![allow(dead_code)]

// The same form helper as serve_support's; a test binary may declare both support modules.
#[allow(clippy::duplicate_mod)]
#[path = "../serve_support/sign_in_form.rs"]
mod sign_in_form;

use crate::openssl_support::{TestCert, openssl, path};
use crate::sandbox_process::tenantlink_command;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;

pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";

/// A running `tenantlink serve`.
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT` or `https://…`.
    pub base: String,
    pub stdout_lines: Vec<String>,
}

impl Serve {
    /// Starts `tenantlink serve ARGS` with `ENV` (plus the admin password) and waits for the line
    /// announcing the URL.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = tenantlink_command()
            .arg("serve")
            .args(args)
            .env("TENANTLINK_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tenantlink serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        let base = loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("read stdout") == 0 {
                let mut log = String::new();
                let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut log);
                panic!("tenantlink serve exited before serving; stdout: {lines:?}; stderr: {log}");
            }
            lines.push(line.trim_end().to_owned());
            if let Some(url) = line.trim().strip_prefix("tenantlink is serving at ") {
                break url.trim_end_matches('/').to_owned();
            }
        };
        // Keep draining both pipes so the child never blocks on a full one.
        std::thread::spawn(move || for _ in reader.lines() {});
        std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
        Self {
            child,
            base,
            stdout_lines: lines,
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tenantlink ARGS` to completion: exit code, stdout, stderr.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = tenantlink_command()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run tenantlink");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `tenantlink serve ARGS` that must refuse to start: returns its stderr (exit status 1 checked).
pub fn serve_refuses(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all = vec!["serve"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(&all, env);
    assert_eq!(code, Some(1), "stdout: {stdout}; stderr: {stderr}");
    assert!(
        !stdout.contains("tenantlink is serving"),
        "it must not serve: {stdout}"
    );
    stderr
}

/// Signs in to the portal; returns the full `Set-Cookie` header, the cookie pair and the CSRF
/// token of the session.
pub async fn log_in(client: &reqwest::Client, base: &str) -> (String, String, String) {
    let response = sign_in_form::sign_in(client, base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    let set_cookie = sign_in_form::session_set_cookie(&response).expect("session cookie");
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    let me: Value = client
        .get(format!("{base}/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("me JSON");
    let csrf = me["csrf_token"].as_str().expect("csrf").to_owned();
    (set_cookie, cookie, csrf)
}

/// A CA and a server certificate for 127.0.0.1 / localhost signed by it (PEM files in `dir`):
/// (ca.pem, server.pem, server-key.pem).
pub fn portal_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca = TestCert::make(dir, "ca", "/CN=tenantlink test CA", 2048, 2);
    let server_key = dir.join("server-key.pem");
    let csr = dir.join("server.csr");
    let server = dir.join("server.pem");
    let extensions = dir.join("san.ext");
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        path(&server_key),
        "-out",
        path(&csr),
    ]);
    std::fs::write(
        &extensions,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions file");
    openssl(&[
        "x509",
        "-req",
        "-in",
        path(&csr),
        "-CA",
        path(&ca.cert_pem),
        "-CAkey",
        path(&ca.key_pem),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        path(&extensions),
        "-out",
        path(&server),
    ]);
    (ca.cert_pem, server, server_key)
}

/// Proves that the organization's active certificate still signs: its private key is read from
/// the store with `master_key` and an app-only token is requested from the sandbox described by
/// `sandbox` (sandbox.json). Returns the SHA-1 thumbprint used.
pub async fn app_only_proof(
    database: &Path,
    master_key: &tenantlink_store::MasterKey,
    sandbox: &Value,
) -> String {
    use tenantlink_entra::{
        AppTokenRequest, AssertionOptions, Endpoints, SigningCertificate, TenantId, TokenClient,
        Transport, TransportConfig,
    };
    let store = tenantlink_store::Store::open_sqlite_file(database, &Default::default())
        .await
        .expect("open the database");
    let organization = store
        .organizations()
        .await
        .expect("organizations")
        .into_iter()
        .next()
        .expect("an organization");
    let active = store
        .active_certificate(organization.id)
        .await
        .expect("read")
        .expect("an active certificate");
    let pkcs8 = store
        .certificate_private_key(master_key, active.id)
        .await
        .expect("the private key opens with this master key");
    let signer = SigningCertificate::from_parts(
        active.der.clone(),
        Vec::new(),
        &pkcs8,
        active.not_before,
        active.not_after,
    )
    .expect("signer");
    store.close().await;

    let authority = sandbox["authority"].as_str().expect("authority");
    let ca = PathBuf::from(sandbox["ca_file"].as_str().expect("ca_file"));
    let endpoints = Endpoints::explicit(authority, authority)
        .expect("endpoints")
        .with_extra_ca_file(&ca);
    let transport = Transport::new(&TransportConfig {
        extra_ca_file: Some(ca),
        ..TransportConfig::default()
    })
    .expect("transport");
    let clock: tenantlink_clock::SharedClock = Arc::new(tenantlink_clock::SystemClock);
    let tenant = TenantId::parse(sandbox["tenant_id"].as_str().expect("tenant")).expect("tenant");
    TokenClient::new(transport, endpoints, clock)
        .fetch(
            AppTokenRequest {
                tenant: &tenant,
                client_id: &organization.app_id,
                scope: "https://graph.microsoft.com/.default",
                assertion: AssertionOptions::default(),
            },
            &signer,
        )
        .await
        .expect("the sandbox issues an app-only token for the active certificate");
    active.sha1_thumbprint
}
