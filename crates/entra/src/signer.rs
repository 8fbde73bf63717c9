//! A certificate ready to sign with: the parsed RSA key (parsing costs more than a signature, so
//! it is done once), the DER certificate and chain for `x5c`, and the thumbprints Entra looks
//! keys up by.

use std::fmt;

use aws_lc_rs::digest;
use time::OffsetDateTime;

use tenantlink_jose::{RsaSigningKey, b64url};

use crate::error::CredentialError;

pub struct SigningCertificate {
    key: RsaSigningKey,
    certificate_der: Vec<u8>,
    chain_der: Vec<Vec<u8>>,
    sha1: [u8; 20],
    sha256: [u8; 32],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl SigningCertificate {
    /// From raw parts: DER certificate, DER chain (issuers), PKCS#8 private key and validity.
    pub fn from_parts(
        certificate_der: Vec<u8>,
        chain_der: Vec<Vec<u8>>,
        private_key_pkcs8: &[u8],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Self, CredentialError> {
        let key = RsaSigningKey::from_pkcs8_der(private_key_pkcs8)
            .map_err(|e| CredentialError::Key(e.to_string()))?;
        let (sha1, sha256) = thumbprints_of(&certificate_der);
        Ok(Self {
            key,
            certificate_der,
            chain_der,
            sha1,
            sha256,
            not_before,
            not_after,
        })
    }

    pub fn key(&self) -> &RsaSigningKey {
        &self.key
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain_der
    }

    pub fn sha1(&self) -> &[u8; 20] {
        &self.sha1
    }

    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// Upper-case hex SHA-1 thumbprint, as Entra and the portal show it.
    pub fn sha1_hex(&self) -> String {
        hex_upper(&self.sha1)
    }

    pub fn x5t(&self) -> String {
        b64url(&self.sha1)
    }

    pub fn x5t_s256(&self) -> String {
        b64url(&self.sha256)
    }

    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now < self.not_after
    }
}

impl fmt::Debug for SigningCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningCertificate")
            .field("sha1", &self.sha1_hex())
            .field("not_after", &self.not_after)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// (SHA-1, SHA-256) of a DER certificate: Entra's `x5t` and `x5t#S256`, and how Graph
/// `keyCredentials` are matched to certificates.
pub fn thumbprints_of(der: &[u8]) -> ([u8; 20], [u8; 32]) {
    let mut sha1 = [0u8; 20];
    sha1.copy_from_slice(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref());
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(digest::digest(&digest::SHA256, der).as_ref());
    (sha1, sha256)
}

pub fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}
