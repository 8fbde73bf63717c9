//! `[sign_in]`: the limits of the per-address sign-in throttle.

use super::layers::Layers;
use crate::cli::serve::config_file::FileConfig;
use tenantlink_web::AddressThrottleConfig;

/// Bounds of the sign-in throttle settings. At least one failure must be allowed; more than 1,000
/// per window is no throttle at all. A window longer than a day locks out a shared (proxy or
/// office NAT) address for too long. Fewer than 100 tracked addresses lets a handful of clients
/// push a guesser out of the table; an entry takes well under 100 bytes, so a million stays
/// below 100 MB.
pub const SIGN_IN_FAILURES: std::ops::RangeInclusive<u32> = 1..=1000;
pub const SIGN_IN_WINDOW_MINUTES: std::ops::RangeInclusive<u32> = 1..=1440;
pub const SIGN_IN_TRACKED_ADDRESSES: std::ops::RangeInclusive<u32> = 100..=1_000_000;

pub(super) fn resolve_sign_in_throttle(
    layers: &Layers<'_>,
    file: &FileConfig,
) -> anyhow::Result<AddressThrottleConfig> {
    let defaults = AddressThrottleConfig::default();
    let section = &file.sign_in;
    let max_failures = layers
        .bounded(
            "TENANTLINK_SIGN_IN_MAX_FAILURES",
            section.max_failures_per_address,
            "sign_in.max_failures_per_address",
            &SIGN_IN_FAILURES,
            "a sign-in limit per address",
        )?
        .unwrap_or(defaults.max_failures);
    let window = layers
        .bounded(
            "TENANTLINK_SIGN_IN_WINDOW_MINUTES",
            section.address_window_minutes,
            "sign_in.address_window_minutes",
            &SIGN_IN_WINDOW_MINUTES,
            "a sign-in throttle window in minutes",
        )?
        .map_or(defaults.window, |m| time::Duration::minutes(i64::from(m)));
    let max_tracked = layers
        .bounded(
            "TENANTLINK_SIGN_IN_TRACKED_ADDRESSES",
            section.max_tracked_addresses,
            "sign_in.max_tracked_addresses",
            &SIGN_IN_TRACKED_ADDRESSES,
            "a number of tracked sign-in addresses",
        )?
        .map_or(defaults.max_tracked, |n| n as usize);
    Ok(AddressThrottleConfig {
        max_failures,
        window,
        max_tracked,
    })
}
