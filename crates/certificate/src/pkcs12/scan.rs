//! Structural pre-scan of untrusted PKCS#12 input.
//!
//! Runs before any password-based key derivation so that an oversized iteration count, costly
//! scrypt parameters, too many encrypted parts or an algorithm we cannot process are refused
//! cheaply and named precisely, and so that garbage, truncation and PEM text are told apart from
//! a wrong password. Every derivation the reader will run is priced here: PBKDF2 and PKCS#12-KDF
//! by their iteration counts, scrypt by N·r·p and 128·N·r bytes of memory.

use der::asn1::OctetString;
use der::{Decode, Encode, ErrorKind};
use pkcs5::pbes2;
use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
use pkcs12::cms::content_info::ContentInfo;
use pkcs12::cms::encrypted_data::EncryptedData;
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pbes2Params, Pkcs12PbeParams};
use pkcs12::pfx::Pfx;
use pkcs12::safe_bag::SafeContents;

use super::algorithms::{
    self, DATA, ENCRYPTED_DATA, PBE_SHA1_3DES, PBE_SHA1_RC2_40, PBES2, SHROUDED_KEY_BAG,
};
use super::{
    MAX_ENCRYPTED_PARTS, MAX_INPUT_BYTES, MAX_KDF_ITERATIONS, MAX_SCRYPT_MEMORY_BYTES,
    MAX_SCRYPT_PARALLELISM, MAX_SCRYPT_WORK, MAX_TOTAL_KDF_ITERATIONS, MAX_TOTAL_SCRYPT_WORK,
};
use crate::certificate::Certificate;
use crate::error::ImportError;

/// A PFX whose plaintext structure is sound and whose every algorithm and iteration count is
/// acceptable.
#[derive(Debug)]
pub(crate) struct Scanned {
    pub pfx: Pfx,
    /// The authenticated-safe bytes the MAC covers.
    pub auth_safe_data: Vec<u8>,
    /// Number of password-encrypted parts (encrypted safes and shrouded key bags).
    pub encrypted_parts: usize,
    /// PKCS#12-KDF ("PBES1") encryption is present: its key derivation differs between the empty
    /// and the absent password, unlike PBES2.
    pub uses_pkcs12_kdf_encryption: bool,
}

