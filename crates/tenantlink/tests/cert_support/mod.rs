//! Shared harness of the `cert_*` tests: runs the real `tenantlink` binary, `openssl` and the
//! test Python, and builds the PKCS#12 fixtures once per test binary with the checked-in
//! generator `scripts/make-test-pfx.py`. Certificates made at test time come from
//! `crate::openssl_support` (a test binary declaring `mod cert_support;` declares it too).

#![allow(dead_code)] // each test binary uses a different part of the harness

use crate::openssl_support::TestCert;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/tenantlink sits two levels below the workspace root")
        .to_path_buf()
}

/// The Python with `cryptography` installed: `TENANTLINK_PYTHON`, else the workspace venv.
pub fn python() -> PathBuf {
    let path = std::env::var_os("TENANTLINK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "no test Python at {} (set TENANTLINK_PYTHON or run scripts/test, which creates .venv)",
        path.display()
    );
    path
}

/// The result of one process run, with the text decoded for assertions.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|err| {
            panic!(
                "stdout is not one JSON value ({err}):\n{}\nstderr: {}",
                self.stdout_text(),
                self.stderr
            )
        })
    }

    pub fn assert_success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "expected success; stdout:\n{}\nstderr:\n{}",
            self.stdout_text(),
            self.stderr
        );
        self
    }

    /// Asserts the failure contract: non-zero exit and a last stderr line `error: <kind>: …`.
    /// Returns the message after the kind.
    pub fn assert_error_kind(&self, kind: &str) -> String {
        assert_ne!(
            self.code,
            Some(0),
            "expected failure; stdout:\n{}",
            self.stdout_text()
        );
        let last = self.stderr.lines().last().unwrap_or_default();
        let prefix = format!("error: {kind}: ");
        assert!(
            last.starts_with(&prefix),
            "expected last stderr line to start with {prefix:?}, got stderr:\n{}",
            self.stderr
        );
        let error_lines = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count();
        assert_eq!(
            error_lines, 1,
            "exactly one error line expected:\n{}",
            self.stderr
        );
        last[prefix.len()..].to_owned()
    }
}

fn run(mut command: Command, stdin: Option<&[u8]>) -> Run {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {command:?}: {err}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin was piped");
        pipe.write_all(input).expect("write stdin");
    }
    Run::from(child.wait_with_output().expect("wait for process"))
}

pub fn tenantlink(args: &[&str]) -> Run {
    tenantlink_with_stdin(args, None)
}

pub fn tenantlink_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantlink"));
    command.args(args).env_remove("TENANTLINK_LOG");
    run(command, stdin)
}

pub fn openssl(args: &[&str]) -> Run {
    let mut command = Command::new("openssl");
    command.args(args);
    run(command, None)
}

pub fn python_script(script: &str, args: &[&str]) -> Run {
    let mut command = Command::new(python());
    command.arg("-c").arg(script).args(args);
    run(command, None)
}

/// `openssl x509 -fingerprint -<digest>` of a certificate file, as the 40/64 upper-case hex
/// characters tenantlink prints (OpenSSL separates bytes with colons).
pub fn openssl_fingerprint(cert_file: &Path, inform: &str, digest: &str) -> String {
    let run = openssl(&[
        "x509",
        "-in",
        path_str(cert_file),
        "-inform",
        inform,
        "-noout",
        "-fingerprint",
        &format!("-{digest}"),
    ]);
    run.assert_success();
    let text = run.stdout_text();
    let (_, hex) = text
        .trim()
        .split_once('=')
        .unwrap_or_else(|| panic!("unexpected fingerprint output {text:?}"));
    hex.replace(':', "")
}

/// Fingerprints (SHA-1, SHA-256) of every certificate in a PEM bundle, via openssl.
pub fn openssl_bundle_fingerprints(pem_bundle: &str, scratch: &Path) -> Vec<(String, String)> {
    let mut fingerprints = Vec::new();
    for (index, block) in pem_bundle
        .split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .enumerate()
    {
        let end = block
            .find("-----END CERTIFICATE-----")
            .expect("PEM block has an end line");
        let pem = format!(
            "-----BEGIN CERTIFICATE-----{}-----END CERTIFICATE-----\n",
            &block[..end]
        );
        let file = scratch.join(format!("bundle-{index}.pem"));
        std::fs::write(&file, pem).expect("write PEM");
        fingerprints.push((
            openssl_fingerprint(&file, "PEM", "sha1"),
            openssl_fingerprint(&file, "PEM", "sha256"),
        ));
    }
    fingerprints
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

pub fn write_password_file(dir: &Path, name: &str, password: &str) -> PathBuf {
    let path = dir.join(name);
    // A trailing newline, as `echo` writes it: tenantlink must strip exactly that one.
    std::fs::write(&path, format!("{password}\n")).expect("write password file");
    path
}

/// The fixtures generated by `scripts/make-test-pfx.py` for this test binary.
pub struct Fixtures {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub manifest: Value,
}

pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = dir.path().to_path_buf();
        let script = workspace_root().join("scripts/make-test-pfx.py");
        let mut command = Command::new(python());
        command.arg(&script).arg(&root);
        let generated = run(command, None);
        assert_eq!(
            generated.code,
            Some(0),
            "{} failed:\n{}\n{}",
            script.display(),
            generated.stdout_text(),
            generated.stderr
        );
        let manifest_text =
            std::fs::read_to_string(root.join("manifest.json")).expect("manifest.json written");
        let manifest = serde_json::from_str(&manifest_text).expect("manifest.json is JSON");
        Fixtures {
            _dir: dir,
            root,
            manifest,
        }
    })
}

/// A key and self-signed certificate made by OpenSSL 3 (`cert.pem`, `cert-key.pem`, valid for 30
/// days), packed as a default (AES-256) PFX (`cert.pfx`) under the password in `password.txt`.
pub struct OpensslCredential {
    pub pfx: PathBuf,
    pub password_file: PathBuf,
    pub cert_pem: PathBuf,
}

/// [`OpensslCredential`] with `subject` (`/CN=…`) and an RSA key of `bits`.
pub fn openssl_credential(
    dir: &Path,
    subject: &str,
    bits: u32,
    password: &str,
) -> OpensslCredential {
    let password_file = write_password_file(dir, "password.txt", password);
    let cert = TestCert::make(dir, "cert", subject, bits, 30);
    let pfx = cert.pfx_passout(&format!("file:{}", path_str(&password_file)));
    OpensslCredential {
        pfx,
        password_file,
        cert_pem: cert.cert_pem,
    }
}

/// The fields `cert inspect --json` prints, in the wording.
pub const INSPECT_FIELDS: [&str; 14] = [
    "subject",
    "issuer",
    "serial",
    "not_before",
    "not_after",
    "key_type",
    "key_bits",
    "sha1_thumbprint",
    "sha256_thumbprint",
    "x5t",
    "x5t_s256",
    "has_private_key",
    "chain_len",
    "problems",
];
