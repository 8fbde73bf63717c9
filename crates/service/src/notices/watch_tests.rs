use super::*;
use crate::cloud::Cloud;
use crate::model::{CertificateId, CertificateSource, NewOrganization, OrganizationId};
use crate::proof::{CredentialProof, ProofSource};
use crate::renewal::{RenewalPolicy, RenewalRecord, UploadedCertificates};
use time::macros::datetime;

const END: OffsetDateTime = datetime!(2027-01-31 12:00 UTC);
const THRESHOLDS: [u32; 4] = [30, 14, 7, 1];

fn certificate(organization: OrganizationId) -> StoredCertificate {
    StoredCertificate {
        id: CertificateId::new(),
        organization,
        source: CertificateSource::Generated,
        subject: "CN=tenantlink Contoso".into(),
        sha1_thumbprint: "AB".repeat(20),
        sha256_thumbprint: "CD".repeat(32),
        not_before: END - Duration::days(90),
        not_after: END,
        der: Vec::new(),
        state: CertificateState::Active,
        created_at: END - Duration::days(90),
        activated_at: Some(END - Duration::days(90)),
        retired_at: None,
        key_removed_at: None,
        last_proof: None,
    }
}

/// Contoso with an active certificate ending at END, automatic renewal off (so rotation never
/// replaces it and only the thresholds speak).
fn record() -> FleetRecord {
    let organization = NewOrganization {
        name: "Contoso".into(),
        tenant: "contoso.onmicrosoft.com".into(),
        cloud: Cloud::Sandbox,
        app_id: "app".into(),
    }
    .added(OrganizationId::new(), END - Duration::days(100));
    let active = certificate(organization.id);
    FleetRecord {
        organization: crate::model::Organization {
            active_certificate: Some(active.id),
            ..organization
        },
        active: Some(active),
        renewal: RenewalRecord {
            policy: RenewalPolicy {
                automatic: false,
                ..RenewalPolicy::default()
            },
            ..RenewalRecord::default()
        },
        last_backup: None,
    }
}

fn due(record: &FleetRecord, now: OffsetDateTime) -> Vec<NewNotice> {
    due_notices(
        record,
        &THRESHOLDS,
        &PortalLinks::new(Some("https://tl.example")),
        now,
    )
}

fn occurrences(notices: &[NewNotice]) -> Vec<String> {
    notices.iter().map(|n| n.occurrence.clone()).collect()
}

#[test]
fn nothing_is_due_before_the_largest_threshold() {
    let record = record();
    assert!(due(&record, END - Duration::days(31)).is_empty());
    assert!(due(&record, END - Duration::days(30) - Duration::seconds(1)).is_empty());
}

#[test]
fn each_threshold_names_its_certificate_and_days() {
    let record = record();
    let id = record.active.as_ref().unwrap().id;
    for (days, expected) in [(30, 30), (20, 30), (14, 14), (8, 14), (7, 7), (1, 1)] {
        let now = END - Duration::days(days);
        let notices = due(&record, now);
        assert_eq!(
            occurrences(&notices),
            [format!("certificate.expiring:{id}:{expected}")],
            "{days} days before the end"
        );
        let notice = &notices[0];
        assert_eq!(notice.event_type, EventType::CertificateExpiring);
        assert_eq!(notice.organization, Some(record.organization.id));
        assert_eq!(notice.occurred_at, now);
        assert_eq!(notice.data.threshold_days, Some(expected));
        assert_eq!(notice.data.days_left, Some(days));
        let cert = notice.data.certificate.as_ref().unwrap();
        assert_eq!(cert.sha1_thumbprint, "AB".repeat(20));
        assert_eq!(cert.not_after, END);
        assert_eq!(notice.data.organization.as_ref().unwrap().name, "Contoso");
        assert_eq!(
            notice.data.link,
            format!(
                "https://tl.example/organizations/{}/settings/system",
                record.organization.id
            )
        );
        assert!(
            notice.data.reason.contains("Contoso"),
            "{}",
            notice.data.reason
        );
        let what = notice.data.what_to_do.as_deref().unwrap();
        assert!(what.contains("Automatic renewal is off"), "{what}");
    }
}

#[test]
fn a_jump_past_several_thresholds_gives_only_the_smallest() {
    let record = record();
    let id = record.active.as_ref().unwrap().id;
    assert_eq!(
        occurrences(&due(&record, END - Duration::days(3))),
        [format!("certificate.expiring:{id}:7")]
    );
    assert_eq!(
        crossed_threshold(END, &[1, 30, 7], END - Duration::days(5)),
        Some(7)
    );
    assert_eq!(crossed_threshold(END, &[], END - Duration::days(5)), None);
}

