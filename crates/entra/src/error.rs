//! Everything that can go wrong talking to Entra ID and Graph, as typed errors an administrator
//! can act on. Each error keeps the service's own text verbatim (support needs the AADSTS code,
//! trace id and thumbprint exactly as Entra wrote them), a kind to act on, and a one-sentence
//! summary of what it means. What to do about it names tenantlink's screens, so those
//! remediation texts live with the screens' owner (`tenantlink-service`'s `remediation`), keyed
//! by these kinds.

use serde::Deserialize;
use std::fmt;
use time::{OffsetDateTime, PrimitiveDateTime, macros::format_description};

use crate::endpoints::EndpointError;
pub use crate::graph_error::{GraphError, GraphErrorKind, PolicyRestriction};
use crate::transport::TransportError;

/// Any failure of this crate's operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{0}")]
    Entra(Box<EntraError>),
    #[error("{0}")]
    Graph(Box<GraphError>),
    #[error(transparent)]
    DeviceFlow(#[from] DeviceFlowError),
    #[error(transparent)]
    Credential(#[from] CredentialError),
    #[error(transparent)]
    KeyUpdate(#[from] KeyUpdateError),
    #[error("{service} returned a response this client cannot read ({context}): {detail}")]
    UnexpectedResponse {
        service: &'static str,
        context: &'static str,
        detail: String,
    },
}

// Boxed: these bodies are large and errors travel through every `Result` of the crate.
impl From<EntraError> for Error {
    fn from(error: EntraError) -> Self {
        Self::Entra(Box::new(error))
    }
}

impl From<GraphError> for Error {
    fn from(error: GraphError) -> Self {
        Self::Graph(Box::new(error))
    }
}

impl Error {
    /// What the error means, in one plain-language sentence.
    pub fn summary(&self) -> &'static str {
        match self {
            Self::Endpoint(_) => {
                "The Entra ID or Graph address configured for this organization is not usable."
            }
            Self::Transport(e) => e.summary(),
            Self::Entra(e) => e.summary(),
            Self::Graph(e) => e.summary(),
            Self::DeviceFlow(e) => e.summary(),
            Self::Credential(_) => "The certificate cannot be used to sign requests to Entra ID.",
            Self::KeyUpdate(e) => e.summary(),
            Self::UnexpectedResponse { .. } => {
                "Entra ID or Graph answered with something this version of tenantlink does not understand."
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Entra (token and devicecode endpoints)

/// The error body of Entra's token and devicecode endpoints, plus what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraError {
    pub http_status: u16,
    /// The OAuth error string (`invalid_client`, `authorization_pending`, …).
    pub error: String,
    /// Entra's text, verbatim (`AADSTS…: … Trace ID … Correlation ID … Timestamp …`).
    pub description: String,
    pub codes: Vec<u64>,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
    pub timestamp: Option<String>,
    pub error_uri: Option<String>,
    pub kind: AadstsKind,
    /// How long Entra asked to wait (`Retry-After` of a 429 or 503, e.g. AADSTS90033
    /// `temporarily_unavailable`), resolved against the client's clock.
    pub retry_after: Option<std::time::Duration>,
}

/// What an AADSTS error is about, for the codes tenantlink acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AadstsKind {
    /// AADSTS700027: the client assertion's key or signature was refused.
    AssertionKeyRejected(KeyRejection),
    /// AADSTS700024: the assertion is outside its nbf..exp window (usually clock skew).
    AssertionOutsideTimeRange,
    /// AADSTS700016: no such application in the tenant.
    ApplicationNotFound,
    /// AADSTS90002: no such tenant in this cloud.
    TenantNotFound,
    /// AADSTS50032: RSA key shorter than 2048 bits.
    WeakRsaKey,
    /// AADSTS5002723: no x5t, x5t#S256 nor kid in the assertion header.
    NoKeyIdentifierInAssertion,
    /// AADSTS5002738: signing algorithm not accepted.
    UnsupportedSigningAlgorithm,
    /// AADSTS7000215: wrong client secret.
    InvalidClientSecret,
    /// AADSTS7000222: client secrets expired.
    ClientSecretExpired,
    /// AADSTS53003: blocked by a Conditional Access policy (often: device code flow blocked).
    BlockedByConditionalAccess,
    /// AADSTS65001: nobody has consented to a permission the request needs.
    ConsentRequired,
    /// AADSTS50076: a policy requires multi-factor authentication for this sign-in.
    MfaRequired,
    /// AADSTS50079: the account must register a multi-factor method before it may sign in.
    MfaRegistrationRequired,
    /// AADSTS50105: the application requires assignment and the account is not assigned.
    UserNotAssigned,
    /// AADSTS50020: the account belongs to another tenant (or is a personal account).
    UserFromOtherTenant,
    /// AADSTS500011: the resource (Graph of the requested cloud) has no principal in the tenant.
    ResourceNotFound,
    /// AADSTS70000 with `invalid_grant`: the grant (device code) was refused, e.g. already
    /// redeemed or its scopes are unauthorized. `authorization_declined` keeps its own kind.
    InvalidGrant,
    /// AADSTS70016 / `authorization_pending`.
    AuthorizationPending,
    /// `slow_down`.
    SlowDown,
    /// AADSTS70020 / `expired_token`.
    DeviceCodeExpired,
    /// `authorization_declined`.
    AuthorizationDeclined,
    /// `bad_verification_code` (AADSTS70018).
    BadVerificationCode,
    /// AADSTS54005: the authorization code was already redeemed (a replayed code).
    AuthorizationCodeReplayed,
    /// AADSTS70008: the authorization code expired (or was revoked) before it was redeemed.
    AuthorizationCodeExpired,
    /// AADSTS501481: the `code_verifier` does not match the `code_challenge` of `/authorize`.
    PkceVerifierMismatch,
    /// Any other code: the verbatim text still tells the story.
    Other,
}

/// Why AADSTS700027 refused the key, as Entra's `[Reason - …]` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRejection {
    pub reason: KeyRejectionReason,
    /// Upper-case hex of the thumbprint the client sent, as Entra quoted it.
    pub client_thumbprint: Option<String>,
    /// Validity of the key Entra found registered for that thumbprint.
    pub found_key_start: Option<OffsetDateTime>,
    pub found_key_end: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRejectionReason {
    KeyExpired,
    KeyNotFound,
    SignatureMismatch,
    Unknown,
}

#[derive(Deserialize)]
struct EntraErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u64>,
    trace_id: Option<String>,
    correlation_id: Option<String>,
    timestamp: Option<String>,
    error_uri: Option<String>,
}

impl EntraError {
    /// Parses an Entra error body; `None` when the body is not one (then the caller reports the
    /// HTTP status instead).
    pub fn parse(http_status: u16, body: &[u8]) -> Option<Self> {
        let raw: EntraErrorBody = serde_json::from_slice(body).ok()?;
        let kind = classify(&raw.error, &raw.error_codes, &raw.error_description);
        Some(Self {
            http_status,
            error: raw.error,
            description: raw.error_description,
            codes: raw.error_codes,
            trace_id: raw.trace_id,
            correlation_id: raw.correlation_id,
            timestamp: raw.timestamp,
            error_uri: raw.error_uri,
            kind,
            retry_after: None,
        })
    }

    pub fn with_retry_after(mut self, retry_after: Option<std::time::Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// The first line of Entra's text (`AADSTS…: …`), without the trace/correlation trailer.
    pub fn headline(&self) -> &str {
        self.description
            .split(['\r', '\n'])
            .next()
            .unwrap_or(&self.description)
    }

    pub fn has_code(&self, code: u64) -> bool {
        self.codes.contains(&code)
    }

    /// What the error means, in one plain-language sentence.
    pub fn summary(&self) -> &'static str {
        aadsts_summary(&self.kind)
    }
}

impl fmt::Display for EntraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if self.description.is_empty() {
            &self.error
        } else {
            &self.description
        };
        write!(f, "Entra ID refused the request ({}): {}", self.error, text)
    }
}

