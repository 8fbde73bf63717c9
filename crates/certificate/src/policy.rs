//! What Entra ID accepts as an application certificate credential.

use time::OffsetDateTime;

use crate::certificate::{Certificate, KeyType};
use crate::error::ImportError;

/// Entra ID refuses RSA keys below 2048 bits for application credentials.
pub const MIN_RSA_BITS: usize = 2048;

/// Every reason `certificate` cannot serve as the app credential at `now`, most fundamental first
/// (key algorithm, key size, validity window). Empty when acceptable.
pub fn certificate_problems(certificate: &Certificate, now: OffsetDateTime) -> Vec<ImportError> {
    let mut problems = Vec::new();
    match (certificate.key_type(), certificate.key_bits()) {
        (KeyType::Rsa, Some(bits)) if bits < MIN_RSA_BITS => {
            problems.push(ImportError::RsaTooSmall {
                bits,
                minimum: MIN_RSA_BITS,
            })
        }
        (KeyType::Rsa, _) => {}
        (key_type, _) => problems.push(ImportError::NotRsa { key_type }),
    }
    if now > certificate.not_after() {
        problems.push(ImportError::Expired {
            not_after: certificate.not_after(),
        });
    }
    if now < certificate.not_before() {
        problems.push(ImportError::NotYetValid {
            not_before: certificate.not_before(),
        });
    }
    problems
}
