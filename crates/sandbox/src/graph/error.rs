//! Graph's error shape: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`,
//! plus `details` where Graph sends them and `Retry-After` on throttled answers.
//!
//! Texts and codes of the rotation refusals, with their evidence (see
//! `shared/reference/entra-protocol.md` §4 and `field-lessons.md` E):
//! - tenant lifetime policy: 400 `CredentialInvalidLifetimeAsPerAppPolicy`, "Credential lifetime
//!   exceeds the max value allowed as per assigned policy '<policy id>'." with one detail
//!   `InvalidKeyEndDate` / target `EndDate` (captured body in OfficeDev/microsoft-365-agents-toolkit
//!   #10998). The HTTP status was not captured: 400 is UNCONFIRMED. The sandbox adds one sentence
//!   naming the limit in days, so that the refusal says what to do.
//! - key-count limit: `Directory_ResourceSizeExceeded`, "The size of the object has exceeded its
//!   limit. Please reduce the number of values and retry your request." (microsoft-graph-docs
//!   #21469; AAD Graph capture in openshift/openshift-azure#1932 with status 403). The Microsoft
//!   Graph status is UNCONFIRMED; the sandbox answers 400. Clients must classify by code.
//! - application limit: `Directory_QuotaExceeded`, "The directory object quota limit for the
//!   Tenant has been exceeded. …" (the text seen for the per-user limit names "the Principal"
//!   instead); status 400 and the tenant-wide wording are UNCONFIRMED.
//! - throttling: 429 with `Retry-After` (seconds) is documented; the directory's `code` is
//!   UNCONFIRMED (`TooManyRequests` is one of those seen) and the message is AAD Graph's throttling
//!   text.

use crate::SandboxError;
use crate::requestlog::Outcome;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

/// The id the sandbox gives its tenants' app-management policy in the lifetime refusal: the id
/// Graph uses for a tenant's default policy (`/policies/defaultAppManagementPolicy`).
/// UNCONFIRMED that Graph names the default policy this way in the message.
pub(crate) const DEFAULT_POLICY_ID: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, thiserror::Error)]
pub(crate) enum GraphError {
    #[error("Access token is empty.")]
    MissingToken,
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error("Access Token missing or malformed.")]
    MissingOrMalformed,
    #[error("Insufficient privileges to complete the operation.")]
    Forbidden,
    #[error(
        "Resource '{0}' does not exist or one of its queried reference-property objects are not present."
    )]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// An object with the same key exists (a second service principal for one appId).
    #[error("{0}")]
    Conflict(String),
    #[error("Unsupported request: {0}")]
    UnsupportedRequest(String),
    /// The tenant's app-management policy (`asymmetricKeyLifetime`) caps certificate lifetime.
    #[error(
        "Credential lifetime exceeds the max value allowed as per assigned policy '{DEFAULT_POLICY_ID}'. The tenant allows certificates valid for at most {max_days} days."
    )]
    LifetimePolicy { max_days: u32 },
    /// The application would hold more keyCredentials than the sandbox's limit.
    #[error(
        "The size of the object has exceeded its limit. Please reduce the number of values and retry your request."
    )]
    ResourceSizeExceeded,
    /// The tenant holds as many applications as its directory quota allows.
    #[error(
        "The directory object quota limit for the Tenant has been exceeded. Please ask your administrator to increase the quota limit or delete objects to reduce the used quota."
    )]
    QuotaExceeded,
    /// The tenant's budget of application requests is spent until the window ends.
    #[error(
        "Your request is throttled temporarily. Please try after {retry_after_seconds} seconds."
    )]
    Throttled { retry_after_seconds: u64 },
    /// A status the fault control injected instead of serving the request.
    #[error("Injected by the sandbox fault control.")]
    Injected {
        status: StatusCode,
        retry_after_seconds: Option<u64>,
    },
    #[error("An internal server error occurred.")]
    Internal(#[from] SandboxError),
}

