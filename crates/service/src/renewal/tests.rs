//! The renewal policy's pure functions on fixed times.

use super::*;
use crate::model::{CertificateSource, OrganizationId};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOT_BEFORE: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
/// 300 days, so two thirds is exactly day 200.
const NOT_AFTER: OffsetDateTime = datetime!(2026-10-28 00:00 UTC);
const TWO_THIRDS_POINT: OffsetDateTime = datetime!(2026-07-20 00:00 UTC);

fn no_jitter() -> RenewalPolicy {
    RenewalPolicy {
        jitter: Duration::ZERO,
        ..RenewalPolicy::default()
    }
}

fn organization() -> OrganizationId {
    OrganizationId("5b0c3a52-4c3f-4a0e-9c1e-2d6f0f8a1b7e".parse().unwrap())
}

fn active(source: CertificateSource) -> ActiveCertificate {
    ActiveCertificate {
        source,
        sha1_thumbprint: "A1B2C3D4E5F60718293A4B5C6D7E8F9011223344".into(),
        not_before: NOT_BEFORE,
        not_after: NOT_AFTER,
        not_attached: false,
        refused_as_expired: false,
    }
}

fn decide(
    policy: &RenewalPolicy,
    state: &RenewalState,
    active: Option<&ActiveCertificate>,
    now: OffsetDateTime,
) -> RenewalDecision {
    renewal_decision(
        RenewalSituation {
            organization: organization(),
            policy,
            state,
            active,
        },
        now,
    )
}

fn failed(attempts: u32, at: OffsetDateTime, retryable: bool) -> RenewalState {
    RenewalState {
        failed_attempts: attempts,
        last_attempt_at: Some(at),
        last_failure: Some(RenewalFailure {
            at,
            code: "ServiceUnavailable".into(),
            message: "The service is temporarily unavailable.".into(),
            retryable,
        }),
        next_renewal_at: None,
        retry_not_before: None,
    }
}

#[test]
fn renewal_is_due_at_two_thirds_of_the_lifetime_by_default() {
    assert_eq!(
        renewal_due_at(NOT_BEFORE, NOT_AFTER, &no_jitter(), 12345),
        TWO_THIRDS_POINT
    );
    let half = RenewalPolicy {
        renew_at: RenewAtFraction::new(1, 2).unwrap(),
        ..no_jitter()
    };
    assert_eq!(
        renewal_due_at(NOT_BEFORE, NOT_AFTER, &half, 0),
        datetime!(2026-05-31 00:00 UTC)
    );
}

#[test]
fn jitter_moves_renewal_earlier_within_its_bound_and_never_before_the_start() {
    let policy = RenewalPolicy::default();
    assert_eq!(policy.jitter, DEFAULT_JITTER);
    let mut earliest = TWO_THIRDS_POINT;
    for seed in [0, 1, 86_400, 86_401, u64::MAX, 0x9e37_79b9_7f4a_7c15] {
        let due = renewal_due_at(NOT_BEFORE, NOT_AFTER, &policy, seed);
        assert!(due <= TWO_THIRDS_POINT, "seed {seed}: {due}");
        assert!(
            due >= TWO_THIRDS_POINT - DEFAULT_JITTER,
            "seed {seed}: {due}"
        );
        earliest = earliest.min(due);
    }
    // seed % (jitter + 1): 86_400 is the whole bound, 86_401 wraps to none.
    assert_eq!(
        renewal_due_at(NOT_BEFORE, NOT_AFTER, &policy, 86_400),
        TWO_THIRDS_POINT - DEFAULT_JITTER
    );
    assert_eq!(earliest, TWO_THIRDS_POINT - DEFAULT_JITTER);
    // A jitter wider than the time before the planned point stops at the certificate's start.
    let short = datetime!(2026-01-04 00:00 UTC); // 3 days: planned at day 2
    let wide = RenewalPolicy {
        jitter: Duration::days(30),
        ..RenewalPolicy::default()
    };
    assert_eq!(
        renewal_due_at(NOT_BEFORE, short, &wide, 20 * 86_400),
        NOT_BEFORE
    );
}

