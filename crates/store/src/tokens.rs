//! Bearer secrets (session ids, CSRF tokens, API tokens) and password hashing.
//!
//! Bearer secrets are 32 random bytes shown once to their holder and stored only as
//! SHA-256: they carry full entropy, so a slow hash would add cost without adding safety.
//! Passwords are low-entropy and get Argon2id.

use std::fmt;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tenantlink_secret::SecretString;
use zeroize::Zeroizing;

use crate::error::{StoreError, StoreResult};

/// A bearer secret in the form given to its holder (base64url of 32 random bytes): the
/// workspace's one secret type (zeroized on drop, never printed) with what the store does with it
/// (generate, hash).
#[derive(Debug)]
pub struct BearerSecret(SecretString);

impl BearerSecret {
    pub(crate) fn generate() -> StoreResult<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| StoreError::Random)?;
        Ok(Self(SecretString::new(
            URL_SAFE_NO_PAD.encode(bytes.as_ref()),
        )))
    }

    /// Wraps a secret presented by a client (cookie, header, form field).
    pub fn from_presented(text: &str) -> Self {
        Self(SecretString::new(text))
    }

    /// The secret text, to hand to its holder exactly once.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// What the database keeps.
    pub fn hash(&self) -> SecretHash {
        let digest = digest::digest(&digest::SHA256, self.expose().as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        SecretHash(out)
    }
}

/// SHA-256 of a bearer secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SecretHash(pub(crate) [u8; 32]);

impl SecretHash {
    pub(crate) fn from_stored(column: &'static str, bytes: Vec<u8>) -> StoreResult<Self> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| StoreError::CorruptValue {
                column,
                value: format!("{} bytes", b.len()),
            })?;
        Ok(Self(array))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `presented` hashes to this value. Compares in constant time.
    pub fn matches(&self, presented: &BearerSecret) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, &presented.hash().0).is_ok()
    }
}

/// An Argon2id hash in PHC string form (`$argon2id$v=19$...`). Not a secret, but it allows
/// offline guessing, so `Debug` shows only its parameters.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // PHC: $algorithm$version$params$salt$hash; keep the first three fields.
        let parameters: Vec<&str> = self.0.split('$').take(4).collect();
        write!(f, "PasswordHash({}$<redacted>)", parameters.join("$"))
    }
}

impl PasswordHash {
    /// Hashes a password with Argon2id and the crate's default (OWASP-recommended) parameters.
    pub fn new(password: &str) -> StoreResult<Self> {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| Self(hash.to_string()))
            .map_err(|e| StoreError::PasswordHash(e.to_string()))
    }

    /// Whether `password` is the one this hash was made from.
    pub fn verify(&self, password: &str) -> bool {
        Argon2::default()
            .verify_password(password.as_bytes(), self.0.as_str())
            .is_ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_stored(text: String) -> Self {
        Self(text)
    }
}