impl GraphError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::MissingToken | Self::InvalidToken(_) => {
                (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken")
            }
            Self::MissingOrMalformed => (
                StatusCode::UNAUTHORIZED,
                "Authentication_MissingOrMalformed",
            ),
            Self::Forbidden => (StatusCode::FORBIDDEN, "Authorization_RequestDenied"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "Request_ResourceNotFound"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "Request_BadRequest"),
            Self::Conflict(_) => (
                StatusCode::CONFLICT,
                "Request_MultipleObjectsWithSameKeyValue",
            ),
            Self::UnsupportedRequest(_) => (StatusCode::BAD_REQUEST, "Request_UnsupportedQuery"),
            Self::LifetimePolicy { .. } => (
                StatusCode::BAD_REQUEST,
                "CredentialInvalidLifetimeAsPerAppPolicy",
            ),
            Self::ResourceSizeExceeded => {
                (StatusCode::BAD_REQUEST, "Directory_ResourceSizeExceeded")
            }
            Self::QuotaExceeded => (StatusCode::BAD_REQUEST, "Directory_QuotaExceeded"),
            Self::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "TooManyRequests"),
            Self::Injected { status, .. } => (*status, injected_code(*status)),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        }
    }

    fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::Throttled {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            Self::Injected {
                retry_after_seconds,
                ..
            } => *retry_after_seconds,
            _ => None,
        }
    }

    /// Graph's `details` array, for the refusals where Graph sends one.
    fn details(&self) -> Option<Value> {
        match self {
            Self::LifetimePolicy { .. } => Some(json!([{
                "code": "InvalidKeyEndDate",
                "message": self.to_string(),
                "target": "EndDate",
            }])),
            _ => None,
        }
    }

    /// The JSON body (without headers), in sandbox time `now`.
    pub(crate) fn body(&self, now: OffsetDateTime, headers: &HeaderMap) -> Value {
        let (_, code) = self.status_and_code();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok())
            .unwrap_or_else(Uuid::new_v4);
        let date = now
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]"
            ))
            .unwrap_or_default();
        let mut error = json!({
            "code": code,
            "message": self.to_string(),
            "innerError": {
                "date": date,
                "request-id": Uuid::new_v4().to_string(),
                "client-request-id": client_request_id.to_string(),
            }
        });
        if let Some(details) = self.details() {
            error["details"] = details;
        }
        json!({ "error": error })
    }

    pub(crate) fn render(&self, now: OffsetDateTime, headers: &HeaderMap) -> Response {
        if let Self::Internal(cause) = self {
            tracing::error!(error = %cause, "graph request failed inside the sandbox");
        }
        let (status, code) = self.status_and_code();
        let mut response = (status, Json(self.body(now, headers))).into_response();
        if let Some(seconds) = self.retry_after_seconds() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(Outcome(code.to_owned()));
        response
    }
}

fn injected_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::TOO_MANY_REQUESTS => "TooManyRequests",
        StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailable",
        StatusCode::INTERNAL_SERVER_ERROR => "InternalServerError",
        StatusCode::NOT_FOUND => "Request_ResourceNotFound",
        StatusCode::FORBIDDEN => "Authorization_RequestDenied",
        StatusCode::UNAUTHORIZED => "InvalidAuthenticationToken",
        status if status.is_client_error() => "Request_BadRequest",
        _ => "UnknownError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn rendered(error: GraphError) -> (StatusCode, HeaderMap, Value) {
        let response = error.render(OffsetDateTime::UNIX_EPOCH, &HeaderMap::new());
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn lifetime_refusal_names_the_policy_and_the_end_date() {
        let (status, _, body) = rendered(GraphError::LifetimePolicy { max_days: 30 }).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["error"]["code"],
            "CredentialInvalidLifetimeAsPerAppPolicy"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(
            "Credential lifetime exceeds the max value allowed as per assigned policy '"
        ));
        assert!(message.contains("at most 30 days"), "{message}");
        assert_eq!(body["error"]["details"][0]["code"], "InvalidKeyEndDate");
        assert_eq!(body["error"]["details"][0]["target"], "EndDate");
        assert_eq!(body["error"]["innerError"]["date"], "1970-01-01T00:00:00");
    }

    #[tokio::test]
    async fn throttled_answers_carry_retry_after() {
        let (status, headers, body) = rendered(GraphError::Throttled {
            retry_after_seconds: 12,
        })
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "12");
        assert_eq!(body["error"]["code"], "TooManyRequests");
        assert!(body["error"]["innerError"]["request-id"].is_string());
    }

    #[tokio::test]
    async fn size_refusal_uses_the_directory_code_and_text() {
        let (status, headers, body) = rendered(GraphError::ResourceSizeExceeded).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(headers.get(header::RETRY_AFTER).is_none());
        assert_eq!(body["error"]["code"], "Directory_ResourceSizeExceeded");
        assert_eq!(
            body["error"]["message"],
            "The size of the object has exceeded its limit. Please reduce the number of values and retry your request."
        );
    }

    #[tokio::test]
    async fn injected_statuses_get_graph_codes() {
        let (status, headers, body) = rendered(GraphError::Injected {
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after_seconds: Some(3),
        })
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "3");
        assert_eq!(body["error"]["code"], "ServiceUnavailable");
        assert!(body["error"]["innerError"]["client-request-id"].is_string());
    }
}
