//! The fleet view as a service: one snapshot per request (from the [`FleetCache`]), classified
//! and paged in memory.

use super::FleetCache;
use super::query::{FleetPage, FleetQuery, fleet_page};
use super::risk::FleetRow;
use crate::accounts::{Caller, Permission};
use crate::error::ServiceResult;
use tenantlink_clock::SharedClock;
use time::Duration;

/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Fleet {
    cache: FleetCache,
    clock: SharedClock,
    warning: Duration,
}

impl Fleet {
    /// `expiring_soon_days`: the certificate page's warning window
    /// ([`crate::WorkflowsConfig::expiring_soon_days`]), so both say "expiring" alike.
    pub fn new(cache: FleetCache, clock: SharedClock, expiring_soon_days: u32) -> Self {
        Self {
            cache,
            clock,
            warning: Duration::days(i64::from(expiring_soon_days)),
        }
    }

    /// The page `query` asks for, with the counts of the whole fleet: one snapshot, whatever
    /// the number of organizations.
    pub async fn page(&self, caller: &Caller, query: &FleetQuery) -> ServiceResult<FleetPage> {
        caller.require(Permission::View)?;
        let records = self.cache.snapshot().await?;
        Ok(fleet_page(&records, query, self.clock.now(), self.warning))
    }

    /// Every organization classified, in the snapshot's order (name, then id) — for a consumer
    /// that needs all of them at once, such as a metrics scrape.
    pub async fn rows(&self, caller: &Caller) -> ServiceResult<Vec<FleetRow>> {
        caller.require(Permission::View)?;
        let records = self.cache.snapshot().await?;
        let now = self.clock.now();
        Ok(records
            .iter()
            .map(|record| FleetRow::of(record, now, self.warning))
            .collect())
    }
}
