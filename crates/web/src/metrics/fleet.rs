//! The fleet's gauges, computed at scrape time from the [`FleetCache`]'s snapshot (a constant
//! number of queries, whatever the number of organizations) and the clock's now.
//! Names and label style follow cert-manager's `certmanager_certificate_*` metrics, so its
//! alert rules carry over with the prefix changed.
//!
//! A state gauge has one series per organization: the current state, with value 1 (not one
//! series per possible state with 0 or 1, as cert-manager's `ready_status` has): a fleet of
//! 10,000 organizations stays at a few lines each. A state that ends goes stale at the next
//! scrape, which is what `== 1` alerts need.
//!
//! [`FleetCache`]: tenantlink_service::fleet::FleetCache

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use std::fmt;
use std::sync::Arc;
use tenantlink_service::CertificateStatus;
use tenantlink_service::fleet::{FleetRecord, FleetSnapshot};
use tenantlink_service::renewal::{
    RenewalSituation, active_certificate, jitter_seed, renewal_decision, renewal_due_at,
};
use time::{Duration, OffsetDateTime};

/// What one organization shows, derived from its record at `now`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct OrganizationGauges {
    /// The active certificate's end, if it has one.
    pub expiration: Option<OffsetDateTime>,
    /// When renewal is planned (the renewal policy's share of the lifetime, less the jitter):
    /// only while automatic renewal is on and a certificate is active.
    pub renewal: Option<OffsetDateTime>,
    pub certificate_state: CertificateStatus,
    /// The renewal decision's state (`not_due`, `due`, `backing_off`, `needs_administrator`,
    /// `disabled`).
    pub renewal_state: &'static str,
}

impl OrganizationGauges {
    pub(super) fn of(record: &FleetRecord, now: OffsetDateTime, warning: Duration) -> Self {
        let active = record.active.as_ref();
        let certificate_state = active.map_or(CertificateStatus::None, |certificate| {
            CertificateStatus::of(certificate, now, warning)
        });
        let view =
            active.and_then(|certificate| active_certificate(std::slice::from_ref(certificate)));
        let policy = &record.renewal.policy;
        let decision = renewal_decision(
            RenewalSituation {
                organization: record.organization.id,
                policy,
                state: &record.renewal.state,
                active: view.as_ref(),
            },
            now,
        );
        let renewal = view.as_ref().filter(|_| policy.automatic).map(|active| {
            let seed = jitter_seed(record.organization.id, &active.sha1_thumbprint);
            renewal_due_at(active.not_before, active.not_after, policy, seed)
        });
        Self {
            expiration: active.map(|certificate| certificate.not_after),
            renewal,
            certificate_state,
            renewal_state: decision.as_str(),
        }
    }

    /// Ready as cert-manager means it: a certificate is active and usable (valid or expiring
    /// soon, not refused by Entra).
    fn ready(&self) -> &'static str {
        match self.certificate_state {
            CertificateStatus::Valid | CertificateStatus::ExpiringSoon => "True",
            CertificateStatus::Expired
            | CertificateStatus::NotAttached
            | CertificateStatus::None => "False",
        }
    }
}

/// A registry with the fleet's gauges at `now`, to encode beside the process's counters.
pub(super) fn registry(records: FleetSnapshot, now: OffsetDateTime, warning: Duration) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(FleetCollector::new(records, now, warning)));
    registry
}

/// The fleet's series, written family by family straight from the snapshot through the
/// crate's encoder (which escapes and formats them). Not `Family::get_or_create`: that builds a
/// hash map of owned label sets only to encode it once, which was most of a 10,000-organization
/// scrape (docs/PERFORMANCE.md, "Fleet view").
#[derive(Debug)]
struct FleetCollector {
    now: OffsetDateTime,
    organizations: Vec<Series>,
}

/// One organization's labels and gauges.
#[derive(Debug)]
struct Series {
    id: String,
    record: Arc<FleetRecord>,
    gauges: OrganizationGauges,
}

impl Series {
    fn labels(&self) -> [(&'static str, &str); 3] {
        let organization = &self.record.organization;
        [
            ("organization_id", self.id.as_str()),
            ("organization", organization.name.as_str()),
            ("tenant", organization.tenant.as_str()),
        ]
    }

    /// The organization's labels and one more.
    fn labels_and<'a>(&'a self, key: &'static str, value: &'a str) -> [(&'static str, &'a str); 4] {
        let [id, name, tenant] = self.labels();
        [id, name, tenant, (key, value)]
    }
}

impl FleetCollector {
    fn new(records: FleetSnapshot, now: OffsetDateTime, warning: Duration) -> Self {
        let organizations = records
            .iter()
            .cloned()
            .map(|record| Series {
                id: record.organization.id.to_string(),
                gauges: OrganizationGauges::of(&record, now, warning),
                record,
            })
            .collect();
        Self { now, organizations }
    }

    /// One timestamp family: a series for each organization that has a value.
    fn timestamps(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        value: impl Fn(&OrganizationGauges) -> Option<OffsetDateTime>,
    ) -> fmt::Result {
        let mut family =
            encoder.encode_descriptor(name, help, Some(&Unit::Seconds), MetricType::Gauge)?;
        for series in &self.organizations {
            if let Some(at) = value(&series.gauges) {
                family
                    .encode_family(&series.labels())?
                    .encode_gauge(&unix_seconds(at))?;
            }
        }
        Ok(())
    }

    /// One state family: for each organization, the series of its current value, at 1.
    fn states(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        key: &'static str,
        value: impl Fn(&OrganizationGauges) -> &'static str,
    ) -> fmt::Result {
        let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for series in &self.organizations {
            family
                .encode_family(&series.labels_and(key, value(&series.gauges)))?
                .encode_gauge(&1i64)?;
        }
        Ok(())
    }
}

impl Collector for FleetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        encoder
            .encode_descriptor(
                "tenantlink_clock_time",
                "The service's clock (what expiry is judged against), as a Unix time; cert-manager's certmanager_clock_time_seconds",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?
            .encode_gauge(&unix_seconds(self.now))?;
        encoder
            .encode_descriptor(
                "tenantlink_organizations",
                "Organizations tenantlink manages",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&i64::try_from(self.organizations.len()).unwrap_or(i64::MAX))?;
        self.timestamps(
            &mut encoder,
            "tenantlink_certificate_expiration_timestamp",
            "When the organization's active certificate expires (its notAfter), as a Unix time",
            |gauges| gauges.expiration,
        )?;
        self.timestamps(
            &mut encoder,
            "tenantlink_certificate_renewal_timestamp",
            "When renewal of the active certificate is planned, as a Unix time (only while automatic renewal is on)",
            |gauges| gauges.renewal,
        )?;
        self.states(
            &mut encoder,
            "tenantlink_certificate_ready_status",
            "1 for the organization's Ready condition: True when its active certificate is valid and attached, else False",
            "condition",
            OrganizationGauges::ready,
        )?;
        self.states(
            &mut encoder,
            "tenantlink_certificate_state",
            "1 for the state of the organization's active certificate (valid, expiring_soon, expired, not_attached, none)",
            "state",
            |gauges| gauges.certificate_state.as_str(),
        )?;
        self.states(
            &mut encoder,
            "tenantlink_renewal_state",
            "1 for the organization's renewal state (not_due, due, backing_off, needs_administrator, disabled)",
            "state",
            |gauges| gauges.renewal_state,
        )
    }
}

/// Whole seconds: certificate dates have no fraction, and an exact integer compares equal to
/// the certificate's end in any parser.
fn unix_seconds(at: OffsetDateTime) -> f64 {
    at.unix_timestamp() as f64
}
