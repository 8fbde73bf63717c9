//! Hash indexes over the tenant registry's tenants and applications. Positions, not references, so the
//! index clones with the tenant registry; callers check every hit against the data it points at.

use super::Tenant;
use std::collections::HashMap;
use std::sync::Arc;
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
    pub(super) fn build(tenants: &[Arc<Tenant>]) -> Self {
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

/// Whether an index of `before` still points right in `after`: same tenants (id, domain) at the
/// same positions, each with the same appIds at the same positions. Tenants that were not copied
/// (the same `Arc`) are the same by construction, so a change that touched one tenant costs one
/// pointer comparison per tenant plus that tenant's applications.
pub(super) fn same_positions(before: &[Arc<Tenant>], after: &[Arc<Tenant>]) -> bool {
    before.len() == after.len()
        && before.iter().zip(after).all(|(old, new)| {
            Arc::ptr_eq(old, new)
                || (old.id == new.id
                    && old.domain.eq_ignore_ascii_case(&new.domain)
                    && old.applications.len() == new.applications.len()
                    && old
                        .applications
                        .iter()
                        .zip(&new.applications)
                        .all(|(a, b)| Arc::ptr_eq(a, b) || a.app_id == b.app_id))
        })
}
