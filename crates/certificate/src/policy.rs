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

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::{GenerateOptions, generate};

    #[test]
    fn validity_is_judged_at_the_time_the_caller_gives() {
        let issued = datetime!(2026-06-01 08:00:00 UTC);
        let credential = generate(&GenerateOptions::default(), issued).expect("generated");
        let certificate = credential.certificate();
        let kinds = |now| -> Vec<&'static str> {
            certificate_problems(certificate, now)
                .iter()
                .map(ImportError::kind)
                .collect()
        };
        assert!(kinds(issued).is_empty(), "valid when issued");
        assert!(
            kinds(issued - Duration::minutes(4)).is_empty(),
            "clock-skew allowance"
        );
        assert_eq!(kinds(issued - Duration::minutes(6)), ["not_yet_valid"]);
        assert!(kinds(issued + Duration::days(364)).is_empty());
        assert_eq!(kinds(issued + Duration::days(366)), ["expired"]);
    }
}
