//! Authenticated encryption of secrets at rest (AES-256-GCM, random 96-bit nonce).
//!
//! Blob layout: `version (1) || master key id (8) || nonce (12) || ciphertext || tag (16)`.
//! The associated data binds the header and the owning record (see `key_binding.rs`: the
//! certificate, its organization and thumbprint), so a ciphertext copied onto another row, a
//! row moved to another organization, or a header edited to claim another key, fails
//! authentication.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use zeroize::Zeroizing;

use crate::master_key::{MasterKey, MasterKeyId};

const FORMAT_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 8;
const TAG_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "the secret was encrypted under master key {stored}, but the configured master key is {configured}; supply the right master key"
    )]
    WrongMasterKey {
        stored: MasterKeyId,
        configured: MasterKeyId,
    },
    #[error(
        "the encrypted secret failed authentication: it was modified or moved to another record"
    )]
    Tampered,
    #[error(
        "the private key of certificate {certificate} is still bound to its id only (written before migration 0010); restart `tenantlink serve` with the master key, which rewraps it"
    )]
    OutdatedBinding { certificate: String },
    #[error("certificate row has an unknown key binding {value}")]
    UnknownBinding { value: i64 },
    #[error("the encrypted secret is malformed: {reason}")]
    Malformed { reason: &'static str },
    #[error("encryption failed")]
    Seal,
}

/// Encrypts `plaintext` under `key`, bound to `context` (the owning record, see `KeyBinding::context`).
pub(crate) fn seal(
    key: &MasterKey,
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let aead = RandomizedNonceKey::new(&AES_256_GCM, key.bytes()).map_err(|_| CryptoError::Seal)?;
    let header = header(key.id());
    let mut in_out = Zeroizing::new(plaintext.to_vec());
    let nonce = aead
        .seal_in_place_append_tag(Aad::from(aad(&header, context)), &mut *in_out)
        .map_err(|_| CryptoError::Seal)?;
    let mut blob = Vec::with_capacity(HEADER_LEN + NONCE_LEN + in_out.len());
    blob.extend_from_slice(&header);
    blob.extend_from_slice(nonce.as_ref());
    blob.extend_from_slice(&in_out);
    Ok(blob)
}

/// Decrypts a blob made by [`seal`].
pub(crate) fn open(
    key: &MasterKey,
    context: &[u8],
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let stored = stored_key_id(blob)?;
    if stored != key.id() {
        return Err(CryptoError::WrongMasterKey {
            stored,
            configured: key.id(),
        });
    }
    let (header, rest) = blob.split_at(HEADER_LEN);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Malformed {
        reason: "bad nonce length",
    })?;
    let aead = RandomizedNonceKey::new(&AES_256_GCM, key.bytes()).map_err(|_| CryptoError::Seal)?;
    let mut in_out = Zeroizing::new(sealed.to_vec());
    let plaintext_len = aead
        .open_in_place(nonce, Aad::from(aad(header, context)), &mut in_out)
        .map_err(|_| CryptoError::Tampered)?
        .len();
    in_out.truncate(plaintext_len);
    Ok(in_out)
}

/// The id of the master key a blob was sealed under, read without decrypting.
pub(crate) fn stored_key_id(blob: &[u8]) -> Result<MasterKeyId, CryptoError> {
    if blob.len() < HEADER_LEN + NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Malformed {
            reason: "too short",
        });
    }
    if blob[0] != FORMAT_VERSION {
        return Err(CryptoError::Malformed {
            reason: "unknown format version",
        });
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&blob[1..HEADER_LEN]);
    Ok(MasterKeyId(id))
}

fn header(id: MasterKeyId) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[0] = FORMAT_VERSION;
    header[1..].copy_from_slice(&id.0);
    header
}

fn aad(header: &[u8], context: &[u8]) -> Vec<u8> {
    [b"tenantlink-secret:".as_slice(), header, b":", context].concat()
}
