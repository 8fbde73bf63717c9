use p12_keystore::{EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain};

use crate::credential::Credential;
use tenantlink_secret::SecretString;

/// PBKDF2 and MAC iterations of exported files: above OpenSSL's 2048 default, far below the
/// import limit, and fast enough for interactive use.
pub const EXPORT_ITERATIONS: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    #[error("the PKCS#12 file could not be built: {detail}")]
    Encoding { detail: String },
}

impl ExportError {
    pub fn kind(&self) -> &'static str {
        match self {
            ExportError::Encoding { .. } => "export_failed",
        }
    }
}

/// Writes the credential as a PFX that OpenSSL 3 (without `-legacy`) and Windows read: key and
/// certificates encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), HMAC-SHA256 integrity MAC.
pub fn export_pkcs12(
    credential: &Credential,
    password: &SecretString,
) -> Result<Vec<u8>, ExportError> {
    let encoding = |e: p12_keystore::error::Error| ExportError::Encoding {
        detail: e.to_string(),
    };
    let key = p12_keystore::PrivateKey::from_der(credential.private_key().pkcs8_der())
        .map_err(encoding)?;
    let mut certificates = Vec::with_capacity(1 + credential.chain().len());
    for certificate in std::iter::once(credential.certificate()).chain(credential.chain()) {
        certificates
            .push(p12_keystore::Certificate::from_der(certificate.der()).map_err(encoding)?);
    }
    // The SHA-1 thumbprint links key and certificate (localKeyId), as Windows does.
    let local_key_id = credential.certificate().thumbprints().sha1().to_vec();
    let mut store = KeyStore::new();
    store.add_entry(
        "tenantlink",
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, certificates)),
    );
    store
        .writer(password.expose())
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .encryption_iterations(EXPORT_ITERATIONS)
        .mac_algorithm(MacAlgorithm::HmacSha256)
        .mac_iterations(EXPORT_ITERATIONS)
        .write()
        .map_err(encoding)
}
