//! Starts the real `tenantlink serve` binary on a temporary data directory (SQLite by default or
//! PostgreSQL, in-process sandbox) and talks to it over HTTP like a browser or script would.
//! The in-process sandbox is driven through `crate::sandbox_process` and certificates are made
//! with `crate::openssl_support`: a test binary that declares `mod serve_support;` declares
//! `mod sandbox_process;` and `mod openssl_support;` too.
#![allow(dead_code)]

pub mod backend;
pub mod pfx;
pub mod postgres;
pub mod rotation;
pub mod rotation_setup;
pub mod scan;
pub mod scenario;
pub mod sign_in_form;

pub use backend::{Backend, Deployment};

use crate::openssl_support::TestCert;
use crate::sandbox_process;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";

/// How to start the service besides its data directory.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// `--database-url`; SQLite in the data directory when `None`.
    pub database_url: Option<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub sandbox: Value,
    /// Standard output up to the line announcing the URL.
    pub stdout_lines: Vec<String>,
    pub log_file: PathBuf,
    options: ServerOptions,
    stdout_all: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the service and waits for the line announcing its URL (printed after the listener
    /// is bound and interrupted operations are resolved).
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, ServerOptions::default())
    }

    pub fn start_with(data_dir: &Path, options: ServerOptions) -> Self {
        let log_file = data_dir.with_extension(format!("log{}", std::process::id()));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_file)
            .expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_tenantlink"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("TENANTLINK_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("TENANTLINK_LOG", "info")
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(stderr);
        if let Some(url) = &options.database_url {
            command.args(["--database-url", url]);
        }
        let mut child = command.spawn().expect("start tenantlink serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        let base = loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("read stdout") == 0 {
                let log = std::fs::read_to_string(&log_file).unwrap_or_default();
                panic!("tenantlink serve exited before serving; stdout: {lines:?}; log: {log}");
            }
            lines.push(line.trim_end().to_owned());
            if let Some(url) = line.trim().strip_prefix("tenantlink is serving at ") {
                break url.trim_end_matches('/').to_owned();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe; keep it for scans.
        let stdout_all = Arc::new(Mutex::new(lines.clone()));
        let sink = stdout_all.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let sandbox: Value = serde_json::from_str(
            &std::fs::read_to_string(data_dir.join("sandbox").join("sandbox.json"))
                .expect("sandbox.json"),
        )
        .expect("sandbox.json is JSON");
        Self {
            child,
            base,
            data_dir: data_dir.to_owned(),
            sandbox,
            stdout_lines: lines,
            log_file,
            options,
            stdout_all,
        }
    }

    /// SIGKILL: no chance to clean up, as in a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the process and starts it again on the same data directory and database.
    pub fn restart(self) -> Self {
        self.restart_after(|| {})
    }

    /// Kills the process, runs `between` (e.g. changing the sandbox's directory on disk) and
    /// starts it again on the same data directory and database.
    pub fn restart_after(mut self, between: impl FnOnce()) -> Self {
        let _ = self.child.kill();
        let _ = self.child.wait();
        between();
        Self::start_with(&self.data_dir, self.options.clone())
    }

    /// Everything the process wrote to standard output so far.
    pub fn stdout(&self) -> Vec<u8> {
        let lines = self.stdout_all.lock().unwrap_or_else(|e| e.into_inner());
        lines.join("\n").into_bytes()
    }

    /// The sandbox account with (`true`) or without (`false`) a directory role.
    pub fn sandbox_user(&self, administrator: bool) -> (String, String) {
        sandbox_process::user(&self.sandbox, administrator)
    }

    /// A control-API call whose refusal is part of the test: status and JSON body.
    pub async fn sandbox_control_status(
        &self,
        path: &str,
        body: Value,
    ) -> (reqwest::StatusCode, Value) {
        sandbox_process::control_status(&self.sandbox, path, body).await
    }

    pub fn sandbox_client(&self) -> reqwest::Client {
        sandbox_process::client(&self.sandbox)
    }

    pub async fn sandbox_control(&self, path: &str, body: Value) -> Value {
        sandbox_process::control(&self.sandbox, path, body).await
    }

    pub fn sandbox_admin(&self) -> String {
        sandbox_process::admin(&self.sandbox)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A signed-in portal session: the cookie plus the CSRF token the API wants.
#[derive(Clone)]
pub struct Session {
    pub base: String,
    pub client: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub async fn log_in(
    base: &str,
    username: &str,
    password: &str,
) -> Result<Session, reqwest::StatusCode> {
    let client = client();
    let response = sign_in_form::sign_in(&client, base, username, password).await;
    if response.status() != reqwest::StatusCode::SEE_OTHER {
        return Err(response.status());
    }
    let set_cookie = sign_in_form::session_set_cookie(&response).expect("session cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("cookie pair")
        .to_owned();
    let me: Value = client
        .get(format!("{base}/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("me json");
    Ok(Session {
        base: base.to_owned(),
        client,
        cookie,
        csrf: me["csrf_token"].as_str().expect("csrf").to_owned(),
    })
}

impl Session {
    pub async fn get(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("GET");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_text(&self, path: &str) -> (reqwest::StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("GET");
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }

    pub async fn post(&self, path: &str, body: Value) -> (reqwest::StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("POST");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_without_csrf(&self, path: &str, body: Value) -> reqwest::StatusCode {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .json(&body)
            .send()
            .await
            .expect("POST")
            .status()
    }

    /// Presses Generate: the API answers 202 at once and the work runs in the background, so
    /// this follows the operation to its outcome. Returns the POST's status and the outcome (or,
    /// when the POST was refused, its problem).
    pub async fn generate(&self, operation: &str) -> (reqwest::StatusCode, Value) {
        let (status, answer) = self
            .post(
                &format!("/api/v1/operations/{operation}/generate"),
                json!({}),
            )
            .await;
        self.outcome_of(operation, status, answer).await
    }

    async fn outcome_of(
        &self,
        operation: &str,
        status: reqwest::StatusCode,
        answer: Value,
    ) -> (reqwest::StatusCode, Value) {
        if status != reqwest::StatusCode::ACCEPTED {
            return (status, answer);
        }
        let finished = self
            .wait_for(operation, |op| {
                matches!(
                    op["step"].as_str(),
                    Some("succeeded" | "failed" | "cancelled")
                )
            })
            .await;
        (status, finished)
    }

    /// Imports a .pfx (202, then followed to the outcome like [`Session::generate`]).
    pub async fn import(
        &self,
        operation: &str,
        pfx: Vec<u8>,
        password: Option<&str>,
    ) -> (reqwest::StatusCode, Value) {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(pfx).file_name("upload.pfx"),
        );
        if let Some(password) = password {
            form = form.text("password", password.to_owned());
        }
        let response = self
            .client
            .post(format!(
                "{}/api/v1/operations/{operation}/import",
                self.base
            ))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .multipart(form)
            .send()
            .await
            .expect("import");
        let status = response.status();
        let answer = response.json().await.unwrap_or(Value::Null);
        self.outcome_of(operation, status, answer).await
    }

    pub async fn first_organization(&self) -> String {
        let (_, orgs) = self.get("/api/v1/organizations").await;
        orgs["rows"][0]["id"]
            .as_str()
            .expect("an organization")
            .to_owned()
    }

    /// Starts an operation and approves its device sign-in on the sandbox, then waits until the
    /// service has seen the sign-in.
    pub async fn signed_in_operation(&self, server: &Server, kind: &str) -> String {
        let org = self.first_organization().await;
        let (status, op) = self
            .post(
                &format!("/api/v1/organizations/{org}/operations"),
                json!({ "kind": kind }),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{op}");
        let id = op["id"].as_str().expect("id").to_owned();
        let code = op["sign_in"]["user_code"].as_str().expect("user code");
        sandbox_process::approve(&server.sandbox, code).await;
        let op = self
            .wait_for(&id, |op| op["step"] != "awaiting_sign_in")
            .await;
        assert_eq!(op["step"], "signed_in", "{op}");
        id
    }

    /// Reads the operation until `done` holds. The service learns of the sign-in from its own
    /// background poll of the token endpoint, so this waits on that external event (deadline 60 s).
    pub async fn wait_for(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, op) = self.get(&format!("/api/v1/operations/{id}")).await;
            if done(&op) {
                return op;
            }
            assert!(
                Instant::now() < deadline,
                "operation never reached the expected step: {op}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A self-signed RSA certificate exported as PKCS#12 by the `openssl` CLI. Returns the PFX and
/// the SHA-1 thumbprint (upper-case hex).
pub fn openssl_pfx(dir: &Path, password: &str) -> (Vec<u8>, String) {
    openssl_pfx_valid_for(dir, password, 30)
}

/// [`openssl_pfx`] with a certificate valid for `days` from now.
pub fn openssl_pfx_valid_for(dir: &Path, password: &str, days: u32) -> (Vec<u8>, String) {
    let (pfx, sha1, _) = openssl_pfx_files(dir, password, days);
    (pfx, sha1)
}

/// [`openssl_pfx_valid_for`], also returning the certificate and key files it was made from.
pub fn openssl_pfx_files(dir: &Path, password: &str, days: u32) -> (Vec<u8>, String, TestCert) {
    let cert = TestCert::make(dir, "cert", "/CN=upload-test", 2048, days);
    let pfx = std::fs::read(cert.pfx(password)).expect("pfx");
    let sha1 = cert.openssl_sha1();
    (pfx, sha1, cert)
}
