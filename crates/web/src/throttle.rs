//! Sign-in throttling per client address. The service already locks a user *name* after repeated
//! failures (`tenantlink_service::LoginThrottle`); that does not stop one client from trying a
//! few passwords against many names. This throttle counts failed sign-ins per socket peer address
//! and refuses further attempts from that address for the rest of its window.
//!
//! Keyed by the TCP peer address only (axum's `ConnectInfo`), never by `X-Forwarded-For`, which a
//! client can write itself. Behind a reverse proxy every client shares the proxy's address.
//! IPv6 clients are keyed by their /64 prefix, because one host can use any address in it.
//!
//! Time is passed in by the caller (the service's injected clock), so tests use a manual clock.
//! Memory is bounded: at most `max_tracked` addresses are remembered; expired entries go first,
//! then the oldest.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy)]
pub struct AddressThrottleConfig {
    /// Failed sign-ins an address may make within one window before it must wait.
    pub max_failures: u32,
    /// Counted from an address's first failure; when it has passed, the count starts again.
    pub window: Duration,
    /// How many addresses are remembered at most.
    pub max_tracked: usize,
}

impl Default for AddressThrottleConfig {
    /// Higher than the per-name limit (5 in 15 minutes), so one person mistyping never meets it,
    /// while guessing across many names from one address is cut off after 20 tries.
    fn default() -> Self {
        Self {
            max_failures: 20,
            window: Duration::minutes(15),
            max_tracked: 10_000,
        }
    }
}

/// Who is counted: the peer's address, an IPv6 peer's /64, or every peer whose address the
/// server does not know (only when the server was started without connect info).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    Address(IpAddr),
    Unknown,
}

