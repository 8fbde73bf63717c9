//! Harness of `entra_cli_sandbox`: a standalone `tenantlink sandbox` process with its control
//! API, certificates made by the `openssl` CLI, a certificate attached to the sandbox's backup
//! application through Graph, and `tenantlink entra …` runs whose device sign-in the test
//! approves as soon as the CLI prints the code.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

/// The delegated scope that may read and write an application's keyCredentials on the sandbox.
pub const APP_READ_WRITE: &str = "https://graph.microsoft.com/Application.ReadWrite.All";

fn tenantlink_std() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantlink"));
    // Nothing leaks in from the caller's environment.
    for (name, _) in std::env::vars() {
        if name.starts_with("TENANTLINK_") {
            command.env_remove(name);
        }
    }
    command
}

/// A running `tenantlink sandbox --enable-control`, killed on drop.
pub struct Sandbox {
    child: Child,
    pub info: Value,
    pub http: reqwest::Client,
}

impl Sandbox {
    pub fn start(state_dir: &Path) -> Self {
        let mut child = tenantlink_std()
            .args([
                "sandbox",
                "--listen",
                "127.0.0.1:0",
                "--enable-control",
                "--state-dir",
            ])
            .arg(state_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tenantlink sandbox");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("read stdout");
        assert!(
            first.starts_with("sandbox tenant listening at"),
            "sandbox did not start: {first}"
        );
        // Keep draining stdout so the sandbox never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        let info: Value = serde_json::from_slice(
            &std::fs::read(state_dir.join("sandbox.json")).expect("sandbox.json"),
        )
        .expect("sandbox.json is JSON");
        let ca = std::fs::read(info["ca_file"].as_str().expect("ca_file")).expect("CA file");
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA PEM"))
            .build()
            .expect("client");
        Self { child, info, http }
    }

    pub fn text(&self, pointer: &str) -> String {
        self.info
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{pointer} in sandbox.json"))
            .to_owned()
    }

    /// The directory administrator (the user with a role), as published in sandbox.json.
    pub fn admin(&self) -> String {
        self.info["users"]
            .as_array()
            .and_then(|users| {
                users
                    .iter()
                    .find(|u| u["roles"].as_array().is_some_and(|r| !r.is_empty()))
            })
            .and_then(|u| u["username"].as_str())
            .expect("a sandbox administrator")
            .to_owned()
    }

    /// `--tenant … --authority … --ca-file …`: where the CLI finds this sandbox.
    pub fn target_args(&self) -> Vec<String> {
        vec![
            "--tenant".into(),
            self.text("/tenant_id"),
            "--authority".into(),
            self.text("/authority"),
            "--ca-file".into(),
            self.text("/ca_file"),
        ]
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.text("/control_base")))
            .json(&body)
            .send()
            .await
            .expect("control API");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "control {path}: {status} {body}");
        body
    }

    /// Approves a device sign-in as the administrator.
    pub async fn approve(&self, user_code: &str) {
        self.control(
            "/device/approve",
            json!({ "user_code": user_code, "username": self.admin() }),
        )
        .await;
    }

    /// A delegated Graph token of the administrator, by the device flow over plain HTTP (one
    /// poll, right after the approval, so nothing waits for the polling interval).
    async fn admin_graph_token(&self) -> String {
        let token_base = format!(
            "{}/{}/oauth2/v2.0",
            self.text("/authority"),
            self.text("/tenant_id")
        );
        let client_id = self.text("/public_client_id");
        let code: Value = self
            .http
            .post(format!("{token_base}/devicecode"))
            .form(&[("client_id", client_id.as_str()), ("scope", APP_READ_WRITE)])
            .send()
            .await
            .expect("devicecode")
            .json()
            .await
            .expect("devicecode JSON");
        self.approve(code["user_code"].as_str().expect("user_code"))
            .await;
        let token: Value = self
            .http
            .post(format!("{token_base}/token"))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", client_id.as_str()),
                ("device_code", code["device_code"].as_str().expect("code")),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("token JSON");
        token["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no delegated token: {token}"))
            .to_owned()
    }

    /// Attaches the PEM certificate to the backup application through Graph (the collection was
    /// empty: the sandbox's backup app starts without a certificate).
    pub async fn attach_to_backup_app(&self, certificate_pem: &Path) {
        let token = self.admin_graph_token().await;
        let response = self
            .http
            .patch(format!(
                "{}/applications/{}",
                self.text("/graph_base"),
                self.text("/backup_app/object_id")
            ))
            .bearer_auth(token)
            .json(&json!({ "keyCredentials": [{
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "key": der_base64(certificate_pem),
            }]}))
            .send()
            .await
            .expect("PATCH application");
        let status = response.status();
        assert!(
            status.is_success(),
            "attach: {status} {}",
            response.text().await.unwrap_or_default()
        );
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished `tenantlink entra …` run left.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{self:#?}");
        self
    }
}

