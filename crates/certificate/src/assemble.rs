//! From the keys and certificates a file holds to one credential: which certificate is the leaf,
//! and everything that stops the pair from serving as the Entra ID app credential.

use time::OffsetDateTime;

use crate::certificate::{Certificate, KeyType};
use crate::credential::Credential;
use crate::error::ImportError;
use crate::key::PrivateKey;
use crate::policy::certificate_problems;

/// What a file held, before any judgement.
#[derive(Debug, Default)]
pub(crate) struct Contents {
    pub keys: Vec<PrivateKey>,
    pub certificates: Vec<Certificate>,
}

/// The judgement: the leaf (when one can be named) and every problem found, most fundamental first.
#[derive(Debug)]
pub(crate) struct Evaluation {
    pub leaf: Option<usize>,
    pub key: Option<usize>,
    pub problems: Vec<ImportError>,
}

pub(crate) fn evaluate(contents: &Contents, key_expected: bool, now: OffsetDateTime) -> Evaluation {
    let mut problems = Vec::new();
    if contents.keys.is_empty() && key_expected {
        problems.push(ImportError::NoPrivateKey);
    }
    if contents.certificates.is_empty() {
        problems.push(ImportError::NoCertificate);
    }
    // The leaf is the certificate whose public key belongs to the private key, whatever the order
    // the exporter wrote them in.
    let matched = contents
        .keys
        .iter()
        .enumerate()
        .find_map(|(key_index, key)| {
            contents
                .certificates
                .iter()
                .position(|certificate| key.matches(certificate))
                .map(|leaf| (key_index, leaf))
        });
    let (key, leaf) = match matched {
        Some((key, leaf)) => (Some(key), Some(leaf)),
        None => {
            if let Some(key) = contents.keys.first() {
                if key.key_type() != KeyType::Rsa {
                    problems.push(ImportError::NotRsa {
                        key_type: key.key_type(),
                    });
                }
                if !contents.certificates.is_empty() {
                    problems.push(ImportError::KeyMismatch);
                }
            }
            let leaf = likely_leaf(&contents.certificates);
            (contents.keys.first().map(|_| 0), leaf)
        }
    };
    if let Some(leaf) = leaf {
        for problem in certificate_problems(&contents.certificates[leaf], now) {
            if !problems.iter().any(|known| known.kind() == problem.kind()) {
                problems.push(problem);
            }
        }
    }
    Evaluation {
        leaf,
        key,
        problems,
    }
}

/// Without a key to match, the leaf is the certificate that issued none of the others.
fn likely_leaf(certificates: &[Certificate]) -> Option<usize> {
    let issues_another = |candidate: &Certificate| {
        certificates
            .iter()
            .any(|other| other != candidate && other.issuer() == candidate.subject())
    };
    certificates
        .iter()
        .position(|certificate| !issues_another(certificate))
        .or(if certificates.is_empty() {
            None
        } else {
            Some(0)
        })
}

pub(crate) fn into_credential(
    mut contents: Contents,
    now: OffsetDateTime,
) -> Result<Credential, ImportError> {
    let evaluation = evaluate(&contents, true, now);
    if let Some(problem) = evaluation.problems.into_iter().next() {
        return Err(problem);
    }
    let (Some(leaf), Some(key)) = (evaluation.leaf, evaluation.key) else {
        return Err(ImportError::KeyMismatch);
    };
    let certificate = contents.certificates.remove(leaf);
    let private_key = contents.keys.swap_remove(key);
    Credential::new(certificate, private_key, contents.certificates)
}