impl ClientKey {
    pub fn from_peer(peer: Option<IpAddr>) -> Self {
        match peer {
            None => Self::Unknown,
            Some(IpAddr::V4(v4)) => Self::Address(IpAddr::V4(v4)),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Address(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & (u128::MAX << 64);
                    Self::Address(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    first_failure: OffsetDateTime,
    failures: u32,
}

/// An address that must wait this many whole seconds (at least 1) before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

#[derive(Debug)]
pub struct AddressThrottle {
    config: AddressThrottleConfig,
    entries: Mutex<HashMap<ClientKey, Entry>>,
}

impl Default for AddressThrottle {
    fn default() -> Self {
        Self::new(AddressThrottleConfig::default())
    }
}

impl AddressThrottle {
    pub fn new(config: AddressThrottleConfig) -> Self {
        Self {
            config,
            entries: Mutex::default(),
        }
    }

    pub fn config(&self) -> AddressThrottleConfig {
        self.config
    }

    /// Whether `client` may try to sign in now.
    pub fn check(&self, client: ClientKey, now: OffsetDateTime) -> Result<(), RetryAfter> {
        let entries = self.lock();
        match entries.get(&client) {
            Some(entry)
                if self.is_live(entry, now) && entry.failures >= self.config.max_failures =>
            {
                let remaining = entry.first_failure + self.config.window - now;
                // Round up so a client that waits exactly this long is let in.
                let seconds =
                    remaining.whole_seconds() + i64::from(remaining.subsec_nanoseconds() > 0);
                Err(RetryAfter(seconds.max(1).unsigned_abs()))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed sign-in from `client`.
    pub fn record_failure(&self, client: ClientKey, now: OffsetDateTime) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&client)
            && self.is_live(entry, now)
        {
            entry.failures = entry.failures.saturating_add(1);
            return;
        }
        if !entries.contains_key(&client) && entries.len() >= self.config.max_tracked {
            self.make_room(&mut entries, now);
        }
        entries.insert(
            client,
            Entry {
                first_failure: now,
                failures: 1,
            },
        );
    }

    /// Number of remembered addresses (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn is_live(&self, entry: &Entry, now: OffsetDateTime) -> bool {
        now < entry.first_failure + self.config.window
    }

    /// Drops expired entries; if none had expired, drops the one whose window started first.
    fn make_room(&self, entries: &mut HashMap<ClientKey, Entry>, now: OffsetDateTime) {
        entries.retain(|_, entry| self.is_live(entry, now));
        if entries.len() >= self.config.max_tracked
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, entry)| entry.first_failure)
                .map(|(key, _)| *key)
        {
            entries.remove(&oldest);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, Entry>> {
        // Entries are plain values; a panic elsewhere cannot leave one half-written.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantlink_clock::{Clock, ManualClock};
    use time::macros::datetime;

    fn address(text: &str) -> ClientKey {
        ClientKey::from_peer(Some(text.parse().unwrap()))
    }

    fn throttle(max_failures: u32, max_tracked: usize) -> AddressThrottle {
        AddressThrottle::new(AddressThrottleConfig {
            max_failures,
            window: Duration::minutes(10),
            max_tracked,
        })
    }

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_window_has_passed() {
        let clock = ManualClock::at(datetime!(2026-11-27 12:00 UTC));
        let throttle = throttle(3, 100);
        let client = address("192.0.2.7");
        for _ in 0..3 {
            assert_eq!(throttle.check(client, clock.now()), Ok(()));
            throttle.record_failure(client, clock.now());
            clock.advance(Duration::seconds(30));
        }
        // First failure at 12:00:00, window 10 minutes, now 12:01:30.
        assert_eq!(throttle.check(client, clock.now()), Err(RetryAfter(510)));
        clock.advance(Duration::seconds(509));
        assert_eq!(throttle.check(client, clock.now()), Err(RetryAfter(1)));
        clock.advance(Duration::seconds(1));
        assert_eq!(throttle.check(client, clock.now()), Ok(()));
        // A new window starts with the next failure: one more is not enough to be refused.
        throttle.record_failure(client, clock.now());
        assert_eq!(throttle.check(client, clock.now()), Ok(()));
    }

    #[test]
    fn other_addresses_are_not_affected() {
        let now = datetime!(2026-11-27 12:00 UTC);
        let throttle = throttle(2, 100);
        let noisy = address("192.0.2.7");
        throttle.record_failure(noisy, now);
        throttle.record_failure(noisy, now);
        assert!(throttle.check(noisy, now).is_err());
        assert_eq!(throttle.check(address("192.0.2.8"), now), Ok(()));
        assert_eq!(throttle.check(address("2001:db8::1"), now), Ok(()));
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_prefix_and_mapped_ipv4_as_ipv4() {
        let now = datetime!(2026-11-27 12:00 UTC);
        let throttle = throttle(2, 100);
        throttle.record_failure(address("2001:db8:1:2::1"), now);
        throttle.record_failure(address("2001:db8:1:2:ffff::9"), now);
        assert!(throttle.check(address("2001:db8:1:2::abcd"), now).is_err());
        assert_eq!(throttle.check(address("2001:db8:1:3::1"), now), Ok(()));

        throttle.record_failure(address("::ffff:192.0.2.9"), now);
        throttle.record_failure(address("192.0.2.9"), now);
        assert!(throttle.check(address("192.0.2.9"), now).is_err());
    }

    #[test]
    fn memory_is_bounded_expired_entries_go_first_then_the_oldest() {
        let clock = ManualClock::at(datetime!(2026-11-27 12:00 UTC));
        let throttle = throttle(1, 3);
        let first = address("192.0.2.1");
        throttle.record_failure(first, clock.now());
        clock.advance(Duration::minutes(11));
        let (second, third) = (address("192.0.2.2"), address("192.0.2.3"));
        throttle.record_failure(second, clock.now());
        clock.advance(Duration::seconds(1));
        throttle.record_failure(third, clock.now());
        assert_eq!(throttle.tracked(), 3);

        // Full: the expired first entry makes room.
        let fourth = address("192.0.2.4");
        throttle.record_failure(fourth, clock.now());
        assert_eq!(throttle.tracked(), 3);
        assert!(throttle.check(second, clock.now()).is_err());

        // Full of live entries: the oldest (second) is forgotten, the others stay refused.
        throttle.record_failure(address("192.0.2.5"), clock.now());
        assert_eq!(throttle.tracked(), 3);
        assert_eq!(throttle.check(second, clock.now()), Ok(()));
        assert!(throttle.check(third, clock.now()).is_err());
        assert!(throttle.check(fourth, clock.now()).is_err());
    }

    #[test]
    fn unknown_peers_share_one_count() {
        let now = datetime!(2026-11-27 12:00 UTC);
        let throttle = throttle(1, 10);
        throttle.record_failure(ClientKey::from_peer(None), now);
        assert!(throttle.check(ClientKey::Unknown, now).is_err());
        assert_eq!(throttle.check(address("192.0.2.1"), now), Ok(()));
    }
}