impl std::error::Error for EntraError {}

/// The AADSTS kind an `/authorize` error redirect names (its `error_description` carries the
/// code as text; there is no `error_codes` array on a redirect).
pub(crate) fn classify_authorize(error: &str, description: &str) -> AadstsKind {
    classify(error, &[], description)
}

fn classify(error: &str, codes: &[u64], description: &str) -> AadstsKind {
    match error {
        "authorization_pending" => return AadstsKind::AuthorizationPending,
        "slow_down" => return AadstsKind::SlowDown,
        "expired_token" => return AadstsKind::DeviceCodeExpired,
        "authorization_declined" => return AadstsKind::AuthorizationDeclined,
        "bad_verification_code" => return AadstsKind::BadVerificationCode,
        _ => {}
    }
    // Older responses list several codes ([70002, 50032]); the most specific one wins.
    let known = |c: &u64| {
        matches!(
            c,
            700027
                | 700024
                | 700016
                | 90002
                | 50032
                | 5002723
                | 5002738
                | 7000215
                | 7000222
                | 53003
                | 65001
                | 50076
                | 50079
                | 50105
                | 50020
                | 500011
                | 70000
                | 70016
                | 70020
                | 70018
                | 54005
                | 70008
                | 501481
        )
    };
    let code = codes
        .iter()
        .rev()
        .find(|c| known(c))
        .copied()
        .or_else(|| code_from_text(description));
    match code {
        Some(700027) => AadstsKind::AssertionKeyRejected(parse_key_rejection(description)),
        Some(700024) => AadstsKind::AssertionOutsideTimeRange,
        Some(700016) => AadstsKind::ApplicationNotFound,
        Some(90002) => AadstsKind::TenantNotFound,
        Some(50032) => AadstsKind::WeakRsaKey,
        Some(5002723) => AadstsKind::NoKeyIdentifierInAssertion,
        Some(5002738) => AadstsKind::UnsupportedSigningAlgorithm,
        Some(7000215) => AadstsKind::InvalidClientSecret,
        Some(7000222) => AadstsKind::ClientSecretExpired,
        Some(53003) => AadstsKind::BlockedByConditionalAccess,
        Some(65001) => AadstsKind::ConsentRequired,
        Some(50076) => AadstsKind::MfaRequired,
        Some(50079) => AadstsKind::MfaRegistrationRequired,
        Some(50105) => AadstsKind::UserNotAssigned,
        Some(50020) => AadstsKind::UserFromOtherTenant,
        Some(500011) => AadstsKind::ResourceNotFound,
        Some(70000) => AadstsKind::InvalidGrant,
        Some(70016) => AadstsKind::AuthorizationPending,
        Some(70020) => AadstsKind::DeviceCodeExpired,
        Some(70018) => AadstsKind::BadVerificationCode,
        Some(54005) => AadstsKind::AuthorizationCodeReplayed,
        Some(70008) => AadstsKind::AuthorizationCodeExpired,
        Some(501481) => AadstsKind::PkceVerifierMismatch,
        _ => AadstsKind::Other,
    }
}

