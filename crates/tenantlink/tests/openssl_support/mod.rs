//! Certificates made by the `openssl` CLI at test time, so a test compares tenantlink with what
//! an independent implementation writes and computes.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `openssl ARGS`, which must succeed: its standard output. Standard error is captured too,
/// because key generation draws progress dots there.
pub fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI (scripts/test installs it)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// A self-signed RSA certificate (`NAME.pem`) and its unencrypted PKCS#8 key (`NAME-key.pem`),
/// made by `openssl req -x509` in a directory.
pub struct TestCert {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

impl TestCert {
    /// RSA-2048, subject `CN=tenantlink NAME`, valid for `days` from now.
    pub fn new(dir: &Path, name: &str, days: u32) -> Self {
        Self::make(dir, name, &format!("/CN=tenantlink {name}"), 2048, days)
    }

    /// RSA of `bits`, with `subject` (`/CN=…`), valid for `days` from now.
    pub fn make(dir: &Path, name: &str, subject: &str, bits: u32, days: u32) -> Self {
        let cert_pem = dir.join(format!("{name}.pem"));
        let key_pem = dir.join(format!("{name}-key.pem"));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            &format!("rsa:{bits}"),
            "-nodes",
            "-days",
            &days.to_string(),
            "-subj",
            subject,
            "-keyout",
            path(&key_pem),
            "-out",
            path(&cert_pem),
        ]);
        Self { cert_pem, key_pem }
    }

    /// A PFX (`NAME.pfx`) of the certificate and key under `password`, as `openssl pkcs12
    /// -export` makes it by default.
    pub fn pfx(&self, password: &str) -> PathBuf {
        self.pfx_passout(&format!("pass:{password}"))
    }

    /// [`Self::pfx`] with the password from an OpenSSL pass phrase source (`file:PATH`, …).
    pub fn pfx_passout(&self, passout: &str) -> PathBuf {
        let out = self.cert_pem.with_extension("pfx");
        openssl(&[
            "pkcs12",
            "-export",
            "-in",
            path(&self.cert_pem),
            "-inkey",
            path(&self.key_pem),
            "-passout",
            passout,
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
        let out = String::from_utf8_lossy(&out);
        let hex = out
            .trim()
            .rsplit('=')
            .next()
            .expect("Fingerprint=…")
            .replace(':', "");
        assert_eq!(hex.len(), 40, "{out}");
        hex.to_ascii_uppercase()
    }

    /// The certificate's DER, as `openssl x509 -outform DER` writes it.
    pub fn der(&self) -> Vec<u8> {
        openssl(&["x509", "-in", path(&self.cert_pem), "-outform", "DER"])
    }
}
