use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::certificate::Certificate;
use crate::credential::Credential;
use crate::key::PrivateKey;

/// RSA modulus sizes tenantlink generates. Entra ID requires at least 2048.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RsaKeySize {
    #[default]
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl RsaKeySize {
    pub fn bits(self) -> usize {
        match self {
            RsaKeySize::Rsa2048 => 2048,
            RsaKeySize::Rsa3072 => 3072,
            RsaKeySize::Rsa4096 => 4096,
        }
    }

    pub fn from_bits(bits: usize) -> Option<Self> {
        match bits {
            2048 => Some(RsaKeySize::Rsa2048),
            3072 => Some(RsaKeySize::Rsa3072),
            4096 => Some(RsaKeySize::Rsa4096),
            _ => None,
        }
    }

    fn rcgen(self) -> rcgen::RsaKeySize {
        match self {
            RsaKeySize::Rsa2048 => rcgen::RsaKeySize::_2048,
            RsaKeySize::Rsa3072 => rcgen::RsaKeySize::_3072,
            RsaKeySize::Rsa4096 => rcgen::RsaKeySize::_4096,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateOptions {
    /// The subject common name, without the `CN=` prefix.
    pub subject_cn: String,
    pub validity_days: u32,
    pub key_size: RsaKeySize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            subject_cn: "tenantlink".to_owned(),
            // Tenants often cap application credentials at one year.
            validity_days: 365,
            key_size: RsaKeySize::default(),
        }
    }
}

/// Longest validity tenantlink generates; certificates are meant to be rotated.
pub const MAX_VALIDITY_DAYS: u32 = 3650;

/// How far before `now` a new certificate becomes valid, so that a token endpoint whose clock is
/// slightly behind ours still accepts it.
const CLOCK_SKEW_ALLOWANCE: Duration = Duration::minutes(5);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    #[error("the subject common name is empty; give a name such as \"CN=tenantlink backup\"")]
    EmptySubject,
    #[error("the subject common name is {len} characters; X.509 allows at most 64")]
    SubjectTooLong { len: usize },
    #[error(
        "validity of {days} days is outside 1..={max}; choose a validity in that range (365 is the usual tenant limit)"
    )]
    InvalidValidity { days: u32, max: u32 },
    #[error("RSA key generation failed: {detail}")]
    KeyGeneration { detail: String },
    #[error("signing the certificate failed: {detail}")]
    Signing { detail: String },
}

impl GenerateError {
    pub fn kind(&self) -> &'static str {
        match self {
            GenerateError::EmptySubject => "empty_subject",
            GenerateError::SubjectTooLong { .. } => "subject_too_long",
            GenerateError::InvalidValidity { .. } => "invalid_validity",
            GenerateError::KeyGeneration { .. } => "key_generation_failed",
            GenerateError::Signing { .. } => "signing_failed",
        }
    }
}

/// Generates an RSA key (aws-lc-rs, constant time) and a self-signed X.509 v3 certificate with a
/// SHA-256 signature, keyUsage digitalSignature (critical), extendedKeyUsage clientAuth, a subject
/// key identifier and a random positive 16-byte serial. Valid from a few minutes before `now` for
/// exactly `validity_days`.
pub fn generate(
    options: &GenerateOptions,
    now: OffsetDateTime,
) -> Result<Credential, GenerateError> {
    let subject_cn = options.subject_cn.trim();
    let subject_cn = subject_cn.strip_prefix("CN=").unwrap_or(subject_cn).trim();
    if subject_cn.is_empty() {
        return Err(GenerateError::EmptySubject);
    }
    let cn_len = subject_cn.chars().count();
    if cn_len > 64 {
        return Err(GenerateError::SubjectTooLong { len: cn_len });
    }
    if options.validity_days == 0 || options.validity_days > MAX_VALIDITY_DAYS {
        return Err(GenerateError::InvalidValidity {
            days: options.validity_days,
            max: MAX_VALIDITY_DAYS,
        });
    }

    let key_pair =
        KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, options.key_size.rcgen()).map_err(|e| {
            GenerateError::KeyGeneration {
                detail: e.to_string(),
            }
        })?;

    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, subject_cn);
    params.distinguished_name = name;
    // X.509 times have whole-second precision; truncating keeps the stated validity exact.
    let not_before = (now - CLOCK_SKEW_ALLOWANCE)
        .replace_nanosecond(0)
        .unwrap_or(now);
    params.not_before = not_before;
    params.not_after = not_before + Duration::days(i64::from(options.validity_days));
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    // rcgen writes the subject key identifier together with basicConstraints; an explicit
    // "not a CA" is also the right statement for a client certificate.
    params.is_ca = IsCa::ExplicitNoCa;

    let certificate = params
        .self_signed(&key_pair)
        .map_err(|e| GenerateError::Signing {
            detail: e.to_string(),
        })?;
    let certificate =
        Certificate::from_der(certificate.der().to_vec()).map_err(|e| GenerateError::Signing {
            detail: e.to_string(),
        })?;
    let pkcs8 = zeroize::Zeroizing::new(key_pair.serialize_der());
    let private_key =
        PrivateKey::from_pkcs8_der(&pkcs8).map_err(|e| GenerateError::KeyGeneration {
            detail: e.to_string(),
        })?;
    Credential::new(certificate, private_key, Vec::new()).map_err(|e| GenerateError::Signing {
        detail: e.to_string(),
    })
}

/// 16 random bytes with the top bit clear (positive INTEGER) and the next bit set, so the DER
/// INTEGER is exactly 16 bytes long.
fn random_serial() -> Result<[u8; 16], GenerateError> {
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| GenerateError::KeyGeneration {
        detail: "the system random number generator failed".into(),
    })?;
    serial[0] = (serial[0] & 0x7f) | 0x40;
    Ok(serial)
}
