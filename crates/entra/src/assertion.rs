//! Client assertions (RFC 7523) as Entra expects them from a certificate credential.
//!
//! Two header profiles, chosen per organization: RS256 with the SHA-1 `x5t` (what most clients
//! send and every Entra deployment accepts) and PS256 with the SHA-256 `x5t#S256` (what current
//! Microsoft documentation and MSAL use). Claims follow MSAL.NET: aud = token endpoint,
//! iss = sub = client id, a UUID `jti`, integer `nbf`/`iat`/`exp`, 10 minutes of validity.

use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use base64::Engine as _;
use tenantlink_jose::{Algorithm, sign};

use crate::error::CredentialError;
use crate::signer::SigningCertificate;
use tenantlink_secret::SecretString;

/// How long an assertion is valid: Microsoft asks for 5–10 minutes.
pub const ASSERTION_LIFETIME: Duration = Duration::minutes(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AssertionProfile {
    /// RS256 + `x5t` (SHA-1): the default, widest acceptance.
    #[default]
    Rs256X5t,
    /// PS256 + `x5t#S256` (SHA-256).
    Ps256X5tS256,
}

impl AssertionProfile {
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "rs256" => Some(Self::Rs256X5t),
            "ps256" => Some(Self::Ps256X5tS256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256X5t => "rs256",
            Self::Ps256X5tS256 => "ps256",
        }
    }

    pub fn algorithm(self) -> Algorithm {
        match self {
            Self::Rs256X5t => Algorithm::RS256,
            Self::Ps256X5tS256 => Algorithm::PS256,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct AssertionOptions {
    pub profile: AssertionProfile,
    /// Send the certificate chain in `x5c` (subject name + issuer authentication).
    pub include_x5c: bool,
}

/// Builds a client assertion for `client_id` addressed to `token_endpoint`.
pub fn client_assertion(
    signer: &SigningCertificate,
    client_id: &str,
    token_endpoint: &str,
    options: AssertionOptions,
    now: OffsetDateTime,
) -> Result<SecretString, CredentialError> {
    let mut header = Map::new();
    header.insert("typ".into(), Value::String("JWT".into()));
    match options.profile {
        AssertionProfile::Rs256X5t => header.insert("x5t".into(), Value::String(signer.x5t())),
        AssertionProfile::Ps256X5tS256 => {
            header.insert("x5t#S256".into(), Value::String(signer.x5t_s256()))
        }
    };
    if options.include_x5c {
        // RFC 7515 §4.1.6: standard (not url-safe) base64 DER, leaf first.
        let engine = base64::engine::general_purpose::STANDARD;
        let chain = std::iter::once(signer.certificate_der())
            .chain(signer.chain_der().iter().map(Vec::as_slice))
            .map(|der| Value::String(engine.encode(der)))
            .collect();
        header.insert("x5c".into(), Value::Array(chain));
    }
    let issued = now.unix_timestamp();
    let claims = json!({
        "aud": token_endpoint,
        "iss": client_id,
        "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": issued,
        "iat": issued,
        "exp": (now + ASSERTION_LIFETIME).unix_timestamp(),
    });
    sign(header, &claims, options.profile.algorithm(), signer.key())
        .map(SecretString::new)
        .map_err(|e| CredentialError::Signing(e.to_string()))
}
