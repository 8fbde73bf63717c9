//! Password handling and decryption of a scanned PFX, with p12-keystore doing the decryption.

use der::Encode;
use p12_keystore::Pkcs12Archive;
use p12_keystore::error::Error as KeystoreError;
use pkcs12::pfx::Pfx;

use super::mac::{Pkcs12Password, verifies};
use super::null_password;
use super::scan::{Scanned, scan};
use crate::assemble::Contents;
use crate::certificate::Certificate;
use crate::error::ImportError;
use crate::key::PrivateKey;
use tenantlink_secret::SecretString;

/// Reads every key and certificate of a PFX. No judgement about the leaf or Entra's rules yet.
pub(crate) fn read(bytes: &[u8], password: Option<&SecretString>) -> Result<Contents, ImportError> {
    let scanned = scan(bytes)?;
    let given = password.filter(|p| !p.is_empty()).map(SecretString::expose);

    // Without a password, Windows and OpenSSL try the empty password and the absent one.
    let candidates = match given {
        Some(text) => vec![(Pkcs12Password::from_text(text), text)],
        None => vec![
            (Pkcs12Password::from_text(""), ""),
            (Pkcs12Password::Null, ""),
        ],
    };
    let refused = || match given {
        Some(_) => ImportError::WrongPassword,
        None => ImportError::PasswordRequired,
    };

    let Some(mac_data) = &scanned.pfx.mac_data else {
        // Nothing vouches for the password: a failed decryption is the only sign it is wrong.
        let text = given.unwrap_or("");
        return match decrypt(bytes, text, &scanned, false) {
            Ok(contents) => Ok(contents),
            Err(Failure::Other(error)) => Err(error),
            Err(Failure::Decryption) if given.is_none() && scanned.uses_pkcs12_kdf_encryption => {
                // Perhaps the absent password rather than the empty one.
                let decrypted =
                    null_password::decrypt_pbe_parts(&scanned).map_err(|_| refused())?;
                decrypt(&decrypted, "", &scanned, false).map_err(|_| refused())
            }
            Err(Failure::Decryption) => Err(refused()),
        };
    };

    let mut verified = None;
    for (candidate, text) in &candidates {
        if verifies(mac_data, candidate, &scanned.auth_safe_data)? {
            verified = Some((candidate, *text));
            break;
        }
    }
    let without_mac = strip_mac(&scanned)?;
    match verified {
        Some((candidate, text)) => match decrypt(&without_mac, text, &scanned, true) {
            Ok(contents) => Ok(contents),
            Err(Failure::Other(error)) => Err(error),
            Err(Failure::Decryption)
                if matches!(candidate, Pkcs12Password::Null)
                    && scanned.uses_pkcs12_kdf_encryption =>
            {
                let decrypted = null_password::decrypt_pbe_parts(&scanned)?;
                decrypt(&decrypted, "", &scanned, true).map_err(|failure| match failure {
                    Failure::Other(error) => error,
                    Failure::Decryption => ImportError::Malformed {
                        detail: "the integrity check passed but the contents do not decrypt"
                            .to_owned(),
                    },
                })
            }
            Err(Failure::Decryption) => Err(ImportError::Malformed {
                detail: "the integrity check passed but the contents do not decrypt".to_owned(),
            }),
        },
        None => {
            let Some(text) = given else {
                return Err(ImportError::PasswordRequired);
            };
            // The MAC failed. If the same password still decrypts the encrypted parts, the
            // password is right and the file was altered; otherwise the password is wrong.
            if scanned.encrypted_parts > 0 && decrypt(&without_mac, text, &scanned, false).is_ok() {
                Err(ImportError::MacMismatch)
            } else {
                Err(ImportError::WrongPassword)
            }
        }
    }
}

enum Failure {
    /// The contents did not decrypt: with an unverified password, a wrong password.
    Decryption,
    Other(ImportError),
}

/// The same PFX without its MAC, so p12-keystore skips a MAC this module has already verified
/// (or, for the tamper check, deliberately ignores).
fn strip_mac(scanned: &Scanned) -> Result<Vec<u8>, ImportError> {
    Pfx {
        version: scanned.pfx.version,
        auth_safe: scanned.pfx.auth_safe.clone(),
        mac_data: None,
    }
    .to_der()
    .map_err(|e| ImportError::Malformed {
        detail: e.to_string(),
    })
}

fn decrypt(
    bytes: &[u8],
    password: &str,
    scanned: &Scanned,
    password_verified: bool,
) -> Result<Contents, Failure> {
    let archive = Pkcs12Archive::from_pkcs12(bytes, password)
        .map_err(|error| classify(error, scanned, password_verified))?;
    let mut contents = Contents::default();
    for bag in &archive.keys {
        match PrivateKey::from_pkcs8_der(bag.key.as_der()) {
            Ok(key) => contents.keys.push(key),
            // A wrong password can, rarely, decrypt to valid padding and garbage.
            Err(_) if !password_verified && scanned.encrypted_parts > 0 => {
                return Err(Failure::Decryption);
            }
            Err(error) => return Err(Failure::Other(error)),
        }
    }
    for bag in &archive.certs {
        let certificate = Certificate::from_der(bag.cert.as_der().to_vec())
            .map_err(|error| Failure::Other(ImportError::InvalidCertificate(error)))?;
        contents.certificates.push(certificate);
    }
    Ok(contents)
}

fn classify(error: KeystoreError, scanned: &Scanned, password_verified: bool) -> Failure {
    let decryption_failed = !password_verified && scanned.encrypted_parts > 0;
    match error {
        KeystoreError::Pkcs5Error(_) | KeystoreError::UnpadError | KeystoreError::MacError(_) => {
            Failure::Decryption
        }
        KeystoreError::DerError(_)
        | KeystoreError::InvalidPrivateKey
        | KeystoreError::InvalidLength
            if decryption_failed =>
        {
            Failure::Decryption
        }
        KeystoreError::InvalidPrivateKey => Failure::Other(ImportError::InvalidPrivateKey {
            detail: "the decrypted key is not PKCS#8".to_owned(),
        }),
        KeystoreError::X509Error(e) => Failure::Other(ImportError::InvalidCertificate(
            crate::CertificateError::Invalid {
                detail: e.to_string(),
            },
        )),
        KeystoreError::UnsupportedEncryptionScheme
        | KeystoreError::UnsupportedMacAlgorithm
        | KeystoreError::UnsupportedContentType => {
            Failure::Other(ImportError::UnsupportedAlgorithm {
                algorithm: format!("an algorithm p12-keystore rejects ({error})"),
            })
        }
        KeystoreError::UnsupportedCertificateType => Failure::Other(ImportError::Malformed {
            detail: "a certificate bag holds a certificate type other than X.509".to_owned(),
        }),
        other => Failure::Other(ImportError::Malformed {
            detail: other.to_string(),
        }),
    }
}
