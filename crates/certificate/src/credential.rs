use crate::certificate::Certificate;
use crate::error::ImportError;
use crate::key::PrivateKey;

/// A certificate, the private key that belongs to it, and any further certificates (CA chain).
///
/// Construction checks that the key belongs to the certificate, so a `Credential` always holds a
/// matching pair. Whether Entra ID would accept it is a separate question: see
/// [`certificate_problems`](crate::certificate_problems).
#[derive(Clone, Debug)]
pub struct Credential {
    certificate: Certificate,
    private_key: PrivateKey,
    chain: Vec<Certificate>,
}

impl Credential {
    pub fn new(
        certificate: Certificate,
        private_key: PrivateKey,
        chain: Vec<Certificate>,
    ) -> Result<Self, ImportError> {
        if !private_key.matches(&certificate) {
            return Err(ImportError::KeyMismatch);
        }
        Ok(Self {
            certificate,
            private_key,
            chain,
        })
    }

    /// The leaf certificate: the one whose public key belongs to the private key.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    pub fn private_key(&self) -> &PrivateKey {
        &self.private_key
    }

    /// The other certificates that came with the leaf (issuers), in file order.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }
}
