//! Counters of the token endpoint's expensive work, for benchmarks and the control API
//! (`GET /_sandbox/stats`): how many token requests came, how many client assertions were
//! verified, how many access tokens were issued and how each was signed.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct Stats {
    token_requests: AtomicU64,
    client_assertions_verified: AtomicU64,
    access_tokens_issued: AtomicU64,
    rsa_signatures: AtomicU64,
    mac_signatures: AtomicU64,
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

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            token_requests: read(&self.token_requests),
            client_assertions_verified: read(&self.client_assertions_verified),
            access_tokens_issued: read(&self.access_tokens_issued),
            rsa_signatures: read(&self.rsa_signatures),
            mac_signatures: read(&self.mac_signatures),
        }
    }
}
