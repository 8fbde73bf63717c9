//! `GET /api/v1/organizations`: the fleet view over the API.

use super::fleet_dto::FleetPageDto;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::fleet_view::FleetParams;
use axum::Json;
use axum::extract::{Query, State};

/// One page of the organizations in risk order with the counts per state of the whole fleet,
/// from one read of the fleet (a constant number of queries, whatever its size). A `state`,
/// `page` or `per_page` that cannot be served is a 422 problem naming the field.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations",
    params(FleetParams),
    responses((status = 200, body = FleetPageDto), (status = 401, body = Problem),
        (status = 422, body = Problem)))]
pub async fn list_organizations(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(params): Query<FleetParams>,
) -> Result<Json<FleetPageDto>, ApiError> {
    let query = params.query()?;
    let page = state.fleet.page(&caller, &query).await?;
    Ok(Json(FleetPageDto::from(&page)))
}
