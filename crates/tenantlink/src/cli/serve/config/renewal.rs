//! `[renewal]`: how the renewal scheduler of this instance works through the organizations —
//! how often it looks, how many rotations it runs at once, how long a rotated-out key stays on
//! the application, and how long its claim on an organization lasts — each refused outside its
//! bounds with its origin named.

use super::layers::Layers;
use crate::cli::serve::config_file::FileConfig;
use std::time::Duration;

/// Bounds. Looking more often than every 5 s only loads the database; less often than hourly
/// lets a due organization wait too long. One rotation at a time is the slowest useful pace; over
/// 64 in flight per instance trips the directory's write quotas. A grace of 0 removes the old key
/// as soon as the new one has carried a token; over 30 days keeps two keys for no reason (and the
/// old key's end bounds it anyway). A claim must outlast one rotation (key generation, addKey,
/// Entra's propagation, the token proof: about a minute) and not block another instance for
/// more than an hour after a crash.
pub const CHECK_EVERY_SECONDS: std::ops::RangeInclusive<u32> = 5..=3600;
pub const MAX_IN_FLIGHT: std::ops::RangeInclusive<u32> = 1..=64;
pub const OVERLAP_GRACE_HOURS: std::ops::RangeInclusive<u32> = 0..=720;
pub const LEASE_SECONDS: std::ops::RangeInclusive<u32> = 60..=3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalSettings {
    /// How often the scheduler decides, for every organization, whether renewal is due.
    pub check_every: Duration,
    /// Rotations this instance runs at once, at most.
    pub max_in_flight: u32,
    /// How long a key a rotation retired stays on the application after the new key carried a
    /// successful token (never past the old key's own end).
    pub overlap_grace: Duration,
    /// How long this instance's claim on an organization's renewal lasts in the database.
    pub lease: Duration,
}

impl Default for RenewalSettings {
    fn default() -> Self {
        Self {
            check_every: Duration::from_secs(300),
            max_in_flight: 4,
            overlap_grace: Duration::from_secs(72 * 3600),
            lease: Duration::from_secs(600),
        }
    }
}

pub(super) fn resolve_renewal(
    layers: &Layers<'_>,
    file: &FileConfig,
) -> anyhow::Result<RenewalSettings> {
    let defaults = RenewalSettings::default();
    let section = &file.renewal;
    let seconds = |value: u32| Duration::from_secs(u64::from(value));
    let check_every = layers
        .bounded(
            "TENANTLINK_RENEWAL_CHECK_EVERY_SECONDS",
            section.check_every_seconds,
            "renewal.check_every_seconds",
            &CHECK_EVERY_SECONDS,
            "a renewal check interval in seconds",
        )?
        .map_or(defaults.check_every, seconds);
    let max_in_flight = layers
        .bounded(
            "TENANTLINK_RENEWAL_MAX_IN_FLIGHT",
            section.max_in_flight,
            "renewal.max_in_flight",
            &MAX_IN_FLIGHT,
            "a limit of rotations in flight",
        )?
        .unwrap_or(defaults.max_in_flight);
    let overlap_grace = layers
        .bounded(
            "TENANTLINK_RENEWAL_OVERLAP_GRACE_HOURS",
            section.overlap_grace_hours,
            "renewal.overlap_grace_hours",
            &OVERLAP_GRACE_HOURS,
            "an overlap grace in hours",
        )?
        .map_or(defaults.overlap_grace, |hours| seconds(hours * 3600));
    let lease = layers
        .bounded(
            "TENANTLINK_RENEWAL_LEASE_SECONDS",
            section.lease_seconds,
            "renewal.lease_seconds",
            &LEASE_SECONDS,
            "a renewal claim lease in seconds",
        )?
        .map_or(defaults.lease, seconds);
    Ok(RenewalSettings {
        check_every,
        max_in_flight,
        overlap_grace,
        lease,
    })
}

#[cfg(test)]
#[path = "renewal_tests.rs"]
mod tests;
