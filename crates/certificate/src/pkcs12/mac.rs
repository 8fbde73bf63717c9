//! PKCS#12 integrity MAC verification (RFC 7292 appendix B key derivation + HMAC).
//!
//! Done here rather than in p12-keystore because p12-keystore always encodes the password as a
//! NUL-terminated BMPString, so it cannot verify files whose MAC was computed with an absent
//! (NULL) password, which Java keystores and some older exporters write.

use aws_lc_rs::hmac;
use pkcs12::MacData;
use pkcs12::kdf::{Pkcs12KeyType, derive_key};
use zeroize::Zeroizing;

use super::algorithms::{SHA1, SHA224, SHA256, SHA384, SHA512};
use crate::error::ImportError;

/// The PKCS#12 KDF's view of a password.
pub(crate) enum Pkcs12Password {
    /// UTF-16BE with a two-byte NUL terminator (the empty password is just the terminator).
    Bmp(Zeroizing<Vec<u8>>),
    /// The absent password: zero bytes, no terminator.
    Null,
}

impl Pkcs12Password {
    /// UTF-16BE as OpenSSL encodes it: characters outside the BMP become surrogate pairs, where a
    /// strict BMPString encoder would refuse them.
    pub fn from_text(text: &str) -> Self {
        let mut bytes = Zeroizing::new(Vec::with_capacity(text.len() * 2 + 2));
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        bytes.extend_from_slice(&[0, 0]);
        Self::Bmp(bytes)
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Pkcs12Password::Bmp(bytes) => bytes,
            Pkcs12Password::Null => &[],
        }
    }
}

/// True when the MAC over `data` verifies with `password`. The digest and iteration count were
/// already accepted by the scan.
pub(crate) fn verifies(
    mac_data: &MacData,
    password: &Pkcs12Password,
    data: &[u8],
) -> Result<bool, ImportError> {
    let salt = mac_data.mac_salt.as_bytes();
    let rounds = mac_data.iterations;
    let pass = password.bytes();
    let (algorithm, key) = match mac_data.mac.algorithm.oid {
        SHA1 => (
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            derive_key::<sha1::Sha1>(pass, salt, Pkcs12KeyType::Mac, rounds, 20),
        ),
        SHA224 => (
            hmac::HMAC_SHA224,
            derive_key::<sha2::Sha224>(pass, salt, Pkcs12KeyType::Mac, rounds, 28),
        ),
        SHA256 => (
            hmac::HMAC_SHA256,
            derive_key::<sha2::Sha256>(pass, salt, Pkcs12KeyType::Mac, rounds, 32),
        ),
        SHA384 => (
            hmac::HMAC_SHA384,
            derive_key::<sha2::Sha384>(pass, salt, Pkcs12KeyType::Mac, rounds, 48),
        ),
        SHA512 => (
            hmac::HMAC_SHA512,
            derive_key::<sha2::Sha512>(pass, salt, Pkcs12KeyType::Mac, rounds, 64),
        ),
        other => {
            return Err(ImportError::UnsupportedAlgorithm {
                algorithm: format!("the MAC digest {}", super::algorithms::name(&other)),
            });
        }
    };
    let key = Zeroizing::new(key);
    let key = hmac::Key::new(algorithm, &key);
    Ok(hmac::verify(&key, data, mac_data.mac.digest.as_bytes()).is_ok())
}
