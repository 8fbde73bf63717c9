use crate::{Algorithm, JoseError};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::KeyPair as _;
use std::fmt;

/// An RSA private key parsed once and kept ready for signing: parsing costs more than a
/// signature, so callers cache this per certificate.
pub struct RsaSigningKey {
    pair: KeyPair,
}

impl RsaSigningKey {
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, JoseError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|e| JoseError::InvalidKey(e.to_string()))?;
        Ok(Self { pair })
    }

    pub fn modulus_bits(&self) -> usize {
        self.pair.public_modulus_len() * 8
    }

    /// The public half as a PKCS#1 `RSAPublicKey`, the form [`crate::UnverifiedJws::verify_rsa`] takes.
    pub fn public_key_pkcs1_der(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    pub(crate) fn sign(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                alg.signing_encoding(),
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| JoseError::SigningFailed)?;
        Ok(signature)
    }
}

impl fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RsaSigningKey({} bits, private key redacted)",
            self.modulus_bits()
        )
    }
}
