//! Counters for benchmarks and tests (`GET /_sandbox/stats`): the token endpoint's expensive work
//! (token requests, client assertions verified, access tokens issued and how each was signed),
//! and Graph's key changes (addKey, removeKey, PATCH of keyCredentials, throttled requests), in
//! total and per application, so that a test can assert "exactly one rotation".

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

#[derive(Debug, Default)]
pub(crate) struct Stats {
    token_requests: AtomicU64,
    client_assertions_verified: AtomicU64,
    access_tokens_issued: AtomicU64,
    rsa_signatures: AtomicU64,
    mac_signatures: AtomicU64,
    graph_throttled: AtomicU64,
    /// By application object id; only successful changes count.
    key_changes: Mutex<HashMap<Uuid, KeyChanges>>,
}

/// Successful Graph key changes of one application (or of all, in the totals).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct KeyChanges {
    pub keys_added: u64,
    pub keys_removed: u64,
    /// PATCHes that carried `keyCredentials` (each replaces the whole collection).
    pub key_credential_patches: u64,
}

/// A copy of the counters since the sandbox started.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct StatsSnapshot {
    pub token_requests: u64,
    pub client_assertions_verified: u64,
    pub access_tokens_issued: u64,
    /// RSA private-key operations by the sandbox (RS256 access and ID tokens).
    pub rsa_signatures: u64,
    /// HMAC-signed access tokens (the `HS256` access-token setting).
    pub mac_signatures: u64,
    /// Graph application requests refused with 429 by the `graph_throttle` budget.
    pub graph_throttled: u64,
    #[serde(flatten)]
    pub key_changes: KeyChanges,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Stats {
    pub(crate) fn token_request(&self) {
        bump(&self.token_requests);
    }

    pub(crate) fn assertion_verified(&self) {
        bump(&self.client_assertions_verified);
    }

    pub(crate) fn access_token_issued(&self) {
        bump(&self.access_tokens_issued);
    }

    pub(crate) fn rsa_signature(&self) {
        bump(&self.rsa_signatures);
    }

    pub(crate) fn mac_signature(&self) {
        bump(&self.mac_signatures);
    }

    pub(crate) fn graph_throttled(&self) {
        bump(&self.graph_throttled);
    }

    pub(crate) fn key_added(&self, application: Uuid) {
        self.change(application, |c| c.keys_added += 1);
    }

    pub(crate) fn key_removed(&self, application: Uuid) {
        self.change(application, |c| c.keys_removed += 1);
    }

    pub(crate) fn key_credentials_patched(&self, application: Uuid) {
        self.change(application, |c| c.key_credential_patches += 1);
    }

    fn change(&self, application: Uuid, f: impl FnOnce(&mut KeyChanges)) {
        f(crate::state::lock(&self.key_changes)
            .entry(application)
            .or_default());
    }

    /// The key changes of one application (by object id); zeros if it had none.
    pub(crate) fn key_changes_of(&self, application: Uuid) -> KeyChanges {
        crate::state::lock(&self.key_changes)
            .get(&application)
            .copied()
            .unwrap_or_default()
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let key_changes = crate::state::lock(&self.key_changes).values().fold(
            KeyChanges::default(),
            |total, c| KeyChanges {
                keys_added: total.keys_added + c.keys_added,
                keys_removed: total.keys_removed + c.keys_removed,
                key_credential_patches: total.key_credential_patches + c.key_credential_patches,
            },
        );
        StatsSnapshot {
            token_requests: read(&self.token_requests),
            client_assertions_verified: read(&self.client_assertions_verified),
            access_tokens_issued: read(&self.access_tokens_issued),
            rsa_signatures: read(&self.rsa_signatures),
            mac_signatures: read(&self.mac_signatures),
            graph_throttled: read(&self.graph_throttled),
            key_changes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_changes_count_per_application_and_in_total() {
        let stats = Stats::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        stats.key_added(a);
        stats.key_removed(a);
        stats.key_added(b);
        stats.key_credentials_patched(b);
        assert_eq!(
            stats.key_changes_of(a),
            KeyChanges {
                keys_added: 1,
                keys_removed: 1,
                key_credential_patches: 0
            }
        );
        assert_eq!(stats.key_changes_of(Uuid::new_v4()), KeyChanges::default());
        let total = stats.snapshot().key_changes;
        assert_eq!(
            (
                total.keys_added,
                total.keys_removed,
                total.key_credential_patches
            ),
            (2, 1, 1)
        );
    }
}
