//! What the sandbox needs from an X.509 certificate attached to an application: thumbprints to
//! find it, its validity window, and its RSA public key to check signatures.
//!
//! Reads certificates with x509-parser directly: the sandbox needs only these few facts, and keeping
//! it independent of the product's certificate crate means the emulator does not silently share
//! a parsing bug with the client it is testing.

use aws_lc_rs::digest;
use time::OffsetDateTime;

#[derive(Clone)]
pub(crate) struct CertificateKey {
    pub sha1: Vec<u8>,
    pub sha256: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// PKCS#1 RSAPublicKey DER, for RSA certificates.
    pub rsa_public_key: Option<Vec<u8>>,
    pub key_bits: usize,
    /// RFC 4514 subject, e.g. `CN=tenantlink backup`.
    pub subject: String,
}

impl std::fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateKey")
            .field("sha1", &hex_upper(&self.sha1))
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CertificateParseError {
    #[error("the key is not valid base64")]
    Base64,
    #[error("the key is not an X.509 certificate: {0}")]
    NotX509(String),
}

impl CertificateKey {
    pub(crate) fn from_base64(key: &str) -> Result<Self, CertificateParseError> {
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| CertificateParseError::Base64)?;
        Self::from_der(&der)
    }

    pub(crate) fn from_der(der: &[u8]) -> Result<Self, CertificateParseError> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        use x509_parser::public_key::PublicKey;
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|err| CertificateParseError::NotX509(err.to_string()))?;
        let validity = cert.validity();
        let spki = cert.public_key();
        let (rsa_public_key, key_bits) = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => {
                (Some(spki.subject_public_key.data.to_vec()), rsa.key_size())
            }
            Ok(other) => (None, other.key_size()),
            Err(_) => (None, 0),
        };
        Ok(Self {
            sha1: digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der)
                .as_ref()
                .to_vec(),
            sha256: digest::digest(&digest::SHA256, der).as_ref().to_vec(),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            rsa_public_key,
            key_bits,
            subject: cert.subject().to_string(),
        })
    }
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