#[test]
fn jitter_seed_is_stable_and_spreads_organizations() {
    let thumbprint = "A1B2C3D4E5F60718293A4B5C6D7E8F9011223344";
    let seed = jitter_seed(organization(), thumbprint);
    // Same inputs, same seed, whichever instance (and however the thumbprint is cased).
    assert_eq!(seed, jitter_seed(organization(), thumbprint));
    assert_eq!(
        seed,
        jitter_seed(organization(), &thumbprint.to_lowercase())
    );
    // Pinned (SHA-256 of the id's bytes and the thumbprint, first 8 bytes big-endian): a change
    // of the hash would move every organization's renewal date.
    assert_eq!(seed, 3_292_564_080_003_313_298);
    let policy = RenewalPolicy::default();
    let due: std::collections::BTreeSet<OffsetDateTime> = (0..50)
        .map(|n| {
            let organization = OrganizationId(uuid::Uuid::from_u128(n));
            renewal_due_at(
                NOT_BEFORE,
                NOT_AFTER,
                &policy,
                jitter_seed(organization, thumbprint),
            )
        })
        .collect();
    assert!(
        due.len() >= 45,
        "50 organizations renew at {} times",
        due.len()
    );
    assert_ne!(
        seed,
        jitter_seed(organization(), "00B2C3D4E5F60718293A4B5C6D7E8F9011223344"),
        "a new certificate gets a new point in the spread"
    );
}

#[test]
fn new_certificate_lifetime_is_the_configured_one_clamped_to_the_tenant_maximum() {
    let policy = RenewalPolicy::default();
    assert_eq!(policy.new_certificate_days(365), 365);
    let own = RenewalPolicy {
        lifetime_days: Some(180),
        ..RenewalPolicy::default()
    };
    assert_eq!(own.new_certificate_days(365), 180);
    let capped = RenewalPolicy {
        tenant_max_lifetime_days: Some(90),
        ..own.clone()
    };
    assert_eq!(capped.new_certificate_days(365), 90);
    let roomy = RenewalPolicy {
        tenant_max_lifetime_days: Some(400),
        ..own
    };
    assert_eq!(roomy.new_certificate_days(365), 180);
}

#[test]
fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
    let policy = RenewalPolicy {
        backoff_base: Duration::minutes(5),
        backoff_cap: Duration::hours(1),
        ..RenewalPolicy::default()
    };
    let at = datetime!(2026-07-20 12:00 UTC);
    let waits: Vec<Duration> = (1..=6)
        .map(|attempts| next_attempt_after_failure(attempts, at, &policy) - at)
        .collect();
    assert_eq!(
        waits,
        [5, 10, 20, 40, 60, 60].map(|minutes| Duration::minutes(minutes))
    );
    // Far past any shift width: the cap, not an overflow.
    for attempts in [63, 64, 65, u32::MAX] {
        assert_eq!(
            next_attempt_after_failure(attempts, at, &policy) - at,
            Duration::hours(1)
        );
    }
    assert_eq!(next_attempt_after_failure(0, at, &policy), at);
}

#[test]
fn decision_follows_the_clock_through_not_due_due_and_backoff() {
    let policy = no_jitter();
    let certificate = active(CertificateSource::Generated);
    let fresh = RenewalState::default();
    assert_eq!(
        decide(
            &policy,
            &fresh,
            Some(&certificate),
            TWO_THIRDS_POINT - Duration::SECOND
        ),
        RenewalDecision::NotDue {
            at: TWO_THIRDS_POINT
        }
    );
    assert_eq!(
        decide(&policy, &fresh, Some(&certificate), TWO_THIRDS_POINT),
        RenewalDecision::Due
    );
    let failed_at = TWO_THIRDS_POINT + Duration::hours(1);
    let after_two = failed(2, failed_at, true);
    assert_eq!(
        decide(
            &policy,
            &after_two,
            Some(&certificate),
            failed_at + Duration::minutes(9)
        ),
        RenewalDecision::BackingOff {
            until: failed_at + Duration::minutes(10)
        }
    );
    assert_eq!(
        decide(
            &policy,
            &after_two,
            Some(&certificate),
            failed_at + Duration::minutes(10)
        ),
        RenewalDecision::Due
    );
}

