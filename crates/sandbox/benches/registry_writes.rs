//! Times addKey-sized changes of the sandbox's tenant registry at fleet size, in both shapes that
//! matter: one tenant with 10,000 applications, and 10,000 tenants with one application each (the
//! rotation fleet benchmark: one tenant per organization).
//!
//! `cargo bench -p tenantlink-sandbox --bench registry_writes` (release). Environment:
//! `SANDBOX_BENCH_UPDATES` (default 1000), `SANDBOX_BENCH_FLEET` (default 10000).

use std::time::Duration;
use tenantlink_sandbox::bench_support::{Shape, time_key_additions};

fn main() {
    let updates = env_number("SANDBOX_BENCH_UPDATES", 1000);
    let fleet = env_number("SANDBOX_BENCH_FLEET", 10_000);
    for (name, shape) in [
        (
            "1 tenant x {fleet} applications",
            Shape {
                tenants: 1,
                applications: fleet,
                keys: 2,
            },
        ),
        (
            "{fleet} tenants x 1 application",
            Shape {
                tenants: fleet,
                applications: 1,
                keys: 2,
            },
        ),
    ] {
        let dir = tempfile::tempdir().expect("temporary state directory");
        let mut timings = time_key_additions(dir.path(), shape, updates).expect("benchmark run");
        timings.sort();
        let total: Duration = timings.iter().sum();
        let at = |q: f64| timings[((timings.len() - 1) as f64 * q) as usize];
        println!(
            "{:<34} {updates} updates: median {:?}, p90 {:?}, max {:?}, mean {:?}",
            name.replace("{fleet}", &fleet.to_string()),
            at(0.5),
            at(0.9),
            at(1.0),
            total / u32::try_from(updates.max(1)).unwrap_or(u32::MAX),
        );
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