pub(crate) fn scan(bytes: &[u8]) -> Result<Scanned, ImportError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ImportError::TooLarge {
            size: bytes.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    let pfx = Pfx::from_der(bytes).map_err(|e| not_pkcs12(bytes, &e))?;
    // Many parts each just under the per-part limit must not add up to minutes of work.
    let mut total_iterations: u64 = 0;

    if let Some(mac) = &pfx.mac_data {
        let oid = mac.mac.algorithm.oid;
        if ![
            algorithms::SHA1,
            algorithms::SHA224,
            algorithms::SHA256,
            algorithms::SHA384,
            algorithms::SHA512,
        ]
        .contains(&oid)
        {
            return Err(ImportError::UnsupportedAlgorithm {
                algorithm: format!("the MAC digest {}", algorithms::name(&oid)),
            });
        }
        total_iterations += check_iterations(i64::from(mac.iterations))?;
    }

    if pfx.auth_safe.content_type != DATA {
        return Err(ImportError::UnsupportedAlgorithm {
            algorithm: algorithms::name(&pfx.auth_safe.content_type),
        });
    }
    let auth_safe_data = OctetString::from_der(&pfx.auth_safe.content.to_der().map_err(malformed)?)
        .map_err(malformed)?
        .into_bytes()
        .into_vec();
    let safes: Vec<ContentInfo> = Vec::from_der(&auth_safe_data).map_err(malformed)?;

    let mut encrypted_parts = 0;
    let mut scrypt_parts = 0;
    let mut total_scrypt_work: u64 = 0;
    let mut uses_pkcs12_kdf_encryption = false;
    let mut note = |algorithm: &AlgorithmIdentifierOwned| -> Result<(), ImportError> {
        encrypted_parts += 1;
        if encrypted_parts > MAX_ENCRYPTED_PARTS {
            return Err(ImportError::TooManyEncryptedParts {
                parts: encrypted_parts,
                limit: MAX_ENCRYPTED_PARTS,
            });
        }
        match check_encryption(algorithm)? {
            Cost::Iterations(iterations) => total_iterations += iterations,
            Cost::Scrypt { work } => {
                scrypt_parts += 1;
                total_scrypt_work = total_scrypt_work.saturating_add(work);
            }
        }
        uses_pkcs12_kdf_encryption |= algorithm.oid != PBES2;
        Ok(())
    };
    for safe in &safes {
        match safe.content_type {
            DATA => {
                let data = OctetString::from_der(&safe.content.to_der().map_err(malformed)?)
                    .map_err(malformed)?
                    .into_bytes();
                let bags = SafeContents::from_der(&data).map_err(malformed)?;
                for bag in bags.iter().filter(|bag| bag.bag_id == SHROUDED_KEY_BAG) {
                    let shrouded = der::asn1::ContextSpecific::<EncryptedPrivateKeyInfo>::from_der(
                        &bag.bag_value,
                    )
                    .map_err(malformed)?;
                    note(&shrouded.value.encryption_algorithm)?;
                }
            }
            ENCRYPTED_DATA => {
                let encrypted = EncryptedData::from_der(&safe.content.to_der().map_err(malformed)?)
                    .map_err(malformed)?;
                note(&encrypted.enc_content_info.content_enc_alg)?;
            }
            other => {
                return Err(ImportError::UnsupportedAlgorithm {
                    algorithm: algorithms::name(&other),
                });
            }
        }
    }
    if total_scrypt_work > MAX_TOTAL_SCRYPT_WORK {
        return Err(ImportError::ScryptTotalTooHigh {
            parts: scrypt_parts,
            work: total_scrypt_work,
            limit: MAX_TOTAL_SCRYPT_WORK,
        });
    }
    if total_iterations > MAX_TOTAL_KDF_ITERATIONS {
        return Err(ImportError::IterationsTooHigh {
            iterations: total_iterations,
            limit: MAX_TOTAL_KDF_ITERATIONS,
        });
    }
    Ok(Scanned {
        pfx,
        auth_safe_data,
        encrypted_parts,
        uses_pkcs12_kdf_encryption,
    })
}

/// What one part's key derivation will cost, in the unit of its KDF.
enum Cost {
    /// PBKDF2 or PKCS#12-KDF rounds.
    Iterations(u64),
    /// scrypt's N·r·p.
    Scrypt { work: u64 },
}

/// Encryption algorithms p12-keystore decrypts (with pkcs5's `sha1-insecure`, `3des` and
/// `des-insecure` features), with their iteration counts and scrypt parameters bounded.
fn check_encryption(algorithm: &AlgorithmIdentifierOwned) -> Result<Cost, ImportError> {
    let params = algorithm
        .parameters
        .as_ref()
        .map(|p| p.to_der())
        .transpose()
        .map_err(malformed)?
        .unwrap_or_default();
    match algorithm.oid {
        PBE_SHA1_3DES | PBE_SHA1_RC2_40 => {
            let params = Pkcs12PbeParams::from_der(&params).map_err(malformed)?;
            check_iterations(i64::from(params.iterations)).map(Cost::Iterations)
        }
        PBES2 => match pbes2::Parameters::from_der(&params) {
            Ok(parsed) => match &parsed.kdf {
                pbes2::Kdf::Pbkdf2(pbkdf2) => {
                    check_iterations(i64::from(pbkdf2.iteration_count)).map(Cost::Iterations)
                }
                pbes2::Kdf::Scrypt(scrypt) => {
                    check_scrypt(scrypt).map(|work| Cost::Scrypt { work })
                }
                // A KDF a later pkcs5 learns: refused until it is priced here.
                _ => Err(ImportError::UnsupportedAlgorithm {
                    algorithm: describe_pbes2(&params),
                }),
            },
            Err(_) => Err(ImportError::UnsupportedAlgorithm {
                algorithm: describe_pbes2(&params),
            }),
        },
        other => Err(ImportError::UnsupportedAlgorithm {
            algorithm: algorithms::name(&other),
        }),
    }
}

