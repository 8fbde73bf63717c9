//! A `tenantlink sandbox` seen from outside tenantlink, as a test drives it: a standalone
//! `tenantlink sandbox --enable-control` process, and for any sandbox (that process or the one
//! `tenantlink serve` runs in-process) what its sandbox.json says, its control API, device
//! sign-ins approved as its administrator, and an administrator's own Graph session
//! ([`GraphAdmin`]). A test binary declares `mod sandbox_process;` itself; the support modules
//! that build on it (`config_support`, `serve_support`, `entra_sandbox_support`) use it through
//! `crate::sandbox_process`, so each binary compiles it once.
#![allow(dead_code)] // each test binary uses a different part of the harness

mod graph;

pub use graph::GraphAdmin;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The `tenantlink` binary with no `TENANTLINK_*` variable inherited: the tests name every
/// setting they want, nothing leaks in from the caller's environment.
pub fn tenantlink_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantlink"));
    for (name, _) in std::env::vars() {
        if name.starts_with("TENANTLINK_") {
            command.env_remove(name);
        }
    }
    command
}

/// A running standalone `tenantlink sandbox --enable-control` (a stand-in for a cloud), killed
/// on drop.
pub struct Sandbox {
    child: Child,
    /// Its sandbox.json.
    pub info: Value,
    /// The first line it printed (`sandbox tenant listening at URL`), without the newline.
    pub first_line: String,
}

impl Sandbox {
    /// Starts it on an ephemeral port with its state in `state_dir`; returns once it has
    /// announced itself (sandbox.json is written by then).
    pub fn start(state_dir: &Path) -> Self {
        let mut child = tenantlink_command()
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
        let info = serde_json::from_slice(
            &std::fs::read(state_dir.join("sandbox.json")).expect("sandbox.json"),
        )
        .expect("sandbox.json is JSON");
        Self {
            child,
            info,
            first_line: first.trim_end().to_owned(),
        }
    }

    /// The string at `pointer` (`/authority`, `/backup_app/app_id`) in sandbox.json.
    pub fn text(&self, pointer: &str) -> String {
        text(&self.info, pointer)
    }

    pub fn client(&self) -> reqwest::Client {
        client(&self.info)
    }

    pub fn admin(&self) -> String {
        admin(&self.info)
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        control(&self.info, path, body).await
    }

    pub async fn approve(&self, user_code: &str) {
        approve(&self.info, user_code).await;
    }

    /// `--tenant … --authority … --ca-file …`: where the `tenantlink entra` CLI finds it.
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

    /// Attaches the PEM certificate to the backup application through Graph, replacing the
    /// collection (the sandbox's backup app starts without a certificate).
    pub async fn attach_to_backup_app(&self, certificate_pem: &Path) {
        let pem = std::fs::read_to_string(certificate_pem).expect("certificate PEM");
        // The body of the PEM block is the DER in base64, as Graph's `key` takes it.
        let key: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        GraphAdmin::sign_in(&self.info)
            .await
            .put_key_credentials(vec![json!({
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "key": key,
            })])
            .await;
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The string at `pointer` in the sandbox.json `info`.
pub fn text(info: &Value, pointer: &str) -> String {
    info.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} in sandbox.json"))
        .to_owned()
}

/// A client that trusts the sandbox's CA (and follows no redirects).
pub fn client(info: &Value) -> reqwest::Client {
    trusting(Path::new(&text(info, "/ca_file")))
}

/// A client that trusts the PEM CA in `ca` (and follows no redirects).
pub fn trusting(ca: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca).expect("CA file");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA PEM"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The sandbox account with (`true`) or without (`false`) a directory role: username, password.
pub fn user(info: &Value, administrator: bool) -> (String, String) {
    let user = info["users"]
        .as_array()
        .and_then(|users| {
            users
                .iter()
                .find(|u| u["roles"].as_array().is_some_and(|r| !r.is_empty()) == administrator)
        })
        .expect("a sandbox user of that kind in sandbox.json");
    (
        user["username"].as_str().expect("username").to_owned(),
        user["password"].as_str().expect("password").to_owned(),
    )
}

/// The directory administrator's username.
pub fn admin(info: &Value) -> String {
    user(info, true).0
}

/// A control-API call whose refusal is part of the test: status and JSON body.
pub async fn control_status(info: &Value, path: &str, body: Value) -> (reqwest::StatusCode, Value) {
    let mut request = client(info)
        .post(format!("{}{path}", text(info, "/control_base")))
        .json(&body);
    // The sandbox embedded in `serve` publishes a control secret in sandbox.json.
    if let Some(secret) = info["control_secret"].as_str() {
        request = request.bearer_auth(secret);
    }
    let response = request.send().await.expect("control API");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A control-API call that must succeed: its JSON body.
pub async fn control(info: &Value, path: &str, body: Value) -> Value {
    let (status, body) = control_status(info, path, body).await;
    assert!(status.is_success(), "control {path}: {status} {body}");
    body
}

/// Approves a device sign-in as the sandbox's directory administrator.
pub async fn approve(info: &Value, user_code: &str) {
    control(
        info,
        "/device/approve",
        json!({ "user_code": user_code, "username": admin(info) }),
    )
    .await;
}
