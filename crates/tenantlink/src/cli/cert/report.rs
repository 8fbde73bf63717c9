//! What `cert inspect` prints: one flat record with the field names, rendered as aligned
//! text or as one JSON object.

use serde::Serialize;
use tenantlink_certificate::Certificate;

/// The certificate fields are `None` (JSON `null`) when nothing could be read, e.g. a PFX whose
/// password is wrong.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Report {
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub serial: Option<String>,
    pub not_before: Option<String>,
    pub not_after: Option<String>,
    pub key_type: Option<&'static str>,
    pub key_bits: Option<usize>,
    pub sha1_thumbprint: Option<String>,
    pub sha256_thumbprint: Option<String>,
    pub x5t: Option<String>,
    pub x5t_s256: Option<String>,
    pub has_private_key: bool,
    pub chain_len: usize,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Problem {
    pub kind: &'static str,
    pub message: String,
}

impl Report {
    pub fn describe(&mut self, certificate: &Certificate) {
        let thumbprints = certificate.thumbprints();
        self.subject = Some(certificate.subject().to_owned());
        self.issuer = Some(certificate.issuer().to_owned());
        self.serial = Some(certificate.serial_hex().to_owned());
        self.not_before = Some(super::rfc3339(certificate.not_before()));
        self.not_after = Some(super::rfc3339(certificate.not_after()));
        self.key_type = Some(certificate.key_type().as_str());
        self.key_bits = certificate.key_bits();
        self.sha1_thumbprint = Some(thumbprints.sha1_hex());
        self.sha256_thumbprint = Some(thumbprints.sha256_hex());
        self.x5t = Some(thumbprints.x5t());
        self.x5t_s256 = Some(thumbprints.x5t_s256());
    }

    pub fn to_json(&self) -> String {
        // Serializing plain strings, numbers and booleans cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        let unknown = || "(unreadable)".to_owned();
        let mut lines = vec![
            ("subject", self.subject.clone().unwrap_or_else(unknown)),
            ("issuer", self.issuer.clone().unwrap_or_else(unknown)),
            ("serial", self.serial.clone().unwrap_or_else(unknown)),
            (
                "not_before",
                self.not_before.clone().unwrap_or_else(unknown),
            ),
            ("not_after", self.not_after.clone().unwrap_or_else(unknown)),
            (
                "key_type",
                self.key_type.map(str::to_owned).unwrap_or_else(unknown),
            ),
            (
                "key_bits",
                self.key_bits.map(|b| b.to_string()).unwrap_or_else(unknown),
            ),
            (
                "sha1_thumbprint",
                self.sha1_thumbprint.clone().unwrap_or_else(unknown),
            ),
            (
                "sha256_thumbprint",
                self.sha256_thumbprint.clone().unwrap_or_else(unknown),
            ),
            ("x5t", self.x5t.clone().unwrap_or_else(unknown)),
            ("x5t_s256", self.x5t_s256.clone().unwrap_or_else(unknown)),
            ("has_private_key", self.has_private_key.to_string()),
            ("chain_len", self.chain_len.to_string()),
        ];
        lines.push((
            "problems",
            if self.problems.is_empty() {
                "none".to_owned()
            } else {
                self.problems.len().to_string()
            },
        ));
        let mut text = String::new();
        for (name, value) in lines {
            text.push_str(&format!("{:<18} {value}\n", format!("{name}:")));
        }
        for problem in &self.problems {
            text.push_str(&format!("  - {}: {}\n", problem.kind, problem.message));
        }
        text
    }
}