/// Names the parts of PBES2 parameters that pkcs5 could not accept.
fn describe_pbes2(params: &[u8]) -> String {
    let Ok(parts) = Pbes2Params::from_der(params) else {
        return "PBES2 with parameters that cannot be decoded".to_owned();
    };
    let mut description = format!(
        "PBES2 with {} and {}",
        algorithms::name(&parts.kdf.oid),
        algorithms::name(&parts.encryption.oid)
    );
    if parts.kdf.oid == algorithms::PBKDF2
        && let Some(prf) = parts
            .kdf
            .parameters
            .as_ref()
            .and_then(|p| p.to_der().ok())
            .and_then(|p| pkcs12::pbe_params::Pbkdf2Params::from_der(&p).ok())
    {
        description.push_str(&format!(" (PRF {})", algorithms::name(&prf.prf.oid)));
    }
    description
}

/// Bounds one scrypt derivation's memory (128·N·r bytes) and work (N·r·p). Returns the work.
fn check_scrypt(params: &pbes2::ScryptParams) -> Result<u64, ImportError> {
    let n = params.cost_parameter;
    let r = u64::from(params.block_size);
    let p = u64::from(params.parallelization);
    if n < 2 || !n.is_power_of_two() {
        return Err(ImportError::Malformed {
            detail: format!("the scrypt cost N = {n} is not a power of two above 1"),
        });
    }
    if r == 0 || p == 0 {
        return Err(ImportError::Malformed {
            detail: format!(
                "the scrypt block size r = {r} and parallelism p = {p} must be positive"
            ),
        });
    }
    let memory_bytes = 128u64
        .checked_mul(n)
        .and_then(|bytes| bytes.checked_mul(r))
        .unwrap_or(u64::MAX);
    if memory_bytes > MAX_SCRYPT_MEMORY_BYTES {
        return Err(ImportError::ScryptMemoryTooHigh {
            n,
            r,
            memory_bytes,
            limit_bytes: MAX_SCRYPT_MEMORY_BYTES,
        });
    }
    if p > MAX_SCRYPT_PARALLELISM {
        return Err(ImportError::UnsupportedAlgorithm {
            algorithm: format!(
                "scrypt with parallelism p = {p} (at most {MAX_SCRYPT_PARALLELISM} can be read)"
            ),
        });
    }
    // n·r ≤ 2^23 and p ≤ 16 here, so this cannot overflow.
    let work = n * r * p;
    if work > MAX_SCRYPT_WORK {
        return Err(ImportError::ScryptWorkTooHigh {
            n,
            r,
            p,
            work,
            limit: MAX_SCRYPT_WORK,
        });
    }
    Ok(work)
}

fn check_iterations(iterations: i64) -> Result<u64, ImportError> {
    if iterations < 1 {
        return Err(ImportError::Malformed {
            detail: format!("iteration count {iterations} is not positive"),
        });
    }
    let iterations = iterations as u64;
    if iterations > MAX_KDF_ITERATIONS {
        return Err(ImportError::IterationsTooHigh {
            iterations,
            limit: MAX_KDF_ITERATIONS,
        });
    }
    Ok(iterations)
}

fn malformed(error: der::Error) -> ImportError {
    ImportError::Malformed {
        detail: error.to_string(),
    }
}

fn not_pkcs12(bytes: &[u8], error: &der::Error) -> ImportError {
    let trimmed = bytes.trim_ascii_start();
    let detail = if trimmed.starts_with(b"-----BEGIN") {
        "this is PEM text; a PFX is binary. To build one from a PEM certificate and key run \
         `openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.pfx`"
            .to_owned()
    } else if bytes.is_empty() {
        "the file is empty".to_owned()
    } else if Certificate::from_der(bytes.to_vec()).is_ok() {
        "this is a DER certificate (.cer) without a private key; export the certificate with its \
         private key as a .pfx"
            .to_owned()
    } else if matches!(error.kind(), ErrorKind::Incomplete { .. }) {
        "the file is truncated; copy or download it again".to_owned()
    } else {
        format!("the data is not a PKCS#12 structure ({error})")
    };
    ImportError::NotPkcs12 { detail }
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
