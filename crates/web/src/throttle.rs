//! Sign-in throttling per client address. The service slows down each (user name, address) pair
//! after wrong passwords (`tenantlink_service::LoginThrottle`, kept in the database so it holds
//! across instances); that does not stop one client from trying a few passwords against many
//! names. This throttle counts every sign-in attempt per client address — wrong passwords and
//! attempts refused as throttled alike; a successful sign-in is given back — and refuses further
//! attempts from that address for the rest of its window.
//!
//! Counting and deciding are one step under one lock ([`AddressThrottle::attempt`]), so a burst
//! of parallel attempts cannot all pass before any is counted. It stays in memory, per instance:
//! it is a coarse flood guard that needs no database write per attempt, and with N instances an
//! address gets at most N times its limit — the per-pair delay in the database is what protects
//! each account's password.
//!
//! Keyed by the TCP peer address only (axum's `ConnectInfo`), never by `X-Forwarded-For`, which a
//! client can write itself (see [`ClientKey`]).
//!
//! Time is passed in by the caller (the service's injected clock), so tests use a manual clock.
//! Memory is bounded: at most `max_tracked` addresses are remembered; expired entries go first,
//! then the oldest.

use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy)]
pub struct AddressThrottleConfig {
    /// Sign-in attempts (all but successful ones) an address may make within one window before
    /// it must wait.
    pub max_failures: u32,
    /// Counted from an address's first counted attempt; when it has passed, the count starts
    /// again.
    pub window: Duration,
    /// How many addresses are remembered at most.
    pub max_tracked: usize,
}

impl Default for AddressThrottleConfig {
    /// Well above the per-pair free tries (3), so one person mistyping never meets it, while
    /// guessing across many names from one address is cut off after 20 tries.
    fn default() -> Self {
        Self {
            max_failures: 20,
            window: Duration::minutes(15),
            max_tracked: 10_000,
        }
    }
}