/// `AADSTS700027: …` → 700027, for bodies whose `error_codes` is missing.
fn code_from_text(description: &str) -> Option<u64> {
    let rest = description.strip_prefix("AADSTS")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Reads the `[Reason - …, Thumbprint of key used by client: '…', Found key 'Start=…, End=…', …]`
/// list of AADSTS700027. Microsoft asks clients not to parse this text; we do it only to explain
/// the failure better, and fall back to `Unknown` for any wording we have not seen.
pub fn parse_key_rejection(description: &str) -> KeyRejection {
    let reason_text = between(description, "[Reason - ", ".").unwrap_or("");
    let reason = if reason_text.contains("expired") {
        KeyRejectionReason::KeyExpired
    } else if reason_text.contains("not found") {
        KeyRejectionReason::KeyNotFound
    } else if reason_text.contains("signature") {
        KeyRejectionReason::SignatureMismatch
    } else if description.contains("is not registered on application") {
        KeyRejectionReason::KeyNotFound
    } else if description.contains("is expired on application") {
        KeyRejectionReason::KeyExpired
    } else if description.contains("invalid signature") {
        KeyRejectionReason::SignatureMismatch
    } else {
        KeyRejectionReason::Unknown
    };
    let client_thumbprint =
        between(description, "Thumbprint of key used by client: '", "'").map(str::to_owned);
    let (found_key_start, found_key_end) = match between(description, "Found key 'Start=", "'") {
        Some(window) => {
            let mut parts = window.split(", End=");
            let start = parts.next().and_then(parse_found_key_date);
            let end = parts.next().and_then(parse_found_key_date);
            (start, end)
        }
        None => (None, None),
    };
    KeyRejection {
        reason,
        client_thumbprint,
        found_key_start,
        found_key_end,
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// Entra writes found-key dates as `MM/dd/yyyy HH:mm:ss` in UTC.
fn parse_found_key_date(text: &str) -> Option<OffsetDateTime> {
    let format = format_description!("[month]/[day]/[year] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(text.trim(), format)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

fn aadsts_summary(kind: &AadstsKind) -> &'static str {
    match kind {
        AadstsKind::AssertionKeyRejected(r) => match r.reason {
            KeyRejectionReason::KeyExpired => {
                "The certificate tenantlink signs with has expired (or is not yet valid) on the app registration."
            }
            KeyRejectionReason::KeyNotFound => {
                "The app registration has no certificate with the thumbprint tenantlink signed with; it was removed or never attached."
            }
            KeyRejectionReason::SignatureMismatch | KeyRejectionReason::Unknown => {
                "Entra found the certificate but could not verify the signature made with its private key."
            }
        },
        AadstsKind::AssertionOutsideTimeRange => {
            "Entra judged the signed request to be outside its validity window, which means the clock of the server running tenantlink is wrong."
        }
        AadstsKind::ApplicationNotFound => {
            "The tenant has no application with this application (client) id: the id or tenant is wrong, or the app was never added to this tenant."
        }
        AadstsKind::TenantNotFound => {
            "No tenant with this id or domain exists in the selected Microsoft cloud."
        }
        AadstsKind::WeakRsaKey => {
            "The certificate's RSA key is shorter than the 2048 bits Entra requires."
        }
        AadstsKind::NoKeyIdentifierInAssertion => {
            "The signed request named no certificate thumbprint, so Entra could not tell which key to check."
        }
        AadstsKind::UnsupportedSigningAlgorithm => {
            "Entra does not accept the signature algorithm of the signed request."
        }
        AadstsKind::InvalidClientSecret => {
            "Entra rejected a client secret, which tenantlink does not use: something else is signing in as this application with a wrong secret."
        }
        AadstsKind::ClientSecretExpired => {
            "The application's client secrets have expired; tenantlink does not use secrets but something that signs in as this application does."
        }
        AadstsKind::BlockedByConditionalAccess => {
            "A Conditional Access policy of the tenant blocked this sign-in (often: device code flow is blocked, or the policy applies to the application itself)."
        }
        AadstsKind::ConsentRequired => {
            "Nobody has consented to a permission this sign-in needs: the application (named in Entra's message) may not act in this tenant until an administrator grants it."
        }
        AadstsKind::MfaRequired => {
            "A policy of the tenant requires multi-factor authentication for this sign-in and it was not performed."
        }
        AadstsKind::MfaRegistrationRequired => {
            "The account that signed in must register a multi-factor authentication method before the tenant lets it sign in."
        }
        AadstsKind::UserNotAssigned => {
            "The application (named in Entra's message) requires users to be assigned to it, and the account that signed in is not."
        }
        AadstsKind::UserFromOtherTenant => {
            "The account that signed in belongs to another tenant (or is a personal Microsoft account), not to the organization's tenant."
        }
        AadstsKind::ResourceNotFound => {
            "The tenant does not know the resource the token was requested for (Microsoft Graph of the organization's cloud): the cloud is wrong, or the request went to the wrong tenant."
        }
        AadstsKind::InvalidGrant => {
            "Entra refused the sign-in grant: the code was already used or issued to another application, or the permissions it asked for are not granted."
        }
        AadstsKind::AuthorizationPending | AadstsKind::SlowDown => {
            "The sign-in has not been completed at the verification page yet."
        }
        AadstsKind::DeviceCodeExpired => "The sign-in code expired before anyone used it.",
        AadstsKind::AuthorizationDeclined => {
            "The person at the verification page declined the sign-in."
        }
        AadstsKind::BadVerificationCode => "Entra did not recognise the sign-in code.",
        AadstsKind::AuthorizationCodeReplayed => {
            "The browser sign-in's code had already been used: a code is accepted once only."
        }
        AadstsKind::AuthorizationCodeExpired => {
            "The browser sign-in's code expired before tenantlink could use it."
        }
        AadstsKind::PkceVerifierMismatch => {
            "Entra refused the browser sign-in's code because it was issued for another sign-in attempt (the PKCE verifier does not match)."
        }
        AadstsKind::Other => "Entra ID refused the request; its message below says why.",
    }
}

// ---------------------------------------------------------------------------------------------
// Device flow

#[derive(Debug, thiserror::Error)]
pub enum DeviceFlowError {
    #[error("the sign-in was declined: {0}")]
    Declined(Box<EntraError>),
    #[error("the sign-in code expired: {0}")]
    Expired(Box<EntraError>),
    #[error("Entra did not recognise the device code: {0}")]
    BadVerificationCode(Box<EntraError>),
    #[error("the sign-in code expired at {expired_at} before anyone signed in")]
    ExpiredLocally { expired_at: OffsetDateTime },
    #[error("the sign-in was cancelled")]
    Cancelled,
}

impl DeviceFlowError {
    /// What the error means, in one plain-language sentence.
    pub fn summary(&self) -> &'static str {
        match self {
            Self::Declined(e) | Self::Expired(e) | Self::BadVerificationCode(e) => e.summary(),
            Self::ExpiredLocally { .. } => aadsts_summary(&AadstsKind::DeviceCodeExpired),
            Self::Cancelled => "The sign-in was cancelled before it completed.",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials and key updates

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("the certificate's private key cannot be used for signing: {0}")]
    Key(String),
    #[error("the certificate is not an RSA certificate; Entra accepts only RSA keys")]
    NotRsa,
    #[error("could not sign: {0}")]
    Signing(String),
    #[error(
        "the certificate used to sign the proof of possession expired at {not_after}; Graph addKey/removeKey need a still-valid certificate (use the device sign-in instead)"
    )]
    ProofSignerExpired { not_after: OffsetDateTime },
}

/// Problems of a `keyCredentials` write that Graph itself did not report.
#[derive(Debug, thiserror::Error)]
pub enum KeyUpdateError {
    #[error(
        "the app registration's keys kept changing while tenantlink tried to add a certificate ({attempts} attempts); nothing was written"
    )]
    KeepsChanging { attempts: u32 },
    #[error(
        "after the write, the app registration lacks {} key(s) that should be there (key ids {:?}); another writer changed it concurrently",
        missing.len(), missing
    )]
    VerificationFailed { missing: Vec<String> },
    #[error("the certificate with SHA-1 thumbprint {thumbprint} is already attached")]
    AlreadyAttached { thumbprint: String },
    #[error("no key with id {0} is attached to the app registration")]
    KeyNotAttached(String),
}

