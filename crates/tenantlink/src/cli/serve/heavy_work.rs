//! The one bounded pool for every CPU-heavy job of this instance (Argon2, RSA key generation,
//! PKCS#12 key derivation), shared by the accounts and the certificate workflows.

use tenantlink_service::HeavyWork;

/// Only a build with the `heavy-work-comparison` feature (the /healthz benchmark's) reads this:
/// `inline` runs heavy work on the async threads, the behaviour the pool replaced, and a number
/// sizes the pool, so one run of the benchmark compares them. A normal build has no such switch.
#[cfg(feature = "heavy-work-comparison")]
pub const COMPARISON_ENV: &str = "TENANTLINK_BENCH_HEAVY_WORK";

pub fn pool() -> HeavyWork {
    #[cfg(feature = "heavy-work-comparison")]
    if let Ok(choice) = std::env::var(COMPARISON_ENV) {
        tracing::warn!(%choice, "heavy work as the benchmark chose: a comparison build");
        return match choice.parse::<usize>() {
            Ok(parallel) => HeavyWork::new(parallel),
            Err(_) => HeavyWork::inline_for_comparison(),
        };
    }
    HeavyWork::sized_to_cores()
}
