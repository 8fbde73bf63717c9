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
