//! Client-assertion verification (RFC 7523 `private_key_jwt`), with the leniency real clients need
//! (padded base64url, fractional or string NumericDates, missing `nbf`, `x5c` as string or array,
//! replayed `jti`) and Entra's order of checks: key lookup by thumbprint, key window, key size,
//! signature, audience, issuer/subject, assertion lifetime.
//!
//! An application may be told (control API) to accept only one [`AssertionShape`], so that a
//! client's choice of header profile can be tested; by default every shape real clients send passes.

use super::error::AadError;
use crate::keys::{CertificateKey, hex_upper};
use crate::tenants::{Application, StoredKeyCredential};
use serde_json::Value;
use tenantlink_jose::{Algorithm, UnverifiedJws, b64url_decode_lenient};
use time::{Duration, OffsetDateTime};

/// Entra tolerates this much clock difference on assertion times.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Every algorithm the token endpoint accepts when no shape is required.
const ALL_ALGORITHMS: &str = "RS256,RS384,RS512,PS256,PS384,PS512";

/// One assertion header shape: an algorithm and the thumbprint header that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AssertionShape {
    /// RS256 with the SHA-1 `x5t`.
    Rs256,
    /// PS256 with the SHA-256 `x5t#S256`.
    Ps256,
}

impl AssertionShape {
    fn algorithm(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Ps256 => Algorithm::PS256,
        }
    }

    fn algorithm_name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }

    fn thumbprint_header(self) -> &'static str {
        match self {
            Self::Rs256 => "x5t",
            Self::Ps256 => "x5t#S256",
        }
    }
}

#[derive(Debug)]
pub(crate) struct AssertionCheck<'a> {
    pub client_id: &'a str,
    pub app: &'a Application,
    /// Token endpoint URLs the `aud` may name.
    pub audiences: &'a [String],
    pub now: OffsetDateTime,
    /// Keys attached less than this long ago are not yet visible (replication delay).
    pub propagation_delay: Duration,
    /// The only shape this application accepts, when the control API set one.
    pub required_shape: Option<AssertionShape>,
}

pub(crate) fn verify(assertion: &str, check: &AssertionCheck<'_>) -> Result<(), AadError> {
    let jws = UnverifiedJws::parse(assertion).map_err(|_| AadError::MalformedAssertion)?;
    let alg_name = jws
        .header_str("alg")
        .ok_or(AadError::MalformedAssertion)?
        .to_owned();
    let alg = jws
        .algorithm()
        .ok_or_else(|| AadError::UnsupportedAlgorithm {
            alg: alg_name.clone(),
            supported: ALL_ALGORITHMS,
        })?;
    check_x5c_shape(jws.header.get("x5c"))?;
    if let Some(shape) = check.required_shape {
        check_required_shape(&jws, alg, &alg_name, shape)?;
    }

    let thumbprint = presented_thumbprint(&jws)?;
    let thumbprint_hex = hex_upper(&thumbprint);
    let (credential, certificate) =
        find_key(check, &thumbprint).ok_or_else(|| AadError::KeyNotFound {
            thumbprint: thumbprint_hex.clone(),
            app_id: check.app.app_id.to_string(),
        })?;
    if check.now < credential.start || check.now > credential.end {
        return Err(AadError::KeyExpired {
            thumbprint: thumbprint_hex,
            start: credential.start,
            end: credential.end,
            app_id: check.app.app_id.to_string(),
        });
    }
    let bad_signature = || AadError::BadSignature {
        thumbprint: thumbprint_hex.clone(),
        start: credential.start,
        end: credential.end,
    };
    let public_key = certificate
        .rsa_public_key
        .as_deref()
        .ok_or_else(bad_signature)?;
    if certificate.key_bits < 2048 {
        return Err(AadError::WeakKey(certificate.key_bits));
    }
    jws.verify_rsa(alg, public_key)
        .map_err(|_| bad_signature())?;

    check_audience(&jws, check.audiences)?;
    let issuer = jws
        .claim_str("iss")
        .ok_or(AadError::AssertionMissingClaim("iss"))?;
    if issuer != check.client_id {
        return Err(AadError::IssuerMismatch);
    }
    match jws.claim_str("sub") {
        None => return Err(AadError::AssertionMissingClaim("sub")),
        Some(subject) if subject != issuer => return Err(AadError::SubjectMismatch),
        Some(_) => {}
    }
    check_lifetime(&jws, check.now)
}

