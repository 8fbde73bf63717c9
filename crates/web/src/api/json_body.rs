//! A JSON request body whose refusal is a problem: axum's own `Json` extractor answers in plain
//! text. A body that is not JSON is a 400 `invalid-json`; JSON that does not fit is a 422
//! `invalid-input` naming the field at fault (from the deserializer's path, so a wrong type in
//! `expiry_thresholds_days[2]` names `expiry_thresholds_days`).

use crate::error::{ApiError, problem_response};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use tenantlink_service::ServiceError;

#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut deserializer)
            .map(JsonBody)
            .map_err(refusal)
    }
}

fn refusal(err: serde_path_to_error::Error<serde_json::Error>) -> Response {
    let inner = err.inner();
    if !inner.is_data() {
        return problem_response(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            "The body is not JSON",
            format!("the request body must be a JSON object: {inner}"),
        );
    }
    // The first named segment is the request field as the API documents it; an unknown
    // or missing top-level key has no path, and its message names it.
    let field = err
        .path()
        .iter()
        .find_map(|segment| match segment {
            Segment::Map { key } => Some(key.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "body".to_owned());
    ApiError(ServiceError::Invalid {
        field,
        message: err.to_string(),
    })
    .into_response()
}
