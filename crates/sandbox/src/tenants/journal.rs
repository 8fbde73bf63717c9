//! One journal record: what a registry change changed, found by pointer comparison, and how to
//! replay it onto the registry it was made from.
//!
//! A record names each tenant whose `Arc` the change replaced, with the tenant's own fields and
//! users (small), its applications' order only when that changed (an application added or
//! removed), and in full only the applications whose `Arc` was replaced. An addKey is therefore one
//! application's worth of JSON, whether the fleet is 10,000 tenants or one tenant of 10,000
//! applications. The tenants' order is written only when a tenant was added or removed.

use super::{Application, Tenant, TenantAccess, TenantRegistry, User};
use crate::SandboxError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Record {
    /// Consecutive from 1 over the life of the state directory; the snapshot's `generation` says
    /// which records it already holds.
    pub seq: u64,
    /// All tenant ids, in order, when the set or order of tenants changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_order: Option<Vec<Uuid>>,
    tenants: Vec<TenantChange>,
}

#[derive(Debug, Serialize, Deserialize)]
struct TenantChange {
    id: Uuid,
    domain: String,
    display_name: String,
    max_certificate_lifetime_days: Option<u32>,
    #[serde(default)]
    access: TenantAccess,
    users: Vec<User>,
    /// All application object ids, in order, when the set or order of applications changed
    /// (always for a new tenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    application_order: Option<Vec<Uuid>>,
    /// The applications that are new or changed, in full.
    applications: Vec<Arc<Application>>,
}

impl Record {
    /// What turned `before` into `after`, or `None` when `after` shares every tenant with it.
    pub(crate) fn between(
        before: &TenantRegistry,
        after: &TenantRegistry,
        seq: u64,
    ) -> Option<Self> {
        let same_order = before.tenants.len() == after.tenants.len()
            && before
                .tenants
                .iter()
                .zip(&after.tenants)
                .all(|(a, b)| a.id == b.id);
        let old_by_id: HashMap<Uuid, &Arc<Tenant>> = if same_order {
            HashMap::new()
        } else {
            before.tenants.iter().map(|t| (t.id, t)).collect()
        };
        let tenants: Vec<TenantChange> = after
            .tenants
            .iter()
            .enumerate()
            .filter_map(|(i, new)| {
                let old = if same_order {
                    before.tenants.get(i)
                } else {
                    old_by_id.get(&new.id).copied()
                };
                match old {
                    Some(old) if Arc::ptr_eq(old, new) => None,
                    old => Some(TenantChange::between(old.map(|t| &**t), new)),
                }
            })
            .collect();
        (!tenants.is_empty() || !same_order).then(|| Self {
            seq,
            tenant_order: (!same_order).then(|| after.tenants.iter().map(|t| t.id).collect()),
            tenants,
        })
    }

    /// Applies the record to the registry it was made from.
    pub(crate) fn replay(self, registry: &mut TenantRegistry) -> Result<(), SandboxError> {
        let mut positions: HashMap<Uuid, usize> = registry
            .tenants
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id, i))
            .collect();
        for change in self.tenants {
            match positions.get(&change.id) {
                Some(&i) => change.apply(Arc::make_mut(&mut registry.tenants[i]))?,
                None => {
                    positions.insert(change.id, registry.tenants.len());
                    registry.tenants.push(Arc::new(change.into_tenant()?));
                }
            }
        }
        if let Some(order) = self.tenant_order {
            let mut by_id: HashMap<Uuid, Arc<Tenant>> =
                registry.tenants.drain(..).map(|t| (t.id, t)).collect();
            registry.tenants = order
                .iter()
                .map(|id| {
                    by_id
                        .remove(id)
                        .ok_or_else(|| broken(format!("tenant {id}")))
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(())
    }
}

impl TenantChange {
    fn between(old: Option<&Tenant>, new: &Tenant) -> Self {
        let same_order = old.is_some_and(|old| {
            old.applications.len() == new.applications.len()
                && old
                    .applications
                    .iter()
                    .zip(&new.applications)
                    .all(|(a, b)| a.id == b.id)
        });
        let changed: Vec<Arc<Application>> = match old {
            Some(old) if same_order => new
                .applications
                .iter()
                .zip(&old.applications)
                .filter(|(n, o)| !Arc::ptr_eq(n, o))
                .map(|(n, _)| Arc::clone(n))
                .collect(),
            _ => {
                let old_by_id: HashMap<Uuid, &Arc<Application>> = old
                    .into_iter()
                    .flat_map(|t| &t.applications)
                    .map(|a| (a.id, a))
                    .collect();
                new.applications
                    .iter()
                    .filter(|n| old_by_id.get(&n.id).is_none_or(|o| !Arc::ptr_eq(n, o)))
                    .cloned()
                    .collect()
            }
        };
        Self {
            id: new.id,
            domain: new.domain.clone(),
            display_name: new.display_name.clone(),
            max_certificate_lifetime_days: new.max_certificate_lifetime_days,
            access: new.access.clone(),
            users: new.users.clone(),
            application_order: (!same_order)
                .then(|| new.applications.iter().map(|a| a.id).collect()),
            applications: changed,
        }
    }

    fn apply(self, tenant: &mut Tenant) -> Result<(), SandboxError> {
        tenant.domain = self.domain;
        tenant.display_name = self.display_name;
        tenant.max_certificate_lifetime_days = self.max_certificate_lifetime_days;
        tenant.access = self.access;
        tenant.users = self.users;
        match self.application_order {
            Some(order) => {
                let mut by_id: HashMap<Uuid, Arc<Application>> =
                    tenant.applications.drain(..).map(|a| (a.id, a)).collect();
                by_id.extend(self.applications.into_iter().map(|a| (a.id, a)));
                tenant.applications = ordered(order, by_id)?;
            }
            None => {
                for changed in self.applications {
                    let slot = tenant
                        .applications
                        .iter_mut()
                        .find(|a| a.id == changed.id)
                        .ok_or_else(|| broken(format!("application {}", changed.id)))?;
                    *slot = changed;
                }
            }
        }
        Ok(())
    }

    fn into_tenant(self) -> Result<Tenant, SandboxError> {
        let order = self
            .application_order
            .ok_or_else(|| broken(format!("the applications of new tenant {}", self.id)))?;
        let by_id = self.applications.into_iter().map(|a| (a.id, a)).collect();
        Ok(Tenant {
            id: self.id,
            domain: self.domain,
            display_name: self.display_name,
            max_certificate_lifetime_days: self.max_certificate_lifetime_days,
            access: self.access,
            users: self.users,
            applications: ordered(order, by_id)?,
        })
    }
}

fn ordered(
    order: Vec<Uuid>,
    mut by_id: HashMap<Uuid, Arc<Application>>,
) -> Result<Vec<Arc<Application>>, SandboxError> {
    order
        .into_iter()
        .map(|id| {
            by_id
                .remove(&id)
                .ok_or_else(|| broken(format!("application {id}")))
        })
        .collect()
}

/// A record that names something neither the snapshot nor an earlier record holds.
fn broken(what: String) -> SandboxError {
    SandboxError::BrokenTenantRegistry {
        path: "directory.journal".into(),
        reason: format!("a record refers to {what}, which the registry does not hold"),
    }
}
