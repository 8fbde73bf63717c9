use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::thumbprint::{Thumbprints, upper_hex};

/// An X.509 certificate, parsed once: the DER plus the facts tenantlink needs.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    thumbprints: Thumbprints,
    subject: String,
    issuer: String,
    serial_hex: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    key_type: KeyType,
    key_bits: Option<usize>,
    /// For RSA: the PKCS#1 `RSAPublicKey` DER (what JOSE verification needs).
    rsa_public_key_pkcs1: Option<Vec<u8>>,
    /// What a private key must reproduce to belong to this certificate (see `key::PublicIdentity`).
    public_identity: Vec<u8>,
}

/// The public-key algorithm of a certificate or private key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum KeyType {
    Rsa,
    Ec,
    Ed25519,
    Other,
}

impl KeyType {
    /// Stable lower-case name for machine output: `rsa`, `ec`, `ed25519`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ec => "ec",
            KeyType::Ed25519 => "ed25519",
            KeyType::Other => "other",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Rsa => "RSA",
            KeyType::Ec => "EC",
            KeyType::Ed25519 => "Ed25519",
            KeyType::Other => "an unsupported key algorithm",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    #[error("the data is not a valid X.509 certificate ({detail}); give a PEM or DER certificate")]
    Invalid { detail: String },
    #[error(
        "the PEM text contains no CERTIFICATE block; give a PEM file that starts with -----BEGIN CERTIFICATE-----"
    )]
    NoPemCertificate,
    #[error("the PEM text is malformed ({detail})")]
    InvalidPem { detail: String },
}

impl CertificateError {
    pub fn kind(&self) -> &'static str {
        match self {
            CertificateError::Invalid { .. } => "invalid_certificate",
            CertificateError::NoPemCertificate => "no_certificate",
            CertificateError::InvalidPem { .. } => "invalid_pem",
        }
    }
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";

impl Certificate {
    /// Parses one DER certificate; trailing bytes are refused.
    pub fn from_der(der: Vec<u8>) -> Result<Self, CertificateError> {
        let (rest, parsed) =
            X509Certificate::from_der(&der).map_err(|e| CertificateError::Invalid {
                detail: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(CertificateError::Invalid {
                detail: format!("{} unexpected bytes after the certificate", rest.len()),
            });
        }
        let spki = parsed.public_key();
        let algorithm = spki.algorithm.algorithm.to_id_string();
        let key_bits_raw = spki.subject_public_key.data.as_ref();
        let (key_type, key_bits, rsa_public_key_pkcs1, public_identity) = match algorithm.as_str() {
            OID_RSA => match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => {
                    let modulus = strip_leading_zeros(rsa.modulus);
                    (
                        KeyType::Rsa,
                        Some(bit_length(modulus)),
                        Some(key_bits_raw.to_vec()),
                        modulus.to_vec(),
                    )
                }
                _ => {
                    return Err(CertificateError::Invalid {
                        detail: "the RSA public key cannot be decoded".into(),
                    });
                }
            },
            OID_EC => {
                let bits = match spki.parsed() {
                    Ok(PublicKey::EC(point)) => Some(point.key_size()),
                    _ => None,
                };
                (KeyType::Ec, bits, None, key_bits_raw.to_vec())
            }
            OID_ED25519 => (KeyType::Ed25519, Some(256), None, key_bits_raw.to_vec()),
            _ => (KeyType::Other, None, None, key_bits_raw.to_vec()),
        };
        let validity = parsed.validity();
        let certificate = Self {
            thumbprints: Thumbprints::of_der(&der),
            subject: parsed.subject().to_string(),
            issuer: parsed.issuer().to_string(),
            serial_hex: upper_hex(strip_leading_zeros(parsed.raw_serial())),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            key_type,
            key_bits,
            rsa_public_key_pkcs1,
            public_identity,
            der,
        };
        Ok(certificate)
    }

    /// Every CERTIFICATE block of a PEM bundle, in order; other blocks (keys) are skipped.
    pub fn from_pem_bundle(pem: &str) -> Result<Vec<Self>, CertificateError> {
        let mut certificates = Vec::new();
        for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
            let block = block.map_err(|e| CertificateError::InvalidPem {
                detail: e.to_string(),
            })?;
            if block.label == "CERTIFICATE" || block.label == "X509 CERTIFICATE" {
                certificates.push(Self::from_der(block.contents)?);
            }
        }
        if certificates.is_empty() {
            return Err(CertificateError::NoPemCertificate);
        }
        Ok(certificates)
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn to_pem(&self) -> String {
        let body = STANDARD.encode(&self.der);
        let mut pem = String::with_capacity(body.len() + body.len() / 64 + 60);
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            // base64 output is ASCII, so every chunk is valid UTF-8.
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// Standard base64 of the DER: the `key` of a Microsoft Graph `keyCredential`.
    pub fn graph_key(&self) -> String {
        STANDARD.encode(&self.der)
    }

    pub fn thumbprints(&self) -> &Thumbprints {
        &self.thumbprints
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Serial number as upper-case hex without leading zero bytes.
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// RSA modulus size or EC field size in bits, when known.
    pub fn key_bits(&self) -> Option<usize> {
        self.key_bits
    }

    /// The PKCS#1 `RSAPublicKey` DER of an RSA certificate.
    pub fn rsa_public_key_pkcs1_der(&self) -> Option<&[u8]> {
        self.rsa_public_key_pkcs1.as_deref()
    }

    pub(crate) fn public_identity(&self) -> &[u8] {
        &self.public_identity
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("serial", &self.serial_hex)
            .field("sha1", &self.thumbprints.sha1_hex())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Bit length of a big-endian unsigned integer without leading zero bytes.
pub(crate) fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(first) => (bytes.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}
