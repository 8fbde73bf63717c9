use super::*;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tenantlink_clock::ManualClock;
use tenantlink_service::fleet::{FleetCache, FleetRecord, FleetRepository, FleetRevision};
use tenantlink_service::observe::{DeliveryOutcome, RotationAttempt, ServiceObserver};
use tenantlink_service::renewal::RenewalRecord;
use tenantlink_service::{
    BoxFuture, CertificateId, CertificateSource, CertificateState, Cloud, NewOrganization,
    OrganizationId, RepoResult, RunStatus, StoredCertificate,
};
use time::macros::datetime;
use tower::ServiceExt;

const NOW: time::OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

#[derive(Debug)]
struct Snapshot(Vec<FleetRecord>);

/// A fleet that never changes: every revision stays 0.
impl FleetRepository for Snapshot {
    fn fleet_snapshot(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRecord>>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }

    fn fleet_revisions(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRevision>>> {
        let revisions = self
            .0
            .iter()
            .map(|record| FleetRevision {
                organization: record.organization.id,
                revision: 0,
            })
            .collect();
        Box::pin(async move { Ok(revisions) })
    }

    fn fleet_records<'a>(
        &'a self,
        organizations: &'a [OrganizationId],
    ) -> BoxFuture<'a, RepoResult<Vec<FleetRecord>>> {
        let records = self
            .0
            .iter()
            .filter(|record| organizations.contains(&record.organization.id))
            .cloned()
            .collect();
        Box::pin(async move { Ok(records) })
    }
}

fn record(name: &str, not_after: Option<time::OffsetDateTime>) -> FleetRecord {
    let id = OrganizationId::new();
    let organization = NewOrganization {
        name: name.into(),
        tenant: format!("{name}.onmicrosoft.com"),
        cloud: Cloud::Global,
        app_id: "11111111-2222-3333-4444-555555555555".into(),
    }
    .added(id, NOW);
    let active = not_after.map(|not_after| StoredCertificate {
        id: CertificateId::new(),
        organization: id,
        source: CertificateSource::Generated,
        subject: format!("CN={name}"),
        sha1_thumbprint: "AB".repeat(20),
        sha256_thumbprint: "CD".repeat(32),
        not_before: datetime!(2026-01-01 00:00 UTC),
        not_after,
        der: Vec::new(),
        state: CertificateState::Active,
        created_at: NOW,
        activated_at: Some(NOW),
        retired_at: None,
        key_removed_at: None,
        last_proof: None,
    });
    FleetRecord {
        organization,
        active,
        renewal: RenewalRecord::default(),
        last_backup: None,
    }
}

fn state(records: Vec<FleetRecord>, token: Option<&str>) -> MetricsState {
    MetricsState {
        fleet: FleetCache::new(Arc::new(Snapshot(records))),
        clock: Arc::new(ManualClock::at(NOW)),
        counters: Arc::new(Counters::default()),
        bearer_token: token.map(SecretString::new),
        expiring_soon: Duration::days(30),
    }
}

async fn get(state: MetricsState, authorization: Option<&str>) -> (StatusCode, String, String) {
    let mut request = Request::get("/metrics");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = router(state)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

/// The sample lines of `name` (exactly that metric name).
fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| line.split(['{', ' ']).next() == Some(name))
        .collect()
}

