//! A certificate an administrator brings: made by the `openssl` CLI, so the test knows every byte
//! of its private key and can look for them later.

use super::openssl_pfx_files;
use super::scan::Secret;
use crate::openssl_support::{openssl, path};
use std::path::Path;

pub struct UploadCertificate {
    pub pfx: Vec<u8>,
    pub password: String,
    /// Upper-case hex.
    pub sha1: String,
    pub certificate_der: Vec<u8>,
    pub key_pkcs8_der: Vec<u8>,
    pub key_pkcs1_der: Vec<u8>,
    pub key_pem: String,
    /// privateExponent, prime1, prime2 (big-endian, no leading zero).
    pub private_numbers: Vec<(&'static str, Vec<u8>)>,
}

impl UploadCertificate {
    /// A 365-day certificate, so it shows as valid rather than expiring soon.
    pub fn create(dir: &Path, password: &str) -> Self {
        let (pfx, sha1, cert) = openssl_pfx_files(dir, password, 365);
        let key = path(&cert.key_pem);
        let text = openssl(&["rsa", "-in", key, "-noout", "-text"]);
        let text = String::from_utf8(text).expect("openssl text");
        Self {
            pfx,
            password: password.to_owned(),
            sha1,
            certificate_der: cert.der(),
            key_pkcs8_der: openssl(&["pkey", "-in", key, "-outform", "DER"]),
            key_pkcs1_der: openssl(&["rsa", "-in", key, "-traditional", "-outform", "DER"]),
            key_pem: std::fs::read_to_string(&cert.key_pem).expect("key PEM"),
            private_numbers: ["privateExponent", "prime1", "prime2"]
                .into_iter()
                .map(|name| (name, number_from_openssl_text(&text, name)))
                .collect(),
        }
    }

    /// The private key in every form a careless implementation might keep it.
    pub fn key_secrets(&self) -> Vec<Secret> {
        let mut pem = Secret::bytes("uploaded private key (PKCS#8 DER)", &self.key_pkcs8_der);
        for (i, line) in self
            .key_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .enumerate()
        {
            pem = pem.also(&format!("PEM line {i}"), line.as_bytes());
        }
        let mut secrets = vec![
            pem,
            Secret::bytes("uploaded private key (PKCS#1 DER)", &self.key_pkcs1_der),
        ];
        for (name, bytes) in &self.private_numbers {
            secrets.push(Secret::bytes(format!("uploaded key's {name}"), bytes));
        }
        secrets
    }
}

/// `name:` followed by indented lines of `aa:bb:…` hex in `openssl rsa -text` output.
fn number_from_openssl_text(text: &str, name: &str) -> Vec<u8> {
    let mut lines = text.lines().skip_while(|l| l.trim() != format!("{name}:"));
    lines
        .next()
        .unwrap_or_else(|| panic!("{name} in openssl output"));
    let hex: String = lines
        .take_while(|l| l.starts_with(' '))
        .flat_map(|l| l.trim().split(':'))
        .filter(|part| !part.is_empty())
        .collect();
    let mut bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    while bytes.first() == Some(&0) {
        bytes.remove(0);
    }
    assert!(bytes.len() >= 64, "{name} is {} bytes", bytes.len());
    bytes
}