impl KeyUpdateError {
    /// What the error means, in one plain-language sentence.
    pub fn summary(&self) -> &'static str {
        match self {
            Self::KeepsChanging { .. } | Self::VerificationFailed { .. } => {
                "Someone else changed the app registration's certificates at the same moment, so tenantlink stopped rather than risk dropping a key."
            }
            Self::AlreadyAttached { .. } => {
                "This certificate is already attached to the app registration."
            }
            Self::KeyNotAttached(_) => {
                "The key to remove is not attached to the app registration any more."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn body(error: &str, code: u64, text: &str) -> Vec<u8> {
        serde_json::json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: 6f6c4645-0202-4486-b625-fa957dfc4700\r\nCorrelation ID: 5fc87507-4086-4e77-b415-cee677eb232e\r\nTimestamp: 2023-05-06 06:03:00Z"),
            "error_codes": [code],
            "timestamp": "2023-05-06 06:03:00Z",
            "trace_id": "6f6c4645-0202-4486-b625-fa957dfc4700",
            "correlation_id": "5fc87507-4086-4e77-b415-cee677eb232e",
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn expired_key_reason_thumbprint_and_window_are_extracted() {
        let text = "The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: 'FEE7837AEDA22B9C13EF27ED6A4A5143F6B8F8E8', Found key 'Start=01/28/2018 16:00:00, End=01/28/2019 16:00:00', Please visit the Azure Portal]";
        let e = EntraError::parse(401, &body("invalid_client", 700027, text)).unwrap();
        let AadstsKind::AssertionKeyRejected(r) = &e.kind else {
            panic!("{:?}", e.kind)
        };
        assert_eq!(r.reason, KeyRejectionReason::KeyExpired);
        assert_eq!(
            r.client_thumbprint.as_deref(),
            Some("FEE7837AEDA22B9C13EF27ED6A4A5143F6B8F8E8")
        );
        assert_eq!(r.found_key_start, Some(datetime!(2018-01-28 16:00:00 UTC)));
        assert_eq!(r.found_key_end, Some(datetime!(2019-01-28 16:00:00 UTC)));
        assert!(e.to_string().contains(text), "keeps Entra's text verbatim");
        assert_eq!(
            e.trace_id.as_deref(),
            Some("6f6c4645-0202-4486-b625-fa957dfc4700")
        );
        assert!(e.headline().starts_with("AADSTS700027: The certificate"));
        assert!(!e.headline().contains("Trace ID"));
    }

    #[test]
    fn key_not_found_and_signature_mismatch_are_told_apart() {
        let not_found = "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '8BDEB513EAC11E9E9DA752EB9D5087F317F6D931', Please visit …]";
        let sig = "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: 'AB', Found key 'Start=02/07/2021 17:00:39, End=02/06/2026 17:00:39']";
        let nf = parse_key_rejection(not_found);
        assert_eq!(nf.reason, KeyRejectionReason::KeyNotFound);
        assert_eq!(nf.found_key_start, None);
        let sm = parse_key_rejection(sig);
        assert_eq!(sm.reason, KeyRejectionReason::SignatureMismatch);
        assert_eq!(sm.found_key_end, Some(datetime!(2026-02-06 17:00:39 UTC)));
    }

    #[test]
    fn named_codes_are_classified() {
        let cases: &[(&str, u64, AadstsKind)] = &[
            (
                "invalid_client",
                700024,
                AadstsKind::AssertionOutsideTimeRange,
            ),
            (
                "unauthorized_client",
                700016,
                AadstsKind::ApplicationNotFound,
            ),
            ("invalid_tenant", 90002, AadstsKind::TenantNotFound),
            ("invalid_client", 50032, AadstsKind::WeakRsaKey),
            (
                "invalid_client",
                5002723,
                AadstsKind::NoKeyIdentifierInAssertion,
            ),
            (
                "invalid_client",
                5002738,
                AadstsKind::UnsupportedSigningAlgorithm,
            ),
            ("invalid_client", 7000215, AadstsKind::InvalidClientSecret),
            ("invalid_client", 7000222, AadstsKind::ClientSecretExpired),
            (
                "invalid_grant",
                53003,
                AadstsKind::BlockedByConditionalAccess,
            ),
            (
                "authorization_pending",
                70016,
                AadstsKind::AuthorizationPending,
            ),
            ("expired_token", 70020, AadstsKind::DeviceCodeExpired),
            (
                "authorization_declined",
                70000,
                AadstsKind::AuthorizationDeclined,
            ),
            (
                "bad_verification_code",
                70018,
                AadstsKind::BadVerificationCode,
            ),
            ("invalid_request", 900144, AadstsKind::Other),
        ];
        for (error, code, kind) in cases {
            let e = EntraError::parse(400, &body(error, *code, "text")).unwrap();
            assert_eq!(&e.kind, kind, "AADSTS{code}");
            assert!(!e.summary().is_empty());
        }
        let legacy = serde_json::json!({"error":"invalid_client","error_description":"AADSTS50032: RSA key size 1024 is less than the minimum required 2048 bits.","error_codes":[70002,50032]});
        let e = EntraError::parse(401, legacy.to_string().as_bytes()).unwrap();
        assert_eq!(e.kind, AadstsKind::WeakRsaKey);
        assert!(EntraError::parse(500, b"<html>oops</html>").is_none());
    }
}