#[test]
fn an_expired_certificate_says_expired_once_and_nothing_else() {
    let mut record = record();
    let active = record.active.as_mut().unwrap();
    active.last_proof = Some(CredentialProof {
        outcome: ProofOutcome::KeyNotRegistered,
        source: ProofSource::BackupRun,
        checked_at: END - Duration::days(2),
        detail: Some("AADSTS700027".into()),
    });
    let id = active.id;
    for later in [Duration::ZERO, Duration::days(40)] {
        let notices = due(&record, END + later);
        assert_eq!(occurrences(&notices), [format!("certificate.expired:{id}")]);
        assert_eq!(notices[0].event_type, EventType::CertificateExpired);
        assert!(notices[0].data.days_left.unwrap() <= 0);
    }
}

#[test]
fn a_certificate_rotation_replaced_sends_nothing() {
    let mut record = record();
    // Rotation retired the expiring one; the new active certificate ends far later.
    let replacement = StoredCertificate {
        not_before: END - Duration::days(20),
        not_after: END + Duration::days(345),
        ..certificate(record.organization.id)
    };
    record.organization.active_certificate = Some(replacement.id);
    record.active = Some(replacement);
    assert!(due(&record, END - Duration::days(10)).is_empty());
    assert!(due(&record, END + Duration::days(1)).is_empty());
    // A record without an active certificate (never connected) says nothing either.
    record.active = None;
    assert!(due(&record, END + Duration::days(1)).is_empty());
    // Nor one whose only certificate is no longer active.
    let mut retired = certificate(record.organization.id);
    retired.state = CertificateState::Retired;
    record.active = Some(retired);
    assert!(due(&record, END - Duration::days(1)).is_empty());
}

#[test]
fn a_missing_key_is_not_attached_once_per_certificate() {
    let mut record = record();
    let active = record.active.as_mut().unwrap();
    let id = active.id;
    active.last_proof = Some(CredentialProof {
        outcome: ProofOutcome::KeyNotRegistered,
        source: ProofSource::ConnectionCheck,
        checked_at: END - Duration::days(60),
        detail: Some("AADSTS700027: key not found".into()),
    });
    let first = due(&record, END - Duration::days(60));
    assert_eq!(
        occurrences(&first),
        [format!("certificate.not_attached:{id}")]
    );
    assert!(first[0].data.reason.contains("AADSTS700027: key not found"));
    // A later refused proof (the next backup run) is the same occurrence.
    record
        .active
        .as_mut()
        .unwrap()
        .last_proof
        .as_mut()
        .unwrap()
        .checked_at = END - Duration::days(59);
    assert_eq!(
        occurrences(&due(&record, END - Duration::days(59))),
        occurrences(&first)
    );
    // An accepted proof says nothing.
    record
        .active
        .as_mut()
        .unwrap()
        .last_proof
        .as_mut()
        .unwrap()
        .outcome = ProofOutcome::Accepted;
    assert!(due(&record, END - Duration::days(59)).is_empty());
}

#[test]
fn an_uploaded_certificate_due_for_renewal_under_warn_only_needs_an_administrator() {
    let mut record = record();
    record.renewal.policy = RenewalPolicy {
        automatic: true,
        jitter: Duration::ZERO,
        uploaded: UploadedCertificates::WarnOnly,
        ..RenewalPolicy::default()
    };
    let active = record.active.as_mut().unwrap();
    active.source = CertificateSource::Uploaded;
    let id = active.id;
    // Two thirds of 90 days: due 30 days before the end; the 30-day threshold as well.
    let notices = due(&record, END - Duration::days(30));
    assert_eq!(
        occurrences(&notices),
        [
            format!("certificate.expiring:{id}:30"),
            format!("rotation.needs_administrator:{id}:uploaded"),
        ]
    );
    assert!(
        notices[0]
            .data
            .what_to_do
            .as_deref()
            .unwrap()
            .contains("uploaded")
    );
    // Before renewal is due: nothing.
    assert!(due(&record, END - Duration::days(31)).is_empty());
}

#[test]
fn what_to_do_follows_why_rotation_has_not_replaced_it() {
    let mut record = record();
    record.renewal.policy.automatic = true;
    record.renewal.policy.jitter = Duration::ZERO;
    record.renewal.state = crate::renewal::RenewalState {
        failed_attempts: 2,
        last_attempt_at: Some(END - Duration::days(14)),
        last_failure: Some(crate::renewal::RenewalFailure {
            at: END - Duration::days(14),
            code: "directory_unavailable".into(),
            message: "Graph answered 503".into(),
            retryable: true,
        }),
        next_renewal_at: None,
        retry_not_before: None,
    };
    let notices = due(&record, END - Duration::days(14));
    let what = notices[0].data.what_to_do.as_deref().unwrap();
    assert!(what.contains("Rotation failed 2 time(s)"), "{what}");
    assert!(
        what.contains("directory_unavailable: Graph answered 503"),
        "{what}"
    );
}
