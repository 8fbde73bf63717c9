use super::RenewalSettings;
use crate::cli::serve::config::testing::resolve_with;
use std::time::Duration;

fn resolve(file: Option<&str>, vars: &[(&'static str, &str)]) -> anyhow::Result<RenewalSettings> {
    resolve_with(file, &[], vars).map(|c| c.renewal)
}

fn refusal(vars: &[(&'static str, &str)]) -> String {
    format!("{:#}", resolve(None, vars).unwrap_err())
}

#[test]
fn renewal_settings_default_to_five_minutes_four_in_flight_three_days_and_ten_minutes() {
    let defaults = resolve(None, &[]).unwrap();
    assert_eq!(defaults.check_every, Duration::from_secs(300));
    assert_eq!(defaults.max_in_flight, 4);
    assert_eq!(defaults.overlap_grace, Duration::from_secs(72 * 3600));
    assert_eq!(defaults.lease, Duration::from_secs(600));
}

#[test]
fn renewal_settings_come_from_the_file_and_the_environment_wins() {
    let file = "[renewal]\ncheck_every_seconds = 60\nmax_in_flight = 8\noverlap_grace_hours = 24\nlease_seconds = 900\n";
    let from_file = resolve(Some(file), &[]).unwrap();
    assert_eq!(
        from_file,
        RenewalSettings {
            check_every: Duration::from_secs(60),
            max_in_flight: 8,
            overlap_grace: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(900),
        }
    );
    let overridden = resolve(
        Some(file),
        &[
            ("TENANTLINK_RENEWAL_CHECK_EVERY_SECONDS", "30"),
            ("TENANTLINK_RENEWAL_MAX_IN_FLIGHT", "2"),
            ("TENANTLINK_RENEWAL_OVERLAP_GRACE_HOURS", "0"),
            ("TENANTLINK_RENEWAL_LEASE_SECONDS", "120"),
        ],
    )
    .unwrap();
    assert_eq!(
        overridden,
        RenewalSettings {
            check_every: Duration::from_secs(30),
            max_in_flight: 2,
            overlap_grace: Duration::ZERO,
            lease: Duration::from_secs(120),
        }
    );
}

#[test]
fn renewal_settings_out_of_bounds_are_refused_naming_their_origin_and_range() {
    for (var, value, expected) in [
        (
            "TENANTLINK_RENEWAL_CHECK_EVERY_SECONDS",
            "1",
            "a renewal check interval in seconds of 1 (TENANTLINK_RENEWAL_CHECK_EVERY_SECONDS) is out of range: use 5 to 3600",
        ),
        (
            "TENANTLINK_RENEWAL_MAX_IN_FLIGHT",
            "0",
            "a limit of rotations in flight of 0 (TENANTLINK_RENEWAL_MAX_IN_FLIGHT) is out of range: use 1 to 64",
        ),
        (
            "TENANTLINK_RENEWAL_OVERLAP_GRACE_HOURS",
            "721",
            "an overlap grace in hours of 721 (TENANTLINK_RENEWAL_OVERLAP_GRACE_HOURS) is out of range: use 0 to 720",
        ),
        (
            "TENANTLINK_RENEWAL_LEASE_SECONDS",
            "59",
            "a renewal claim lease in seconds of 59 (TENANTLINK_RENEWAL_LEASE_SECONDS) is out of range: use 60 to 3600",
        ),
    ] {
        let message = refusal(&[(var, value)]);
        assert!(message.contains(expected), "{message}");
    }
    let message = refusal(&[("TENANTLINK_RENEWAL_MAX_IN_FLIGHT", "many")]);
    assert!(
        message.contains("TENANTLINK_RENEWAL_MAX_IN_FLIGHT=\"many\" is not valid"),
        "{message}"
    );
    let message = format!(
        "{:#}",
        resolve(Some("[renewal]\nlease_seconds = 5\n"), &[]).unwrap_err()
    );
    assert!(
        message.contains("(`renewal.lease_seconds` in ") && message.contains("use 60 to 3600"),
        "{message}"
    );
    let message = format!(
        "{:#}",
        resolve(Some("[renewal]\ncheck_every = 5\n"), &[]).unwrap_err()
    );
    assert!(
        message.contains("key `renewal.check_every`: unknown field `check_every`"),
        "{message}"
    );
}
