use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::certificate::{CertificateError, KeyType};

/// Why a PKCS#12 file (or a certificate) cannot become the app credential.
///
/// Every variant has a stable machine [`kind`](ImportError::kind) and a message that says what the
/// administrator should do. No variant ever carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    #[error(
        "the file is {size} bytes; a PKCS#12 file with one certificate chain is far smaller than the {limit}-byte limit, so this is not the right file"
    )]
    TooLarge { size: usize, limit: usize },

    #[error("not a PKCS#12 (.pfx/.p12) file: {detail}")]
    NotPkcs12 { detail: String },

    #[error("the PKCS#12 file is password protected; provide its password")]
    PasswordRequired,

    #[error("wrong password for this PKCS#12 file; check the password the file was exported with")]
    WrongPassword,

    #[error(
        "the PKCS#12 integrity check (MAC) failed although the password decrypts the contents: the file was modified or damaged; export it again"
    )]
    MacMismatch,

    #[error(
        "the PKCS#12 file uses {algorithm}, which tenantlink does not support; re-export it with AES-256-CBC (OpenSSL 3 default, or Windows \"AES256-SHA256\")"
    )]
    UnsupportedAlgorithm { algorithm: String },

    #[error(
        "the PKCS#12 file asks for {iterations} key-derivation iterations, above the limit of {limit}; re-export it with a normal iteration count (OpenSSL uses 2048)"
    )]
    IterationsTooHigh { iterations: u64, limit: u64 },

    #[error(
        "a part of the PKCS#12 file asks scrypt for {memory_bytes} bytes of memory (N = {n}, r = {r}; 128·N·r), above the limit of {limit_bytes} bytes (N = 2^20 with r = 8); re-export it with AES-256-CBC and PBKDF2 (the OpenSSL 3 and Windows default), or with scrypt N at most 2^20 and r = 8"
    )]
    ScryptMemoryTooHigh {
        n: u64,
        r: u64,
        memory_bytes: u64,
        limit_bytes: u64,
    },

    #[error(
        "a part of the PKCS#12 file asks scrypt for N·r·p = {work} (N = {n}, r = {r}, p = {p}), above the limit of {limit} (N = 2^20, r = 8, p = 1); re-export it with AES-256-CBC and PBKDF2 (the OpenSSL 3 and Windows default), or with scrypt p = 1"
    )]
    ScryptWorkTooHigh {
        n: u64,
        r: u64,
        p: u64,
        work: u64,
        limit: u64,
    },

    #[error(
        "the {parts} scrypt-encrypted parts of the PKCS#12 file together ask for N·r·p = {work}, above the per-file limit of {limit} (two parts at N = 2^20, r = 8, p = 1); re-export the certificate and its key alone with AES-256-CBC and PBKDF2 (the OpenSSL 3 and Windows default)"
    )]
    ScryptTotalTooHigh { parts: usize, work: u64, limit: u64 },

    #[error(
        "the PKCS#12 file has {parts} password-encrypted parts, above the limit of {limit}; a certificate with its key and chain needs two, so export only the certificate tenantlink should use, with its private key"
    )]
    TooManyEncryptedParts { parts: usize, limit: usize },

    #[error("the PKCS#12 file is damaged: {detail}")]
    Malformed { detail: String },

    #[error(
        "the file contains no private key; export the certificate together with its private key (Windows: \"Yes, export the private key\")"
    )]
    NoPrivateKey,

    #[error(
        "the file contains a private key but no certificate; export the certificate together with its key"
    )]
    NoCertificate,

    #[error(
        "the private key does not belong to any certificate in the file; export the certificate and its own key together"
    )]
    KeyMismatch,

    #[error(
        "the key is {key_type}; Entra ID accepts only RSA keys for application certificates, so use an RSA certificate (2048 bits or more)"
    )]
    NotRsa { key_type: KeyType },

    #[error(
        "the RSA key has {bits} bits; Entra ID requires at least {minimum} bits, so generate a new certificate with a 2048-bit or larger key"
    )]
    RsaTooSmall { bits: usize, minimum: usize },

    #[error("the certificate expired on {}; generate or request a new certificate", rfc3339(*not_after))]
    Expired { not_after: OffsetDateTime },

    #[error("the certificate is not valid until {}; check the clock of the machine that created it, or wait until then", rfc3339(*not_before))]
    NotYetValid { not_before: OffsetDateTime },

    #[error("a certificate in the file cannot be read: {0}")]
    InvalidCertificate(CertificateError),

    #[error("the private key in the file cannot be read ({detail})")]
    InvalidPrivateKey { detail: String },
}

impl ImportError {
    /// Stable snake_case identifier for scripts, logs and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            ImportError::TooLarge { .. } => "too_large",
            ImportError::NotPkcs12 { .. } => "not_pkcs12",
            ImportError::PasswordRequired => "password_required",
            ImportError::WrongPassword => "wrong_password",
            ImportError::MacMismatch => "mac_mismatch",
            ImportError::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            ImportError::IterationsTooHigh { .. } => "iterations_too_high",
            ImportError::ScryptMemoryTooHigh { .. } => "scrypt_memory_too_high",
            ImportError::ScryptWorkTooHigh { .. } => "scrypt_work_too_high",
            ImportError::ScryptTotalTooHigh { .. } => "scrypt_total_too_high",
            ImportError::TooManyEncryptedParts { .. } => "too_many_encrypted_parts",
            ImportError::Malformed { .. } => "malformed",
            ImportError::NoPrivateKey => "no_private_key",
            ImportError::NoCertificate => "no_certificate",
            ImportError::KeyMismatch => "key_mismatch",
            ImportError::NotRsa { .. } => "not_rsa",
            ImportError::RsaTooSmall { .. } => "rsa_too_small",
            ImportError::Expired { .. } => "expired",
            ImportError::NotYetValid { .. } => "not_yet_valid",
            ImportError::InvalidCertificate(_) => "invalid_certificate",
            ImportError::InvalidPrivateKey { .. } => "invalid_private_key",
        }
    }

    /// Every kind `kind()` can return, for documentation and exhaustive tests.
    pub const KINDS: &'static [&'static str] = &[
        "too_large",
        "not_pkcs12",
        "password_required",
        "wrong_password",
        "mac_mismatch",
        "unsupported_algorithm",
        "iterations_too_high",
        "scrypt_memory_too_high",
        "scrypt_work_too_high",
        "scrypt_total_too_high",
        "too_many_encrypted_parts",
        "malformed",
        "no_private_key",
        "no_certificate",
        "key_mismatch",
        "not_rsa",
        "rsa_too_small",
        "expired",
        "not_yet_valid",
        "invalid_certificate",
        "invalid_private_key",
    ];
}

impl From<CertificateError> for ImportError {
    fn from(value: CertificateError) -> Self {
        ImportError::InvalidCertificate(value)
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}
