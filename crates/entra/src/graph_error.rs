//! Graph's error answers (`{"error":{"code","message","innerError":{…}}}`, reference §4.7) as
//! data: the code and message verbatim (support and the administrator need Graph's own words),
//! the request ids, a coarse kind the remediation texts are keyed by, and the `Retry-After` of a
//! throttled or unavailable answer. Finer questions the rotation asks — is the directory object
//! full, which tenant policy refused the key, is Graph down — are answered by methods, so the
//! coarse kinds (matched in other crates) stay as they are.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Graph error codes tenantlink tells apart, as Graph spells them.
pub mod codes {
    /// The application object would outgrow its size limit (~1,000 items across its collections;
    /// in the field beyond ~600 keyCredentials).
    pub const DIRECTORY_RESOURCE_SIZE_EXCEEDED: &str = "Directory_ResourceSizeExceeded";
    /// The token or — on addKey/removeKey — the proof of possession was refused.
    pub const AUTHENTICATION_MISSING_OR_MALFORMED: &str = "Authentication_MissingOrMalformed";
    pub const AUTHORIZATION_REQUEST_DENIED: &str = "Authorization_RequestDenied";
    pub const REQUEST_RESOURCE_NOT_FOUND: &str = "Request_ResourceNotFound";
    pub const REQUEST_BAD_REQUEST: &str = "Request_BadRequest";
    /// The tenant (or the signed-in user) may create no more directory objects: "The directory
    /// object quota limit for the Principal/Tenant has been exceeded."
    pub const DIRECTORY_QUOTA_EXCEEDED: &str = "Directory_QuotaExceeded";
}

/// A Graph error body and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub http_status: u16,
    /// Graph's code, verbatim; empty when a 429/5xx came without a Graph error body (a gateway's
    /// page), so that its status and `Retry-After` still reach the caller.
    pub code: String,
    /// Graph's message, verbatim.
    pub message: String,
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    pub date: Option<String>,
    pub kind: GraphErrorKind,
    /// How long Graph asked to wait (`Retry-After` of a 429 or 503), resolved against the
    /// client's clock when the answer arrived.
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphErrorKind {
    AuthorizationDenied,
    NotFound,
    MissingOrMalformedToken,
    /// A tenant app-management policy refused the certificate (lifetime or issuer restriction).
    CredentialPolicyViolation,
    Throttled,
    BadRequest,
    Other,
}

/// Which restriction of the tenant's app-management policy refused a key, as far as Graph's
/// message tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRestriction {
    /// `asymmetricKeyLifetime`: the certificate is valid for longer than the tenant allows.
    KeyLifetime,
    /// `trustedCertificateAuthority`: the certificate is not issued by a CA the tenant trusts
    /// (a self-signed one never is).
    TrustedCertificateAuthority,
    /// Another restriction; Graph's message names it.
    Other,
}

#[derive(Deserialize)]
struct GraphErrorEnvelope {
    error: GraphErrorBody,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(rename = "innerError", alias = "innererror")]
    inner: Option<GraphInnerError>,
}

#[derive(Deserialize)]
struct GraphInnerError {
    #[serde(rename = "request-id")]
    request_id: Option<String>,
    #[serde(rename = "client-request-id")]
    client_request_id: Option<String>,
    date: Option<String>,
}

impl GraphError {
    /// Parses a Graph error body; `None` when the body is not one.
    pub fn parse(http_status: u16, body: &[u8]) -> Option<Self> {
        let envelope: GraphErrorEnvelope = serde_json::from_slice(body).ok()?;
        let body = envelope.error;
        let kind = classify_graph(http_status, &body.code, &body.message);
        let inner = body.inner;
        Some(Self {
            http_status,
            kind,
            request_id: inner.as_ref().and_then(|i| i.request_id.clone()),
            client_request_id: inner.as_ref().and_then(|i| i.client_request_id.clone()),
            date: inner.and_then(|i| i.date),
            code: body.code,
            message: body.message,
            retry_after: None,
        })
    }

