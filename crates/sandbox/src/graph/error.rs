//! Graph's error shape: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.

use crate::SandboxError;
use crate::requestlog::Outcome;
use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

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
    #[error("Unsupported request: {0}")]
    UnsupportedRequest(String),
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
            Self::UnsupportedRequest(_) => (StatusCode::BAD_REQUEST, "Request_UnsupportedQuery"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        }
    }

    pub(crate) fn render(&self, now: OffsetDateTime, headers: &HeaderMap) -> Response {
        if let Self::Internal(cause) = self {
            tracing::error!(error = %cause, "graph request failed inside the sandbox");
        }
        let (status, code) = self.status_and_code();
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
        let body = json!({"error": {
            "code": code,
            "message": self.to_string(),
            "innerError": {
                "date": date,
                "request-id": Uuid::new_v4().to_string(),
                "client-request-id": client_request_id.to_string(),
            }
        }});
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(Outcome(code.to_owned()));
        response
    }
}
