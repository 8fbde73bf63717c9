//! The service's `Repository` over a real store, for the backup tests: the store's own
//! `StoreRepository`, so the tests read what a run wrote (connection state, proofs) through the
//! same port the service uses.
#![allow(dead_code)]

use std::sync::Arc;

use tenantlink_service::OrganizationId;
use tenantlink_store::{MasterKey, Store};

pub use tenantlink_store::StoreRepository;

/// The repository the backup crate is given in the tests.
pub fn repository(store: &Store, master_key: Arc<MasterKey>) -> Arc<StoreRepository> {
    Arc::new(StoreRepository::new(store.clone(), master_key))
}

/// The store names organizations by the service's ids.
pub fn store_id(id: OrganizationId) -> OrganizationId {
    id
}

/// The store names organizations by the service's ids.
pub fn service_id(id: OrganizationId) -> OrganizationId {
    id
}
