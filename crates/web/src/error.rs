//! The one place that turns service errors into responses: RFC 9457 problem details for the API,
//! an explained HTML page for the portal. Internal failures get an error id in the response and
//! their cause in the log only.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenantlink_service::ServiceError;
use utoipa::ToSchema;

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request field at fault, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Quote this id when reporting an internal error; the log has the cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        Self(err)
    }
}

pub(crate) struct Classified {
    pub status: StatusCode,
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub field: Option<String>,
    pub error_id: Option<String>,
    pub retry_after_seconds: Option<u64>,
}

pub(crate) fn classify(err: &ServiceError) -> Classified {
    let mut field = None;
    let mut retry_after_seconds = None;
    let mut error_id = None;
    let (status, slug, title) = match err {
        ServiceError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found", "Not found"),
        ServiceError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
        ServiceError::Invalid { field: f, .. } => {
            field = Some(f.clone());
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "Invalid input",
            )
        }
        ServiceError::WrongStep { .. } => (
            StatusCode::CONFLICT,
            "wrong-step",
            "Not possible at this step",
        ),
        ServiceError::Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict"),
        ServiceError::Directory(_) => (
            StatusCode::BAD_GATEWAY,
            "directory-error",
            "Microsoft Entra ID or Graph refused the request",
        ),
        ServiceError::Throttled {
            retry_after_seconds: s,
        } => {
            retry_after_seconds = Some(*s);
            (
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "Too many failed sign-ins",
            )
        }
        ServiceError::BadCredentials => (
            StatusCode::UNAUTHORIZED,
            "bad-credentials",
            "Sign-in failed",
        ),
        ServiceError::Repository(_) | ServiceError::Internal(_) => {
            let id = uuid::Uuid::new_v4().to_string();
            tracing::error!(error_id = %id, error = %err, "internal error");
            error_id = Some(id);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            )
        }
    };
    let detail = match &error_id {
        Some(id) => {
            format!("An internal error occurred (error id {id}); the service log has the cause.")
        }
        None => err.to_string(),
    };
    Classified {
        status,
        slug,
        title,
        detail,
        field,
        error_id,
        retry_after_seconds,
    }
}

pub(crate) fn problem_response(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: String,
) -> Response {
    problem(Problem {
        problem_type: format!("/problems/{slug}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        field: None,
        error_id: None,
        retry_after_seconds: None,
    })
}

fn problem(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry = problem.retry_after_seconds;
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body,
    )
        .into_response();
    if let Some(seconds) = retry
        && let Ok(value) = seconds.to_string().parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let c = classify(&self.0);
        problem(Problem {
            problem_type: format!("/problems/{}", c.slug),
            title: c.title.to_owned(),
            status: c.status.as_u16(),
            detail: c.detail,
            field: c.field,
            error_id: c.error_id,
            retry_after_seconds: c.retry_after_seconds,
        })
    }
}