#[test]
fn an_expired_or_detached_active_certificate_needs_an_administrator() {
    let policy = no_jitter();
    let fresh = RenewalState::default();
    let certificate = active(CertificateSource::Generated);
    let needs = |reason| RenewalDecision::NeedsAdministrator { reason };
    assert_eq!(
        decide(&policy, &fresh, Some(&certificate), NOT_AFTER),
        needs(AdministratorReason::ActiveExpired)
    );
    let refused = ActiveCertificate {
        refused_as_expired: true,
        ..certificate.clone()
    };
    assert_eq!(
        decide(&policy, &fresh, Some(&refused), NOT_BEFORE),
        needs(AdministratorReason::ActiveExpired)
    );
    let detached = ActiveCertificate {
        not_attached: true,
        ..certificate
    };
    assert_eq!(
        decide(&policy, &fresh, Some(&detached), NOT_BEFORE),
        needs(AdministratorReason::NotAttached)
    );
    assert_eq!(
        decide(&policy, &fresh, None, NOT_BEFORE),
        needs(AdministratorReason::NoActiveCertificate)
    );
    // Turning automatic renewal off does not hide that the organization is broken.
    let off = RenewalPolicy {
        automatic: false,
        ..no_jitter()
    };
    assert_eq!(
        decide(&off, &fresh, None, NOT_BEFORE),
        needs(AdministratorReason::NoActiveCertificate)
    );
}

#[test]
fn an_uploaded_certificate_only_warns_by_default_and_rotates_when_allowed() {
    let fresh = RenewalState::default();
    let uploaded = active(CertificateSource::Uploaded);
    let policy = no_jitter();
    assert_eq!(policy.uploaded, UploadedCertificates::WarnOnly);
    // Before it is due there is nothing to warn about.
    assert_eq!(
        decide(&policy, &fresh, Some(&uploaded), NOT_BEFORE),
        RenewalDecision::NotDue {
            at: TWO_THIRDS_POINT
        }
    );
    assert_eq!(
        decide(&policy, &fresh, Some(&uploaded), TWO_THIRDS_POINT),
        RenewalDecision::NeedsAdministrator {
            reason: AdministratorReason::UploadedWarnOnly
        }
    );
    let rotate = RenewalPolicy {
        uploaded: UploadedCertificates::Rotate,
        ..no_jitter()
    };
    assert_eq!(
        decide(&rotate, &fresh, Some(&uploaded), TWO_THIRDS_POINT),
        RenewalDecision::Due
    );
}

#[test]
fn automatic_off_is_disabled_even_when_due() {
    let off = RenewalPolicy {
        automatic: false,
        ..no_jitter()
    };
    let certificate = active(CertificateSource::Generated);
    let decision = decide(
        &off,
        &RenewalState::default(),
        Some(&certificate),
        TWO_THIRDS_POINT,
    );
    assert_eq!(decision, RenewalDecision::Disabled);
    assert_eq!(decision.next_renewal_at(), None);
}

#[test]
fn a_failure_a_retry_cannot_help_needs_an_administrator_not_backoff() {
    let certificate = active(CertificateSource::Generated);
    let failed_at = TWO_THIRDS_POINT;
    assert_eq!(
        decide(
            &no_jitter(),
            &failed(1, failed_at, false),
            Some(&certificate),
            failed_at + Duration::days(1)
        ),
        RenewalDecision::NeedsAdministrator {
            reason: AdministratorReason::RefusedByDirectory
        }
    );
}

