//! Hash indexes over the tenant registry's tenants and applications. Positions, not references, so the
//! index clones with the tenant registry; callers check every hit against the data it points at.

use super::Tenant;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Default)]
pub(super) struct TenantIndex {
    tenants_by_id: HashMap<Uuid, usize>,
    /// Lower-case domain → tenant position.
    tenants_by_domain: HashMap<String, usize>,
    /// appId → (tenant position, application position); the first tenant wins on duplicates.
    applications: HashMap<Uuid, (usize, usize)>,
}

impl TenantIndex {
    pub(super) fn build(tenants: &[Tenant]) -> Self {
        let mut index = Self::default();
        for (ti, tenant) in tenants.iter().enumerate() {
            index.tenants_by_id.entry(tenant.id).or_insert(ti);
            index
                .tenants_by_domain
                .entry(tenant.domain.to_ascii_lowercase())
                .or_insert(ti);
            for (ai, application) in tenant.applications.iter().enumerate() {
                index
                    .applications
                    .entry(application.app_id)
                    .or_insert((ti, ai));
            }
        }
        index
    }

    pub(super) fn tenant_by_id(&self, id: Uuid) -> Option<usize> {
        self.tenants_by_id.get(&id).copied()
    }

    pub(super) fn tenant_by_domain(&self, domain: &str) -> Option<usize> {
        self.tenants_by_domain
            .get(&domain.to_ascii_lowercase())
            .copied()
    }

    pub(super) fn application(&self, app_id: Uuid) -> Option<(usize, usize)> {
        self.applications.get(&app_id).copied()
    }
}
