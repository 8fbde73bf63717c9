//! PKCS#12 (.pfx / .p12): import with an optional password, and export.
//!
//! Reading is layered: `scan` checks the untrusted structure and every algorithm and iteration
//! count before any key derivation runs; `mac` verifies the integrity MAC (including files whose
//! MAC used an absent password, which p12-keystore cannot check); `read` lets p12-keystore decrypt
//! the bags and turns its errors into specific [`ImportError`]s.

mod algorithms;
mod export;
mod mac;
mod null_password;
mod read;
mod scan;

use time::OffsetDateTime;

use crate::assemble;
use crate::credential::Credential;
use crate::error::ImportError;
use tenantlink_secret::SecretString;

pub use export::{EXPORT_ITERATIONS, ExportError, export_pkcs12};
pub(crate) use read::read;

/// Inputs above this size are refused before parsing: a PFX with a key and a short chain is a few
/// kilobytes.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// Key-derivation iteration counts above this are refused before any derivation runs. It is the
/// bound p12-keystore enforces itself (it cannot compute more), and 500 times OpenSSL's default.
pub const MAX_KDF_ITERATIONS: u64 = 1_000_000;

/// Bound on the iterations of all pre-scannable derivations of one file together (MAC and every
/// encrypted part), so many parts each under the per-part limit cannot add up to minutes of work.
pub const MAX_TOTAL_KDF_ITERATIONS: u64 = 4 * MAX_KDF_ITERATIONS;

/// Password-encrypted parts (encrypted safes and shrouded key bags) in one file. A certificate
/// with its key and chain has two (OpenSSL, Windows, macOS); each part is one key derivation.
pub const MAX_ENCRYPTED_PARTS: usize = 16;

/// scrypt's memory for one part, 128·N·r bytes, at most 1 GiB: N = 2^20 with r = 8, the top of
/// what tools write (OpenSSL's `-scrypt` and RustCrypto default to N = 2^14, 16 MiB). It is also
/// the bound p12-keystore enforces itself, so larger values could not be read anyway.
pub const MAX_SCRYPT_MEMORY_BYTES: u64 = 1 << 30;

/// scrypt's work for one part, N·r·p (block mixes of 128 bytes): N = 2^20, r = 8, p = 1, a few
/// seconds of one core. A large p needs no memory but multiplies the time.
pub const MAX_SCRYPT_WORK: u64 = 1 << 23;

/// scrypt's work for all parts of one file together: two parts (key and certificates) at the
/// per-part limit. It bounds the memory written over the whole file too: Σ 128·N·r ≤
/// 128·Σ N·r·p ≤ 2 GiB, and at most 1 GiB of it at once.
pub const MAX_TOTAL_SCRYPT_WORK: u64 = 2 * MAX_SCRYPT_WORK;

/// scrypt's parallelism p above this is refused by p12-keystore; the scan names it first.
pub const MAX_SCRYPT_PARALLELISM: u64 = 16;

/// Imports a PKCS#12 file as the app credential: decrypts it, finds the leaf certificate (the one
/// matching the private key), and checks what Entra ID requires (RSA ≥ 2048 bits, valid at `now`).
///
/// `password: None` tries the empty password and the absent (NULL) password, as Windows and
/// OpenSSL do; an empty password is not the same as an unencrypted file, and both are handled.
pub fn import_pkcs12(
    bytes: &[u8],
    password: Option<&SecretString>,
    now: OffsetDateTime,
) -> Result<Credential, ImportError> {
    let contents = read(bytes, password)?;
    assemble::into_credential(contents, now)
}
