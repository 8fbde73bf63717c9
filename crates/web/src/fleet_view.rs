//! What the fleet view (the organizations page and `GET /api/v1/organizations`) reads from the
//! query string, parsed once at the edge into the service's [`FleetQuery`].

use serde::Deserialize;
use tenantlink_service::ServiceError;
use tenantlink_service::fleet::{DEFAULT_PER_PAGE, FleetQuery, MAX_PER_PAGE};

/// `?state=&q=&page=&per_page=`; every one optional, an empty one is "not given" (as an HTML
/// form sends it). Numbers are read here, so a bad one is a problem naming its field rather
/// than the framework's plain-text rejection.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FleetParams {
    /// Only organizations in this state: `expired`, `not_attached`, `needs_administrator`,
    /// `rotation_failing`, `expiring` or `healthy`.
    pub state: Option<String>,
    /// Part of the name or the tenant, ignoring case.
    pub q: Option<String>,
    /// The page, from 1 (default 1).
    #[param(value_type = Option<u32>)]
    pub page: Option<String>,
    /// Rows per page (default 50, at most 200).
    #[param(value_type = Option<u32>)]
    pub per_page: Option<String>,
}

impl FleetParams {
    pub fn query(&self) -> Result<FleetQuery, ServiceError> {
        FleetQuery::new(
            self.state.as_deref(),
            self.q.as_deref(),
            number("page", self.page.as_deref())?,
            number("per_page", self.per_page.as_deref())?,
        )
    }
}

fn number(field: &str, text: Option<&str>) -> Result<Option<u32>, ServiceError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(|_| ServiceError::Invalid {
        field: field.to_owned(),
        message: format!(
            "{text:?} is not a whole number (per_page: 1 to {MAX_PER_PAGE}, default {DEFAULT_PER_PAGE})"
        ),
    })
}