#[test]
fn the_fraction_is_parsed_exactly_and_bad_policies_name_their_field() {
    assert_eq!(
        "2/3".parse::<RenewAtFraction>(),
        Ok(RenewAtFraction::TWO_THIRDS)
    );
    assert_eq!(RenewAtFraction::TWO_THIRDS.to_string(), "2/3");
    for bad in [
        "", "2", "3/2", "0/3", "1/0", "+1/2", "1/1001", "a/b", "1/2/3",
    ] {
        let error = bad.parse::<RenewAtFraction>().unwrap_err();
        assert_eq!(error.field, "renew_at_fraction", "{bad:?}");
    }
    assert_eq!(RenewalPolicy::default().validate(), Ok(()));
    let cases = [
        (
            RenewalPolicy {
                lifetime_days: Some(0),
                ..RenewalPolicy::default()
            },
            "lifetime_days",
        ),
        (
            RenewalPolicy {
                tenant_max_lifetime_days: Some(4000),
                ..RenewalPolicy::default()
            },
            "tenant_max_lifetime_days",
        ),
        (
            RenewalPolicy {
                jitter: Duration::seconds(-1),
                ..RenewalPolicy::default()
            },
            "jitter_seconds",
        ),
        (
            RenewalPolicy {
                backoff_base: Duration::ZERO,
                ..RenewalPolicy::default()
            },
            "backoff_base_seconds",
        ),
        (
            RenewalPolicy {
                backoff_cap: Duration::minutes(1),
                ..RenewalPolicy::default()
            },
            "backoff_cap_seconds",
        ),
    ];
    for (policy, field) in cases {
        assert_eq!(policy.validate().map_err(|e| e.field), Err(field));
    }
    for uploaded in UploadedCertificates::ALL {
        assert_eq!(
            uploaded.as_str().parse::<UploadedCertificates>(),
            Ok(*uploaded)
        );
    }
}

#[test]
fn a_refusal_a_retry_cannot_help_is_reported_before_renewal_is_due() {
    // A Rotate now long before the planned time was refused by a tenant policy: the
    // administrator hears it now, not at the planned time.
    let policy = no_jitter();
    let cert = active(CertificateSource::Generated);
    let early = NOT_BEFORE + Duration::days(10);
    assert_eq!(
        decide(&policy, &failed(1, early, false), Some(&cert), early),
        RenewalDecision::NeedsAdministrator {
            reason: AdministratorReason::RefusedByDirectory
        }
    );
    // A retryable failure before the due time leaves the plan as it was.
    assert_eq!(
        decide(&policy, &failed(1, early, true), Some(&cert), early),
        RenewalDecision::NotDue {
            at: TWO_THIRDS_POINT
        }
    );
}

#[test]
fn retry_after_longer_than_the_backoff_holds_the_next_attempt() {
    let policy = no_jitter();
    let cert = active(CertificateSource::Generated);
    let at = TWO_THIRDS_POINT + Duration::hours(1);
    let asked = at + Duration::hours(1);
    let throttled = RenewalState {
        retry_not_before: Some(asked),
        ..failed(1, at, true)
    };
    assert_eq!(
        decide(&policy, &throttled, Some(&cert), at + Duration::minutes(10)),
        RenewalDecision::BackingOff { until: asked },
        "the 5-minute backoff has passed, Graph's hour has not"
    );
    assert_eq!(
        decide(&policy, &throttled, Some(&cert), asked),
        RenewalDecision::Due
    );
    // A Retry-After shorter than the backoff changes nothing.
    let brief = RenewalState {
        retry_not_before: Some(at + Duration::seconds(1)),
        ..failed(1, at, true)
    };
    assert_eq!(
        decide(&policy, &brief, Some(&cert), at + Duration::minutes(1)),
        RenewalDecision::BackingOff {
            until: at + DEFAULT_BACKOFF_BASE
        }
    );
}