    /// A 429 or 5xx that came without Graph's error body: the status and the wait survive, the
    /// code stays empty (there is none to quote).
    pub fn without_body(
        http_status: u16,
        client_request_id: String,
        retry_after: Option<Duration>,
    ) -> Self {
        Self {
            http_status,
            code: String::new(),
            message: format!("HTTP {http_status} without a Graph error body."),
            request_id: None,
            client_request_id: Some(client_request_id),
            date: None,
            kind: if http_status == 429 {
                GraphErrorKind::Throttled
            } else {
                GraphErrorKind::Other
            },
            retry_after,
        }
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// 429: Graph is throttling this application or tenant.
    pub fn is_throttled(&self) -> bool {
        self.http_status == 429
    }

    /// 5xx: Graph (or a gateway before it) could not serve the request now.
    pub fn is_unavailable(&self) -> bool {
        (500..=599).contains(&self.http_status)
    }

    /// `Directory_ResourceSizeExceeded`: the application holds too many keys (or other items)
    /// to take another.
    pub fn is_quota_exceeded(&self) -> bool {
        self.code == codes::DIRECTORY_RESOURCE_SIZE_EXCEEDED
    }

    /// `Directory_QuotaExceeded`: no more applications (or other objects) may be created by
    /// this user or in this tenant.
    pub fn is_object_limit(&self) -> bool {
        self.code == codes::DIRECTORY_QUOTA_EXCEEDED
    }

    /// Which tenant policy restriction refused the key, for a policy refusal.
    pub fn policy_restriction(&self) -> Option<PolicyRestriction> {
        if self.kind != GraphErrorKind::CredentialPolicyViolation {
            return None;
        }
        let message = self.message.to_ascii_lowercase();
        Some(if message.contains("lifetime") {
            PolicyRestriction::KeyLifetime
        } else if mentions_certificate_authority(&message) {
            PolicyRestriction::TrustedCertificateAuthority
        } else {
            PolicyRestriction::Other
        })
    }

    /// What the error means, in one plain-language sentence.
    pub fn summary(&self) -> &'static str {
        if self.is_quota_exceeded() {
            return "The app registration holds as many keys as the directory allows; Graph refuses another.";
        }
        if self.is_unavailable() {
            return "Microsoft Graph is unavailable for the moment.";
        }
        match self.kind {
            GraphErrorKind::AuthorizationDenied => {
                "The account that signed in may not change this app registration."
            }
            GraphErrorKind::NotFound => "Graph has no app registration with this id in the tenant.",
            GraphErrorKind::MissingOrMalformedToken => {
                "Graph refused the sign-in token or the proof of possession."
            }
            GraphErrorKind::CredentialPolicyViolation => {
                "A policy of the tenant does not allow this certificate (for example its lifetime is too long)."
            }
            GraphErrorKind::Throttled => "Graph is throttling this application.",
            GraphErrorKind::BadRequest | GraphErrorKind::Other => {
                "Graph refused the change; its message below says why."
            }
        }
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Microsoft Graph refused the request (HTTP {} {}): {}",
            self.http_status, self.code, self.message
        )?;
        if let Some(wait) = self.retry_after {
            write!(f, " (Retry-After {} s)", wait.as_secs())?;
        }
        Ok(())
    }
}

impl std::error::Error for GraphError {}

fn mentions_certificate_authority(lower_message: &str) -> bool {
    lower_message.contains("certificate authority")
        || lower_message.contains("trusted issuer")
        || lower_message.contains("trustedcertificateauthority")
}

fn classify_graph(status: u16, code: &str, message: &str) -> GraphErrorKind {
    let lower = message.to_ascii_lowercase();
    // Policy refusals come as Request_BadRequest (or BadRequest) whose message names the
    // policy; the exact texts are not documented, so the words are matched, not the sentence.
    let names_a_policy = lower.contains("policy") || mentions_certificate_authority(&lower);
    match code {
        codes::AUTHORIZATION_REQUEST_DENIED => GraphErrorKind::AuthorizationDenied,
        codes::REQUEST_RESOURCE_NOT_FOUND => GraphErrorKind::NotFound,
        codes::AUTHENTICATION_MISSING_OR_MALFORMED | "InvalidAuthenticationToken" => {
            GraphErrorKind::MissingOrMalformedToken
        }
        _ if lower.contains("lifetime") || lower.contains("credential policy") => {
            GraphErrorKind::CredentialPolicyViolation
        }
        codes::REQUEST_BAD_REQUEST | "BadRequest" if names_a_policy => {
            GraphErrorKind::CredentialPolicyViolation
        }
        _ if status == 429 => GraphErrorKind::Throttled,
        codes::REQUEST_BAD_REQUEST | "BadRequest" => GraphErrorKind::BadRequest,
        _ if status == 404 => GraphErrorKind::NotFound,
        _ => GraphErrorKind::Other,
    }
}

#[cfg(test)]
#[path = "graph_error_tests.rs"]
mod tests;
