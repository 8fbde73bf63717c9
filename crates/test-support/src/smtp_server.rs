//! A real SMTP server for tests: `aiosmtpd` (third-party, from `scripts/requirements-test.txt`)
//! run by the test Python on a free loopback port, in plain, STARTTLS or implicit-TLS mode, with
//! optional required authentication. Every accepted message is parsed by Python's own `email`
//! package and written as one JSON file before the server answers `250`; so once a client's send
//! has returned, [`SmtpServer::messages`] has it, and a test waiting on another process polls
//! with [`SmtpServer::wait_for_messages`] until the count is reached or its deadline passes.
//! The process is killed with its guard.

use serde::Deserialize;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCRIPT: &str = include_str!("smtp_server.py");

/// How clients must connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpServerMode {
    Plain,
    /// `STARTTLS` required before `MAIL`, with this certificate chain and key (PEM files).
    StartTls {
        cert: PathBuf,
        key: PathBuf,
    },
    /// TLS from the first byte.
    Tls {
        cert: PathBuf,
        key: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub struct SmtpServerOptions {
    pub mode: SmtpServerMode,
    /// `AUTH` required with this user name and password.
    pub auth: Option<(String, String)>,
}

/// One accepted message, as the server's Python parsed it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedEmail {
    /// The envelope's sender and recipients.
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The user name the client authenticated as.
    pub authenticated_as: Option<String>,
    /// Whether the message came over TLS.
    pub tls: bool,
    /// The top-level content type, e.g. `multipart/alternative`.
    pub content_type: String,
    pub subject: String,
    pub from: String,
    pub to: String,
    /// Every leaf part, decoded.
    pub parts: Vec<EmailPart>,
    pub raw: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EmailPart {
    pub content_type: String,
    pub content: String,
}

impl ReceivedEmail {
    /// The decoded content of the first part of this type (`text/plain`, `text/html`).
    pub fn part(&self, content_type: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|p| p.content_type == content_type)
            .map(|p| p.content.as_str())
    }
}

#[derive(Debug)]
pub struct SmtpServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Plain SMTP, no authentication.
    pub fn start() -> Self {
        Self::start_with(SmtpServerOptions {
            mode: SmtpServerMode::Plain,
            auth: None,
        })
    }

    /// Accepting connections when this returns.
    pub fn start_with(options: SmtpServerOptions) -> Self {
        let dir = tempfile::tempdir().expect("a directory for received mail");
        let script = dir.path().join("smtp_server.py");
        std::fs::write(&script, SCRIPT).expect("write the server script");
        let messages = dir.path().join("messages");
        std::fs::create_dir(&messages).expect("the messages directory");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("a log file");

        let mut command = Command::new(crate::python());
        command.arg(&script).arg(&messages);
        match &options.mode {
            SmtpServerMode::Plain => command.arg("plain"),
            SmtpServerMode::StartTls { cert, key } => command
                .arg("starttls")
                .arg("--cert")
                .arg(cert)
                .arg("--key")
                .arg(key),
            SmtpServerMode::Tls { cert, key } => command
                .arg("tls")
                .arg("--cert")
                .arg(cert)
                .arg("--key")
                .arg(key),
        };
        if let Some((user, password)) = &options.auth {
            command.arg("--user").arg(user);
            command.env("SMTP_TEST_PASSWORD", password);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run the test Python {} ({e}): run scripts/test or set TENANTLINK_PYTHON",
                    crate::python().display()
                )
            });
        // The script prints its port once it listens, or exits (EOF here) if it cannot.
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the aiosmtpd test server did not start (is aiosmtpd installed? scripts/requirements-test.txt): {}",
                read_log(dir.path())
            );
        };
        Self { child, port, dir }
    }

    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<ReceivedEmail> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path().join("messages"))
            .expect("read the messages directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).expect("read a received message");
                serde_json::from_str(&text).expect("a received message is JSON")
            })
            .collect()
    }

    /// The messages once there are at least `count`; panics (with the server's log) when
    /// `within` passes first.
    pub async fn wait_for_messages(&self, count: usize, within: Duration) -> Vec<ReceivedEmail> {
        let deadline = Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP server accepted {} message(s) within {within:?}, not {count}; its log: {}",
                messages.len(),
                read_log(self.dir.path())
            );
            // Polling a directory: the condition is checked again, not timed.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the server wrote to stderr (aiosmtpd logs refused commands there).
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}
