//! `POST /api/v1/operations/{id}/browser_sign_in`: the browser sign-in of an operation waiting
//! for its sign-in, for API clients that hand the URL to a person's browser.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use tenantlink_service::OperationId;
use utoipa::ToSchema;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, Serialize, ToSchema)]
pub struct BrowserSignInDto {
    /// Open this in the browser of the person signing in; Entra returns it to
    /// `<public URL>/oauth/callback`, and the operation moves to `signed_in`.
    pub authorize_url: String,
}

/// Starts a browser sign-in (authorization code with PKCE) for an operation in
/// `awaiting_sign_in`; the way on when the tenant blocks the device code flow. A new call
/// replaces the previous attempt. The `state` in the URL is the attempt's only key: give the
/// URL only to the person who signs in.
#[utoipa::path(post, path = "/api/v1/operations/{id}/browser_sign_in", tag = "operations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = BrowserSignInDto),
        (status = 400, description = "no public URL configured for the redirect", body = Problem),
        (status = 409, description = "not waiting for a sign-in", body = Problem)))]
pub async fn start(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<BrowserSignInDto>> {
    let authorize_url = state
        .workflows
        .start_browser_sign_in(&caller, OperationId(id), None)
        .await?;
    Ok(Json(BrowserSignInDto { authorize_url }))
}