/// A deployment that accepts one shape lists only its algorithm in 5002738 (Entra's list names
/// what it supports) and, for the right algorithm without the matching thumbprint header, says
/// 5002723 (no key identifier it will use). Entra itself accepts either thumbprint with either
/// algorithm; the wording for a one-shape refusal is UNCONFIRMED, so the texts are Entra's
/// texts for those two codes.
fn check_required_shape(
    jws: &UnverifiedJws,
    alg: Algorithm,
    alg_name: &str,
    shape: AssertionShape,
) -> Result<(), AadError> {
    if alg != shape.algorithm() {
        return Err(AadError::UnsupportedAlgorithm {
            alg: alg_name.to_owned(),
            supported: shape.algorithm_name(),
        });
    }
    if jws.header_str(shape.thumbprint_header()).is_none() {
        return Err(AadError::NoThumbprint);
    }
    Ok(())
}

/// SN/I authentication (certificate chain in `x5c`) is not emulated, but the header shapes real
/// clients send must not be rejected: MSAL.NET sends one string, MSAL Python an array.
fn check_x5c_shape(x5c: Option<&Value>) -> Result<(), AadError> {
    match x5c {
        None | Some(Value::String(_)) => Ok(()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(()),
        Some(_) => Err(AadError::MalformedAssertion),
    }
}

/// The digest the client named: `x5t#S256` (SHA-256) or `x5t` (SHA-1), padded or not.
fn presented_thumbprint(jws: &UnverifiedJws) -> Result<Vec<u8>, AadError> {
    let value = jws
        .header_str("x5t#S256")
        .or_else(|| jws.header_str("x5t"))
        .ok_or(AadError::NoThumbprint)?;
    b64url_decode_lenient(value).map_err(|_| AadError::MalformedAssertion)
}

fn find_key<'a>(
    check: &AssertionCheck<'a>,
    thumbprint: &[u8],
) -> Option<(&'a StoredKeyCredential, &'a CertificateKey)> {
    check
        .app
        .key_credentials
        .iter()
        .filter(|k| k.usage == "Verify" && k.attached_at + check.propagation_delay <= check.now)
        .find_map(|k| {
            let certificate = k.certificate()?;
            (certificate.sha1 == thumbprint || certificate.sha256 == thumbprint)
                .then_some((k, certificate))
        })
}

fn check_audience(jws: &UnverifiedJws, audiences: &[String]) -> Result<(), AadError> {
    let presented: Vec<&str> = match jws.claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => return Err(AadError::AssertionMissingClaim("aud")),
    };
    let accepted = presented.iter().any(|aud| {
        audiences
            .iter()
            .any(|expected| expected.eq_ignore_ascii_case(aud.trim_end_matches('/')))
    });
    if accepted {
        Ok(())
    } else {
        Err(AadError::AudienceMismatch {
            expected: audiences.first().cloned().unwrap_or_default(),
            found: presented.join(","),
        })
    }
}

fn check_lifetime(jws: &UnverifiedJws, now: OffsetDateTime) -> Result<(), AadError> {
    let instant = |name: &str| {
        jws.claim_date(name)
            .and_then(|seconds| {
                OffsetDateTime::from_unix_timestamp_nanos((seconds * 1e9) as i128).ok()
            })
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    let valid_from = instant("nbf");
    let expires = instant("exp");
    if now + CLOCK_SKEW < valid_from || now - CLOCK_SKEW > expires {
        return Err(AadError::AssertionTimeRange {
            now,
            valid_from,
            expires,
        });
    }
    Ok(())
}
