use super::*;
use crate::certificate_page::CertificateStatus;
use crate::cloud::Cloud;
use crate::error::ServiceError;
use crate::model::{
    CertificateId, CertificateSource, CertificateState, ConnectionState, NewOrganization,
    Organization, OrganizationId, StoredCertificate,
};
use crate::proof::{CredentialProof, ProofOutcome, ProofSource};
use crate::renewal::{RenewalFailure, RenewalRecord, RenewalState};
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub(super) const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
const WARNING: Duration = Duration::days(30);

/// An organization whose generated certificate was issued `age` days ago and ends in `left`
/// days, never failed, connected.
fn record(name: &str, tenant: &str, age: i64, left: i64) -> FleetRecord {
    let organization = NewOrganization {
        name: name.into(),
        tenant: tenant.into(),
        cloud: Cloud::Sandbox,
        app_id: "11111111-2222-3333-4444-555555555555".into(),
    }
    .added(OrganizationId::new(), NOW - Duration::days(400));
    let certificate = StoredCertificate {
        id: CertificateId::new(),
        organization: organization.id,
        source: CertificateSource::Generated,
        subject: format!("CN={name}"),
        sha1_thumbprint: format!("{:0>40}", name.len()),
        sha256_thumbprint: format!("{:0>64}", name.len()),
        not_before: NOW - Duration::days(age),
        not_after: NOW + Duration::days(left),
        der: Vec::new(),
        state: CertificateState::Active,
        created_at: NOW - Duration::days(age),
        activated_at: Some(NOW - Duration::days(age)),
        retired_at: None,
        key_removed_at: None,
        last_proof: Some(CredentialProof::accepted(
            ProofSource::Activation,
            NOW - Duration::days(age),
        )),
    };
    FleetRecord {
        organization: Organization {
            active_certificate: Some(certificate.id),
            connection: ConnectionState::Connected,
            ..organization
        },
        active: Some(certificate),
        renewal: RenewalRecord::default(),
        last_backup: None,
    }
}

pub(super) fn healthy(name: &str) -> FleetRecord {
    record(
        name,
        &format!("{}.onmicrosoft.com", name.to_lowercase()),
        10,
        355,
    )
}

/// Past its renewal point (two thirds of 365 days), ending in `left` days.
fn due(name: &str, left: i64) -> FleetRecord {
    record(name, "due.onmicrosoft.com", 365 - left, left)
}

fn refused(mut record: FleetRecord, outcome: ProofOutcome) -> FleetRecord {
    if let Some(c) = record.active.as_mut() {
        c.last_proof = Some(CredentialProof {
            outcome,
            source: ProofSource::ConnectionCheck,
            checked_at: NOW - Duration::hours(1),
            detail: Some("AADSTS700027".into()),
        });
    }
    record
}

fn failing(mut record: FleetRecord, retryable: bool) -> FleetRecord {
    let at = NOW - Duration::minutes(5);
    record.renewal.state = RenewalState {
        failed_attempts: 1,
        last_attempt_at: Some(at),
        last_failure: Some(RenewalFailure {
            at,
            code: "ServiceUnavailable".into(),
            message: "try later".into(),
            retryable,
        }),
        ..RenewalState::default()
    };
    record
}

fn without_certificate(name: &str) -> FleetRecord {
    let mut record = healthy(name);
    record.active = None;
    record.organization.active_certificate = None;
    record.organization.connection = ConnectionState::Unknown;
    record
}

fn state_of(record: &FleetRecord) -> FleetState {
    assess(record, NOW, WARNING).state
}

#[test]
fn each_risk_class_comes_from_the_services_own_rules() {
    assert_eq!(state_of(&healthy("A")), FleetState::Healthy);
    assert_eq!(
        state_of(&record("A", "a.example", 400, -1)),
        FleetState::Expired
    );
    // Entra refusing the key as expired is expired, whatever the dates say.
    let refused_expired = refused(healthy("A"), ProofOutcome::KeyExpired);
    assert_eq!(state_of(&refused_expired), FleetState::Expired);
    let detached = refused(healthy("A"), ProofOutcome::KeyNotRegistered);
    assert_eq!(state_of(&detached), FleetState::NotAttached);
    assert_eq!(
        state_of(&failing(due("A", 100), false)),
        FleetState::NeedsAdministrator
    );
    let mut broken = refused(healthy("A"), ProofOutcome::Refused);
    broken.organization.connection = ConnectionState::Broken;
    assert_eq!(state_of(&broken), FleetState::NeedsAdministrator);
    assert_eq!(
        state_of(&failing(due("A", 100), true)),
        FleetState::RotationFailing
    );
    assert_eq!(state_of(&due("A", 15)), FleetState::Expiring);
    // Due but not yet in the warning window: rotation will handle it, nothing to worry about.
    assert_eq!(state_of(&due("A", 100)), FleetState::Healthy);
}

#[test]
fn an_organization_without_a_certificate_needs_an_administrator() {
    let assessment = assess(&without_certificate("New"), NOW, WARNING);
    assert_eq!(assessment.state, FleetState::NeedsAdministrator);
    assert_eq!(assessment.certificate, CertificateStatus::None);
    assert_eq!(
        assessment.renewal.administrator_reason(),
        Some(crate::renewal::AdministratorReason::NoActiveCertificate)
    );
}

#[test]
fn with_automatic_renewal_off_old_failures_are_not_a_failing_rotation() {
    let mut off = failing(due("A", 15), true);
    off.renewal.policy.automatic = false;
    assert_eq!(state_of(&off), FleetState::Expiring);
}

