//! Certificates for the tenantlink app credential: generate an RSA key and self-signed certificate,
//! import PKCS#12 files from Windows / OpenSSL / Key Vault, inspect PFX, PEM or DER input, and
//! export the public certificate or a password-protected PFX.
//!
//! Pure library: no file, network or clock access. Callers pass bytes in and the current time as
//! a parameter, so every time-dependent rule is testable.
//!
//! Every error has a stable machine `kind()` string and a message that tells the administrator
//! what to do.

mod assemble;
mod certificate;
mod credential;
mod error;
mod generate;
mod inspect;
mod key;
mod pkcs12;
mod policy;
mod thumbprint;

pub use certificate::{Certificate, CertificateError, KeyType};
pub use credential::Credential;
pub use error::ImportError;
pub use generate::{GenerateError, GenerateOptions, MAX_VALIDITY_DAYS, RsaKeySize, generate};
pub use inspect::{InputFormat, Inspection, inspect};
pub use key::PrivateKey;
pub use pkcs12::{
    EXPORT_ITERATIONS, ExportError, MAX_ENCRYPTED_PARTS, MAX_INPUT_BYTES, MAX_KDF_ITERATIONS,
    MAX_SCRYPT_MEMORY_BYTES, MAX_SCRYPT_PARALLELISM, MAX_SCRYPT_WORK, MAX_TOTAL_KDF_ITERATIONS,
    MAX_TOTAL_SCRYPT_WORK, export_pkcs12, import_pkcs12,
};
pub use policy::{MIN_RSA_BITS, certificate_problems};
pub use thumbprint::Thumbprints;
