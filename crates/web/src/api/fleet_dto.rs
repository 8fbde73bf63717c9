//! `GET /api/v1/organizations`: one page of the fleet, in risk order, with the counts of the
//! whole fleet.

use crate::renewal_view::reason_name;
use serde::Serialize;
use tenantlink_service::fleet::{FleetCounts, FleetPage, FleetRow, FleetState, LastBackup};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct FleetPageDto {
    /// Most urgent first (`expired`, `not_attached`, `needs_administrator`, `rotation_failing`,
    /// `expiring`, `healthy`), then the certificate that ends soonest (none last), then name.
    pub rows: Vec<FleetRowDto>,
    /// Organizations matching `state` and `q`, over all pages.
    pub total: usize,
    pub page: u32,
    pub per_page: u32,
    /// Pages the matching organizations fill (at least 1).
    pub pages: u32,
    /// Organizations of the whole fleet in each state, whatever `state` and `q` are.
    pub counts: FleetCountsDto,
}

impl From<&FleetPage> for FleetPageDto {
    fn from(page: &FleetPage) -> Self {
        Self {
            rows: page.rows.iter().map(FleetRowDto::from).collect(),
            total: page.total,
            page: page.page,
            per_page: page.per_page,
            pages: page.pages(),
            counts: FleetCountsDto::from(&page.counts),
        }
    }
}

/// One count per state, and the fleet's size.
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetCountsDto {
    pub expired: usize,
    pub not_attached: usize,
    pub needs_administrator: usize,
    pub rotation_failing: usize,
    pub expiring: usize,
    pub healthy: usize,
    /// Every organization.
    pub all: usize,
}

impl From<&FleetCounts> for FleetCountsDto {
    fn from(c: &FleetCounts) -> Self {
        Self {
            expired: c.get(FleetState::Expired),
            not_attached: c.get(FleetState::NotAttached),
            needs_administrator: c.get(FleetState::NeedsAdministrator),
            rotation_failing: c.get(FleetState::RotationFailing),
            expiring: c.get(FleetState::Expiring),
            healthy: c.get(FleetState::Healthy),
            all: c.fleet(),
        }
    }
}

/// An organization as the fleet view shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetRowDto {
    pub id: Uuid,
    pub name: String,
    pub tenant: String,
    pub cloud: String,
    pub app_id: String,
    pub app_object_id: Option<String>,
    pub active_certificate: Option<Uuid>,
    /// The risk class: `expired`, `not_attached`, `needs_administrator` (also: no certificate,
    /// or the connection is broken), `rotation_failing`, `expiring` or `healthy`.
    #[schema(example = "healthy")]
    pub state: String,
    /// The active certificate as its page shows it: `valid`, `expiring_soon`, `expired`,
    /// `not_attached` or `none`.
    #[schema(example = "valid")]
    pub certificate_state: String,
    /// Whole days until the active certificate ends (negative once it has); `null` without one.
    pub days_left: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub valid_to: Option<OffsetDateTime>,
    pub renewal: FleetRenewalDto,
    /// `connected`, `broken` or `unknown` (not used yet).
    #[schema(example = "connected")]
    pub connection: String,
    /// The latest backup run over all the organization's policies.
    pub last_backup: Option<LastBackupDto>,
}

impl From<&FleetRow> for FleetRowDto {
    fn from(row: &FleetRow) -> Self {
        let o = &row.organization;
        Self {
            id: o.id.0,
            name: o.name.clone(),
            tenant: o.tenant.clone(),
            cloud: o.cloud.as_str().to_owned(),
            app_id: o.app_id.clone(),
            app_object_id: o.app_object_id.clone(),
            active_certificate: o.active_certificate.map(|c| c.0),
            state: row.state.as_str().to_owned(),
            certificate_state: row.certificate.as_str().to_owned(),
            days_left: row.days_left,
            valid_to: row.valid_to,
            renewal: FleetRenewalDto::from(row),
            connection: o.connection.as_str().to_owned(),
            last_backup: row.last_backup.as_ref().map(LastBackupDto::from),
        }
    }
}

/// Renewal in brief (the certificate resource has the whole of it).
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetRenewalDto {
    pub automatic: bool,
    /// `not_due`, `due`, `backing_off`, `needs_administrator` or `disabled`.
    #[schema(example = "not_due")]
    pub state: String,
    /// For `needs_administrator`: why (as in the certificate resource's `renewal.reason`).
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_renewal_at: Option<OffsetDateTime>,
    pub failed_attempts: u32,
    /// Microsoft's code of the last failure, verbatim.
    pub last_failure_code: Option<String>,
}

impl From<&FleetRow> for FleetRenewalDto {
    fn from(row: &FleetRow) -> Self {
        let renewal = &row.renewal;
        Self {
            automatic: renewal.automatic,
            state: renewal.decision.as_str().to_owned(),
            reason: renewal.administrator_reason().map(reason_name),
            next_renewal_at: renewal.decision.next_renewal_at(),
            failed_attempts: renewal.failed_attempts,
            last_failure_code: renewal.last_failure.as_ref().map(|f| f.code.clone()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LastBackupDto {
    /// `running`, `success`, `warning` or `failed`.
    #[schema(example = "success")]
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

impl From<&LastBackup> for LastBackupDto {
    fn from(b: &LastBackup) -> Self {
        Self {
            status: b.status.as_str().to_owned(),
            started_at: b.started_at,
            finished_at: b.finished_at,
        }
    }
}
