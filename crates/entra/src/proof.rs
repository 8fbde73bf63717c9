//! The proof of possession of Graph `addKey`/`removeKey`: a JWT signed with a still-valid key of
//! the application, `iss` = the application's **object id** (not its appId), `nbf`/`exp` ten
//! minutes apart, RS256 with the SHA-1 `x5t` (as Microsoft's C# sample signs it), and no `=`
//! padding anywhere (Graph answers a padded proof with `Authentication_MissingOrMalformed`; our
//! signer never pads).
//!
//! The documented `aud` differs between versions of Microsoft's page (field lessons E): the
//! docs repository says the legacy Azure AD Graph id `00000002-…`, one published version says
//! Microsoft Graph's `00000003-…`. The default is the former; the other is one setting away.

use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use tenantlink_jose::{Algorithm, sign};
use tenantlink_secret::SecretString;

use crate::error::CredentialError;
use crate::signer::SigningCertificate;

/// How long a proof is valid: Graph refuses exp − nbf above 10 minutes.
pub const PROOF_LIFETIME: Duration = Duration::minutes(10);

/// The `aud` of a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProofAudience {
    /// `00000002-0000-0000-c000-000000000000` (Azure AD Graph's app id): what the Graph docs
    /// repository documents and what Graph has accepted in the field.
    #[default]
    AzureAdGraph,
    /// `00000003-0000-0000-c000-000000000000` (Microsoft Graph's app id): one published version
    /// of the proof-token page.
    MicrosoftGraph,
}

impl ProofAudience {
    pub fn value(self) -> &'static str {
        match self {
            Self::AzureAdGraph => "00000002-0000-0000-c000-000000000000",
            Self::MicrosoftGraph => "00000003-0000-0000-c000-000000000000",
        }
    }

    /// From a setting: the GUID itself, or `aad-graph` / `microsoft-graph`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "aad-graph" | "00000002-0000-0000-c000-000000000000" => Some(Self::AzureAdGraph),
            "microsoft-graph" | "00000003-0000-0000-c000-000000000000" => {
                Some(Self::MicrosoftGraph)
            }
            _ => None,
        }
    }
}

/// Signs the proof for the application `application_object_id` at `now`. An expired (or not yet
/// valid) signer is refused here: Graph would refuse it too, with a less telling message.
pub fn proof_of_possession(
    signer: &SigningCertificate,
    application_object_id: &str,
    audience: ProofAudience,
    now: OffsetDateTime,
) -> Result<SecretString, CredentialError> {
    if !signer.is_valid_at(now) {
        return Err(CredentialError::ProofSignerExpired {
            not_after: signer.not_after(),
        });
    }
    let mut header = Map::new();
    header.insert("typ".into(), Value::String("JWT".into()));
    header.insert("x5t".into(), Value::String(signer.x5t()));
    let nbf = now.unix_timestamp();
    let claims = json!({
        "aud": audience.value(),
        "iss": application_object_id,
        "nbf": nbf,
        "iat": nbf,
        "exp": (now + PROOF_LIFETIME).unix_timestamp(),
    });
    sign(header, &claims, Algorithm::RS256, signer.key())
        .map(SecretString::new)
        .map_err(|e| CredentialError::Signing(e.to_string()))
}