#[test]
fn the_clock_moves_an_organization_from_healthy_to_expiring_to_expired() {
    let organization = healthy("A");
    let at = |days: i64| assess(&organization, NOW + Duration::days(days), WARNING).state;
    assert_eq!(at(0), FleetState::Healthy);
    assert_eq!(at(355 - 30), FleetState::Expiring);
    assert_eq!(at(355), FleetState::Expired);
}

/// One organization in each class, shuffled, plus two healthy ones.
fn mixed_fleet() -> Vec<Arc<FleetRecord>> {
    [
        healthy("Zulu"),
        due("Expiring-late", 20),
        failing(due("Failing", 100), true),
        refused(healthy("Detached"), ProofOutcome::KeyNotRegistered),
        without_certificate("Brand new"),
        record("Gone", "gone.example", 400, -3),
        due("Expiring-soon", 5),
        healthy("alpha"),
        failing(due("Refused", 90), false),
    ]
    .map(Arc::new)
    .into()
}

fn names(page: &FleetPage) -> Vec<&str> {
    page.rows
        .iter()
        .map(|row| row.organization.name.as_str())
        .collect()
}

#[test]
fn the_first_page_is_in_risk_order_then_soonest_end_then_name() {
    let page = fleet_page(&mixed_fleet(), &FleetQuery::default(), NOW, WARNING);
    assert_eq!(
        names(&page),
        [
            "Gone",
            "Detached",
            // Both need an administrator; the one with a certificate ending comes first.
            "Refused",
            "Brand new",
            "Failing",
            "Expiring-soon",
            "Expiring-late",
            // Same end: by name, ignoring case ("Zulu" sorts before "alpha" byte by byte).
            "alpha",
            "Zulu",
        ]
    );
    assert_eq!(page.total, 9);
    let counts: Vec<(FleetState, usize)> = page.counts.iter().collect();
    assert_eq!(
        counts,
        [
            (FleetState::Expired, 1),
            (FleetState::NotAttached, 1),
            (FleetState::NeedsAdministrator, 2),
            (FleetState::RotationFailing, 1),
            (FleetState::Expiring, 2),
            (FleetState::Healthy, 2),
        ]
    );
    let first = &page.rows[0];
    assert_eq!(first.days_left, Some(-3));
    assert_eq!(first.certificate, CertificateStatus::Expired);
    assert_eq!(page.rows[3].days_left, None);
}

#[test]
fn filter_and_search_narrow_the_rows_and_total_but_not_the_counts() {
    let fleet = mixed_fleet();
    let query = FleetQuery::new(Some("expiring"), None, None, None).unwrap();
    let page = fleet_page(&fleet, &query, NOW, WARNING);
    assert_eq!(names(&page), ["Expiring-soon", "Expiring-late"]);
    assert_eq!(page.total, 2);
    assert_eq!(page.counts.fleet(), 9);
    assert_eq!(page.counts.get(FleetState::Healthy), 2);

    // By name, ignoring case; by tenant.
    let by_name = FleetQuery::new(None, Some("  ALPHA "), None, None).unwrap();
    assert_eq!(
        names(&fleet_page(&fleet, &by_name, NOW, WARNING)),
        ["alpha"]
    );
    let by_tenant = FleetQuery::new(None, Some("Due.OnMicrosoft"), None, None).unwrap();
    assert_eq!(fleet_page(&fleet, &by_tenant, NOW, WARNING).total, 4);
    // Both together.
    let both = FleetQuery::new(Some("healthy"), Some("due.on"), None, None).unwrap();
    let page = fleet_page(&fleet, &both, NOW, WARNING);
    assert_eq!(page.total, 0);
    assert!(page.rows.is_empty());
    assert_eq!(page.pages(), 1);
}

#[test]
fn pages_split_the_ordered_rows_without_overlap() {
    let fleet = mixed_fleet();
    let all = fleet_page(&fleet, &FleetQuery::default(), NOW, WARNING);
    let mut seen = Vec::new();
    for number in 1..=3 {
        let query = FleetQuery::new(None, None, Some(number), Some(4)).unwrap();
        let page = fleet_page(&fleet, &query, NOW, WARNING);
        assert_eq!((page.total, page.pages(), page.page), (9, 3, number));
        seen.extend(names(&page).into_iter().map(str::to_owned));
    }
    assert_eq!(seen, names(&all));
    let past_the_end = FleetQuery::new(None, None, Some(4), Some(4)).unwrap();
    assert!(
        fleet_page(&fleet, &past_the_end, NOW, WARNING)
            .rows
            .is_empty()
    );
}

#[test]
fn a_query_that_cannot_be_served_names_its_field() {
    let field = |result: Result<FleetQuery, ServiceError>| match result {
        Err(ServiceError::Invalid { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        field(FleetQuery::new(Some("broken"), None, None, None)),
        "state"
    );
    assert_eq!(field(FleetQuery::new(None, None, Some(0), None)), "page");
    assert_eq!(
        field(FleetQuery::new(None, None, None, Some(0))),
        "per_page"
    );
    let too_many = Some(MAX_PER_PAGE + 1);
    assert_eq!(
        field(FleetQuery::new(None, None, None, too_many)),
        "per_page"
    );
    let long = "x".repeat(MAX_SEARCH_BYTES + 1);
    assert_eq!(field(FleetQuery::new(None, Some(&long), None, None)), "q");
    // Empty values are "not given", as an HTML form sends them.
    assert_eq!(
        FleetQuery::new(Some(""), Some(" "), None, None).unwrap(),
        FleetQuery::default()
    );
    for state in FleetState::ALL {
        assert_eq!(FleetState::from_input(state.as_str()).unwrap(), state);
    }
}
