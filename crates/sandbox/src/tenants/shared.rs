//! The tenant registry shared by request handlers: readers take a snapshot (an `Arc` clone) and
//! work without any lock; changes run one at a time, each on a copy that replaces the snapshot
//! only once it is on disk.

use super::TenantRegistry;
use super::store::TenantStore;
use crate::SandboxError;
use std::sync::{Arc, Mutex, RwLock};

#[derive(Debug)]
pub(crate) struct SharedRegistry {
    current: RwLock<Arc<TenantRegistry>>,
    /// The writer lock owns the store: whoever changes the registry is the one who writes it.
    store: Mutex<TenantStore>,
}

impl SharedRegistry {
    /// `registry` must be what `store` holds on disk (as loaded or just saved).
    pub(crate) fn new(mut registry: TenantRegistry, store: TenantStore) -> Self {
        registry.reindex();
        Self {
            current: RwLock::new(Arc::new(registry)),
            store: Mutex::new(store),
        }
    }

    /// The current registry; changes made afterwards are not seen through it.
    pub(crate) fn snapshot(&self) -> Arc<TenantRegistry> {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(&current)
    }

    /// Changes the registry all-or-nothing: `f` edits a copy (a vector of pointers; what `f`
    /// edits is copied by `Arc::make_mut`), which replaces the registry only once `f` succeeded
    /// and its difference is durable on disk.
    pub(crate) fn update<R, E: From<SandboxError>>(
        &self,
        f: impl FnOnce(&mut TenantRegistry) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut store = crate::state::lock(&self.store);
        let before = self.snapshot();
        let mut copy = TenantRegistry::clone(&before);
        let result = f(&mut copy)?;
        store.commit(&before, &mut copy)?;
        copy.reindex_after(&before);
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(copy);
        Ok(result)
    }
}

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;
