//! STOPGAP until the store implements `FleetRepository` (h1-store, issue #13): the fleet read
//! through the `Repository` one organization at a time (2 queries per organization). At the
//! merge, serve passes the `StoreRepository` itself and this file goes.

use std::sync::Arc;
use tenantlink_service::fleet::{FleetRecord, FleetRepository};
use tenantlink_service::{BoxFuture, CertificateState, RepoResult, Repository};

#[derive(Debug)]
pub struct RepositoryFleet(pub Arc<dyn Repository>);

impl FleetRepository for RepositoryFleet {
    fn fleet_snapshot(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRecord>>> {
        Box::pin(async move {
            let mut records = Vec::new();
            for organization in self.0.organizations().await? {
                let certificates = self.0.certificates(organization.id).await?;
                let renewal = self.0.renewal(organization.id).await?;
                let active = certificates
                    .into_iter()
                    .find(|c| c.state == CertificateState::Active);
                records.push(FleetRecord {
                    organization,
                    active,
                    renewal,
                    last_backup: None,
                });
            }
            Ok(records)
        })
    }
}