/// Who is counted: the peer's address, an IPv6 peer's /64, or every peer whose address the
/// server does not know. The service keys its per-pair records by the same value.
pub use tenantlink_service::ClientAddress as ClientKey;

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

    /// Counts a sign-in attempt from `client` and says whether it may go ahead: one step under
    /// the lock. A refused attempt is counted too (it cannot lengthen the window, which runs from
    /// the first attempt).
    pub fn attempt(&self, client: ClientKey, now: OffsetDateTime) -> Result<(), RetryAfter> {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&client)
            && self.is_live(entry, now)
        {
            if entry.failures >= self.config.max_failures {
                entry.failures = entry.failures.saturating_add(1);
                let remaining = entry.first_failure + self.config.window - now;
                // Round up so a client that waits exactly this long is let in.
                let seconds =
                    remaining.whole_seconds() + i64::from(remaining.subsec_nanoseconds() > 0);
                return Err(RetryAfter(seconds.max(1).unsigned_abs()));
            }
            entry.failures += 1;
            return Ok(());
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
        Ok(())
    }

    /// Gives back the attempt of a successful sign-in, so signing in often is never throttled.
    pub fn forgive(&self, client: ClientKey, now: OffsetDateTime) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&client)
            && self.is_live(entry, now)
        {
            entry.failures = entry.failures.saturating_sub(1);
        }
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
            assert_eq!(throttle.attempt(client, clock.now()), Ok(()));
            clock.advance(Duration::seconds(30));
        }
        // First attempt at 12:00:00, window 10 minutes, now 12:01:30.
        assert_eq!(throttle.attempt(client, clock.now()), Err(RetryAfter(510)));
        clock.advance(Duration::seconds(509));
        assert_eq!(throttle.attempt(client, clock.now()), Err(RetryAfter(1)));
        clock.advance(Duration::seconds(1));
        // A new window starts with this attempt: a second one is not refused yet.
        assert_eq!(throttle.attempt(client, clock.now()), Ok(()));
        assert_eq!(throttle.attempt(client, clock.now()), Ok(()));
    }

    #[test]
    fn other_addresses_are_not_affected() {
        let now = datetime!(2026-11-27 12:00 UTC);
        let throttle = throttle(2, 100);
        let noisy = address("192.0.2.7");
        let _ = throttle.attempt(noisy, now);
        let _ = throttle.attempt(noisy, now);
        assert!(throttle.attempt(noisy, now).is_err());
        assert_eq!(throttle.attempt(address("192.0.2.8"), now), Ok(()));
        assert_eq!(throttle.attempt(address("2001:db8::1"), now), Ok(()));
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_prefix_and_mapped_ipv4_as_ipv4() {
        let now = datetime!(2026-11-27 12:00 UTC);
        let throttle = throttle(2, 100);
        let _ = throttle.attempt(address("2001:db8:1:2::1"), now);
        let _ = throttle.attempt(address("2001:db8:1:2:ffff::9"), now);
        assert!(
            throttle
                .attempt(address("2001:db8:1:2::abcd"), now)
                .is_err()
        );
        assert_eq!(throttle.attempt(address("2001:db8:1:3::1"), now), Ok(()));

        let _ = throttle.attempt(address("::ffff:192.0.2.9"), now);
        let _ = throttle.attempt(address("192.0.2.9"), now);
        assert!(throttle.attempt(address("192.0.2.9"), now).is_err());
    }

    #[test]
    fn memory_is_bounded_expired_entries_go_first_then_the_oldest() {
        let clock = ManualClock::at(datetime!(2026-11-27 12:00 UTC));
        let throttle = throttle(1, 3);
        let first = address("192.0.2.1");
        let _ = throttle.attempt(first, clock.now());
        clock.advance(Duration::minutes(11));
        let (second, third) = (address("192.0.2.2"), address("192.0.2.3"));
        let _ = throttle.attempt(second, clock.now());
        clock.advance(Duration::seconds(1));
        let _ = throttle.attempt(third, clock.now());
        assert_eq!(throttle.tracked(), 3);

        // Full: the expired first entry makes room.
        let fourth = address("192.0.2.4");
        let _ = throttle.attempt(fourth, clock.now());
        assert_eq!(throttle.tracked(), 3);
        assert!(throttle.attempt(second, clock.now()).is_err());

        // Full of live entries: the oldest (second) is forgotten, the others stay refused.
        let _ = throttle.attempt(address("192.0.2.5"), clock.now());
        assert_eq!(throttle.tracked(), 3);
        assert!(throttle.attempt(third, clock.now()).is_err());
        assert!(throttle.attempt(fourth, clock.now()).is_err());
        assert_eq!(throttle.attempt(second, clock.now()), Ok(()));
    }

    #[test]
    fn parallel_attempts_are_all_counted_and_only_the_limit_passes() {
        let now = datetime!(2026-11-27 12:00 UTC);
        let throttle = std::sync::Arc::new(throttle(5, 100));
        let client = address("192.0.2.7");
        let passed: usize = (0..40)
            .map(|_| {
                let throttle = throttle.clone();
                std::thread::spawn(move || usize::from(throttle.attempt(client, now).is_ok()))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(passed, 5);
        assert_eq!(
            throttle.lock()[&client].failures,
            40,
            "refused ones count too"
        );
    }

    #[test]
    fn a_successful_sign_in_gives_its_attempt_back() {
        let now = datetime!(2026-11-27 12:00 UTC);
        let throttle = throttle(2, 100);
        let client = address("192.0.2.7");
        for _ in 0..10 {
            assert_eq!(throttle.attempt(client, now), Ok(()));
            throttle.forgive(client, now);
        }
        assert_eq!(throttle.attempt(client, now), Ok(()));
        assert_eq!(throttle.attempt(client, now), Ok(()));
        assert!(throttle.attempt(client, now).is_err());
    }

    #[test]
    fn unknown_peers_share_one_count() {
        let now = datetime!(2026-11-27 12:00 UTC);
        let throttle = throttle(1, 10);
        let _ = throttle.attempt(ClientKey::from_peer(None), now);
        assert!(throttle.attempt(ClientKey::Unknown, now).is_err());
        assert_eq!(throttle.attempt(address("192.0.2.1"), now), Ok(()));
    }
}
