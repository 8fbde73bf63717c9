//! Reads whatever the administrator gives (PFX, PEM or DER) and reports what it could read and
//! everything wrong with it, instead of stopping at the first problem.

use time::OffsetDateTime;

use crate::assemble::{Contents, evaluate};
use crate::certificate::{Certificate, CertificateError};
use crate::error::ImportError;
use crate::key::PrivateKey;
use crate::pkcs12::{MAX_INPUT_BYTES, read};
use tenantlink_secret::SecretString;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Pkcs12,
    Pem,
    Der,
}

impl InputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Pkcs12 => "pkcs12",
            InputFormat::Pem => "pem",
            InputFormat::Der => "der",
        }
    }
}

/// What `inspect` could read. `problems` is empty when the input is acceptable as the app
/// credential (for PEM/DER without a key: when the certificate itself is acceptable).
#[derive(Clone, Debug)]
pub struct Inspection {
    pub format: InputFormat,
    /// The leaf certificate, when any certificate could be read.
    pub certificate: Option<Certificate>,
    /// How many certificates the input holds, leaf included.
    pub chain_len: usize,
    pub has_private_key: bool,
    /// Most fundamental first; `problems[0]` is what `import_pkcs12` would return for a PFX.
    pub problems: Vec<ImportError>,
}

impl Inspection {
    pub fn is_acceptable(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Inspects PKCS#12, PEM (certificates, optionally with an unencrypted PKCS#8 key) or a DER
/// certificate. Never fails and never panics: unreadable input becomes a problem.
pub fn inspect(bytes: &[u8], password: Option<&SecretString>, now: OffsetDateTime) -> Inspection {
    if bytes.len() > MAX_INPUT_BYTES {
        return Inspection {
            format: InputFormat::Pkcs12,
            certificate: None,
            chain_len: 0,
            has_private_key: false,
            problems: vec![ImportError::TooLarge {
                size: bytes.len(),
                limit: MAX_INPUT_BYTES,
            }],
        };
    }
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return inspect_pem(bytes, now);
    }
    if let Ok(certificate) = Certificate::from_der(bytes.to_vec()) {
        let contents = Contents {
            keys: Vec::new(),
            certificates: vec![certificate],
        };
        return judged(InputFormat::Der, contents, false, now);
    }
    match read(bytes, password) {
        Ok(contents) => judged(InputFormat::Pkcs12, contents, true, now),
        Err(problem) => Inspection {
            format: InputFormat::Pkcs12,
            certificate: None,
            chain_len: 0,
            has_private_key: false,
            problems: vec![problem],
        },
    }
}

fn inspect_pem(bytes: &[u8], now: OffsetDateTime) -> Inspection {
    let unreadable = |problem: ImportError| Inspection {
        format: InputFormat::Pem,
        certificate: None,
        chain_len: 0,
        has_private_key: false,
        problems: vec![problem],
    };
    let mut contents = Contents::default();
    let mut has_encrypted_key = false;
    for block in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let block = match block {
            Ok(block) => block,
            Err(e) => {
                return unreadable(ImportError::InvalidCertificate(
                    CertificateError::InvalidPem {
                        detail: e.to_string(),
                    },
                ));
            }
        };
        match block.label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" => match Certificate::from_der(block.contents) {
                Ok(certificate) => contents.certificates.push(certificate),
                Err(e) => return unreadable(e.into()),
            },
            "PRIVATE KEY" => {
                let der = zeroize::Zeroizing::new(block.contents);
                match PrivateKey::from_pkcs8_der(&der) {
                    Ok(key) => contents.keys.push(key),
                    Err(e) => return unreadable(e),
                }
            }
            label if label.ends_with("PRIVATE KEY") => {
                // Encrypted or traditional (PKCS#1 / SEC1) keys: present but not read here.
                has_encrypted_key = true;
                zeroize::Zeroize::zeroize(&mut { block.contents });
            }
            _ => {}
        }
    }
    if contents.certificates.is_empty() && contents.keys.is_empty() && !has_encrypted_key {
        return unreadable(CertificateError::NoPemCertificate.into());
    }
    let mut inspection = judged(InputFormat::Pem, contents, false, now);
    inspection.has_private_key |= has_encrypted_key;
    inspection
}

fn judged(
    format: InputFormat,
    contents: Contents,
    key_expected: bool,
    now: OffsetDateTime,
) -> Inspection {
    let evaluation = evaluate(&contents, key_expected, now);
    Inspection {
        format,
        certificate: evaluation
            .leaf
            .map(|leaf| contents.certificates[leaf].clone()),
        chain_len: contents.certificates.len(),
        has_private_key: !contents.keys.is_empty(),
        problems: evaluation.problems,
    }
}