/// The value at the end of a sample line.
fn value(line: &str) -> f64 {
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn each_organization_shows_its_certificate_end_renewal_and_states() {
    let healthy = record("contoso", Some(datetime!(2027-01-01 00:00 UTC)));
    let expiring = record("fabrikam", Some(datetime!(2026-06-10 00:00 UTC)));
    let none = record("northwind", None);
    let contoso_id = healthy.organization.id;
    let (status, content_type, text) = get(state(vec![healthy, expiring, none], None), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, OPENMETRICS_CONTENT_TYPE);
    assert!(text.ends_with("# EOF\n"), "{text}");

    let expiration = samples(&text, "tenantlink_certificate_expiration_timestamp_seconds");
    let contoso = format!(
        "tenantlink_certificate_expiration_timestamp_seconds{{organization_id=\"{contoso_id}\",organization=\"contoso\",tenant=\"contoso.onmicrosoft.com\"}} "
    );
    let line = expiration
        .iter()
        .find(|line| line.starts_with(&contoso))
        .unwrap_or_else(|| panic!("{contoso}: {expiration:#?}"));
    assert_eq!(
        value(line),
        datetime!(2027-01-01 00:00 UTC).unix_timestamp() as f64
    );
    // No certificate, no end: northwind has no expiration series.
    assert_eq!(expiration.len(), 2, "{expiration:#?}");

    let states = samples(&text, "tenantlink_certificate_state");
    assert_eq!(states.len(), 3, "one series per organization: {states:#?}");
    for (organization, state) in [
        ("contoso", "valid"),
        ("fabrikam", "expiring_soon"),
        ("northwind", "none"),
    ] {
        assert!(
            states.iter().any(
                |line| line.contains(&format!("organization=\"{organization}\""))
                    && line.contains(&format!("state=\"{state}\""))
                    && line.ends_with(" 1")
            ),
            "{organization} {state}: {states:#?}"
        );
    }
    let ready = samples(&text, "tenantlink_certificate_ready_status");
    assert!(
        ready
            .iter()
            .any(|l| l.contains("\"northwind\"") && l.contains("condition=\"False\""))
    );
    assert!(
        ready
            .iter()
            .any(|l| l.contains("\"contoso\"") && l.contains("condition=\"True\""))
    );
    let renewal_state = samples(&text, "tenantlink_renewal_state");
    assert!(
        renewal_state
            .iter()
            .any(|l| l.contains("\"northwind\"") && l.contains("state=\"needs_administrator\""))
    );
    assert!(
        renewal_state
            .iter()
            .any(|l| l.contains("\"contoso\"") && l.contains("state=\"not_due\""))
    );
    let clock = samples(&text, "tenantlink_clock_time_seconds");
    assert_eq!(clock.len(), 1);
    assert_eq!(value(clock[0]), NOW.unix_timestamp() as f64);
    assert_eq!(
        samples(&text, "tenantlink_organizations"),
        ["tenantlink_organizations 3"]
    );
}

#[tokio::test]
async fn renewal_is_planned_inside_the_lifetime_and_only_while_automatic() {
    let mut manual = record("manual", Some(datetime!(2027-01-01 00:00 UTC)));
    manual.renewal.policy.automatic = false;
    let automatic = record("automatic", Some(datetime!(2027-01-01 00:00 UTC)));
    let (_, _, text) = get(state(vec![manual, automatic], None), None).await;
    let renewal = samples(&text, "tenantlink_certificate_renewal_timestamp_seconds");
    assert_eq!(renewal.len(), 1, "{renewal:#?}");
    assert!(renewal[0].contains("organization=\"automatic\""));
    let at = value(renewal[0]);
    // Two thirds of 2026-01-01 .. 2027-01-01, less at most the day of jitter.
    let planned = datetime!(2026-09-01 08:00 UTC).unix_timestamp() as f64;
    assert!(
        at <= planned && at >= planned - 86_400.0,
        "{at} vs {planned}"
    );
}

#[tokio::test]
async fn a_label_value_with_quotes_is_escaped() {
    let odd = record(
        "a \"quoted\" \\ name",
        Some(datetime!(2027-01-01 00:00 UTC)),
    );
    let (_, _, text) = get(state(vec![odd], None), None).await;
    assert!(
        text.contains(r#"organization="a \"quoted\" \\ name""#),
        "{text}"
    );
}

#[tokio::test]
async fn the_bearer_token_is_enforced_when_set() {
    let records = vec![record("contoso", Some(datetime!(2027-01-01 00:00 UTC)))];
    let (status, _, _) = get(state(records.clone(), Some("s3cret")), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = get(
        state(records.clone(), Some("s3cret")),
        Some("Bearer wrong!"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = get(state(records.clone(), Some("s3cret")), Some("Basic s3cret")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, text) = get(state(records, Some("s3cret")), Some("Bearer s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("tenantlink_certificate_expiration_timestamp_seconds{"));
}

#[tokio::test]
async fn counters_count_by_their_labels() {
    let state = state(Vec::new(), None);
    let counters = state.counters.clone();
    counters.rotation_attempt(RotationAttempt::Succeeded);
    counters.rotation_attempt(RotationAttempt::Failed {
        reason: "Directory_ResourceSizeExceeded",
    });
    counters.rotation_attempt(RotationAttempt::Failed {
        reason: "Directory_ResourceSizeExceeded",
    });
    counters.backup_run(RunStatus::Success);
    counters.notice_delivery(
        tenantlink_service::notices::DeliveryChannel::Webhook,
        DeliveryOutcome::Retrying,
    );
    counters.microsoft_call(
        "graph",
        "applications/{id}/addKey",
        "200",
        std::time::Duration::from_millis(30),
    );
    counters.token_cache("hit");
    let (_, _, text) = get(state, None).await;
    for expected in [
        r#"tenantlink_rotation_attempts_total{outcome="succeeded"} 1"#,
        r#"tenantlink_rotation_attempts_total{outcome="failed"} 2"#,
        r#"tenantlink_rotation_failures_total{reason="Directory_ResourceSizeExceeded"} 2"#,
        r#"tenantlink_backup_runs_total{outcome="success"} 1"#,
        r#"tenantlink_notice_deliveries_total{channel="webhook",outcome="retrying"} 1"#,
        r#"tenantlink_microsoft_requests_total{service="graph",endpoint="applications/{id}/addKey",outcome="200"} 1"#,
        r#"tenantlink_microsoft_request_duration_seconds_count{service="graph",endpoint="applications/{id}/addKey"} 1"#,
        r#"tenantlink_token_cache_lookups_total{result="hit"} 1"#,
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert!(text.ends_with("# EOF\n"));
    assert_eq!(text.matches("# EOF").count(), 1);
}
