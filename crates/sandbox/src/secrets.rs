//! Randomness, password hashing and private files: the sandbox's small secret-handling helpers.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use std::io::Write;
use std::path::Path;

/// Cryptographically random bytes (aws-lc-rs, the workspace's one crypto stack).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The system RNG failing is unrecoverable for a server that issues secrets.
    aws_lc_rs::rand::fill(&mut bytes).expect("system random number generator failed");
    bytes
}

/// An opaque token (device code, refresh token): 48 random bytes, base64url.
pub(crate) fn opaque_token() -> String {
    tenantlink_jose::b64url(&random_bytes::<48>())
}

/// A uniform number in [0, 1) for probabilistic faults.
pub(crate) fn unit_random() -> f64 {
    let bytes = random_bytes::<8>();
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// A readable password for generated demo users: 16 characters from an unambiguous alphabet.
pub(crate) fn demo_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<16>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Argon2id PHC string for a password; the tenant registry never stores a password itself.
pub(crate) fn hash_password(password: &str) -> String {
    let salt = random_bytes::<16>();
    let hash: PasswordHash = Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail on a short password");
    hash.to_string()
}

pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// Writes `bytes` to `path` atomically (temporary file + rename), readable only by the owner.
pub(crate) fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_private_file_with(path, |out| out.write_all(bytes))
}

/// As [`write_private_file`], with the content streamed by `write` through a buffer: large
/// state (a tenant registry of thousands of applications) is never held in memory as one string.
pub(crate) fn write_private_file_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&tmp)?;
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