/// Runs `tenantlink ARGS` to completion (no sign-in), with `stdin` written to its input.
pub async fn run(args: &[String], stdin: &str) -> Finished {
    use tokio::io::AsyncWriteExt;
    let mut child = tenantlink_async(args).spawn().expect("run tenantlink");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).await.expect("stdin");
    drop(input);
    let output = child.wait_with_output().await.expect("tenantlink");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn tenantlink_async(args: &[String]) -> tokio::process::Command {
    let mut command = tokio::process::Command::from(tenantlink_std());
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `tenantlink ARGS`, a command that signs in with the device flow: reads its stderr line
/// by line until the user code appears, approves it as the administrator, and waits for the end.
/// Returns the code the CLI printed and the run.
pub async fn run_with_sign_in(sandbox: &Sandbox, args: &[String]) -> (String, Finished) {
    let mut child = tenantlink_async(args).spawn().expect("run tenantlink");
    drop(child.stdin.take());
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    let user_code = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).await.expect("read stderr") == 0 {
            let output = child.wait_with_output().await.expect("tenantlink");
            panic!(
                "tenantlink ended before printing a code ({:?}); stderr: {seen}; stdout: {}",
                output.status.code(),
                String::from_utf8_lossy(&output.stdout)
            );
        }
        seen.push_str(&line);
        // "(code ABCD23456 expires at …; waiting for the sign-in, Ctrl-C to cancel)"
        if let Some(rest) = line.trim().strip_prefix("(code ") {
            break rest.split_whitespace().next().expect("a code").to_owned();
        }
    };
    sandbox.approve(&user_code).await;
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).await.expect("stderr");
    seen.push_str(&rest);
    let output = child.wait_with_output().await.expect("tenantlink");
    (
        user_code,
        Finished {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: seen,
        },
    )
}

fn openssl(args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI (scripts/test installs it)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An RSA-2048 self-signed certificate valid for `days` (cert.pem, and key.pem in PKCS#8), made
/// by OpenSSL in `dir`.
pub struct TestCert {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

impl TestCert {
    pub fn new(dir: &Path, name: &str, days: u32) -> Self {
        let cert_pem = dir.join(format!("{name}.pem"));
        let key_pem = dir.join(format!("{name}-key.pem"));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            &days.to_string(),
            "-subj",
            &format!("/CN=tenantlink {name}"),
            "-keyout",
            path(&key_pem),
            "-out",
            path(&cert_pem),
        ]);
        Self { cert_pem, key_pem }
    }

    /// A PFX of the certificate and key under `password`, as `openssl pkcs12 -export` makes it.
    pub fn pfx(&self, password: &str) -> PathBuf {
        let out = self.cert_pem.with_extension("pfx");
        openssl(&[
            "pkcs12",
            "-export",
            "-in",
            path(&self.cert_pem),
            "-inkey",
            path(&self.key_pem),
            "-passout",
            &format!("pass:{password}"),
            "-out",
            path(&out),
        ]);
        out
    }

    /// The SHA-1 thumbprint as OpenSSL computes it: 40 upper-case hex digits.
    pub fn openssl_sha1(&self) -> String {
        let out = openssl(&[
            "x509",
            "-in",
            path(&self.cert_pem),
            "-noout",
            "-fingerprint",
            "-sha1",
        ]);
        let hex = out
            .trim()
            .rsplit('=')
            .next()
            .expect("Fingerprint=…")
            .replace(':', "");
        assert_eq!(hex.len(), 40, "{out}");
        hex.to_ascii_uppercase()
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The certificate's DER, base64 (the body of the PEM block), as Graph's `key` takes it.
fn der_base64(certificate_pem: &Path) -> String {
    let pem = std::fs::read_to_string(certificate_pem).expect("certificate PEM");
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
}
