//! The fleet's gauges, computed at scrape time from one [`FleetRepository::fleet_snapshot`]
//! (a constant number of queries, whatever the number of organizations) and the clock's now.
//! Names and label style follow cert-manager's `certmanager_certificate_*` metrics, so its
//! alert rules carry over with the prefix changed.
//!
//! A state gauge has one series per organization: the current state, with value 1 (not one
//! series per possible state with 0 or 1, as cert-manager's `ready_status` has): a fleet of
//! 10,000 organizations stays at a few lines each. A state that ends goes stale at the next
//! scrape, which is what `== 1` alerts need.
//!
//! [`FleetRepository::fleet_snapshot`]: tenantlink_service::fleet::FleetRepository::fleet_snapshot

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use tenantlink_service::CertificateStatus;
use tenantlink_service::fleet::FleetRecord;
use tenantlink_service::renewal::{
    RenewalSituation, active_certificate, jitter_seed, renewal_decision, renewal_due_at,
};
use time::{Duration, OffsetDateTime};

type Seconds = Gauge<f64, AtomicU64>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OrganizationLabels {
    organization_id: String,
    organization: String,
    tenant: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    organization_id: String,
    organization: String,
    tenant: String,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabels {
    organization_id: String,
    organization: String,
    tenant: String,
    condition: &'static str,
}

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
pub(super) fn registry(
    records: &[FleetRecord],
    now: OffsetDateTime,
    warning: Duration,
) -> Registry {
    let mut registry = Registry::default();
    let organizations = Gauge::<i64>::default();
    let expiration = Family::<OrganizationLabels, Seconds>::default();
    let renewal = Family::<OrganizationLabels, Seconds>::default();
    let ready = Family::<ConditionLabels, Gauge>::default();
    let state = Family::<StateLabels, Gauge>::default();
    let renewal_state = Family::<StateLabels, Gauge>::default();
    for record in records {
        let gauges = OrganizationGauges::of(record, now, warning);
        let organization = &record.organization;
        let labels = OrganizationLabels {
            organization_id: organization.id.to_string(),
            organization: organization.name.clone(),
            tenant: organization.tenant.clone(),
        };
        let with_state = |state: &'static str| StateLabels {
            organization_id: labels.organization_id.clone(),
            organization: labels.organization.clone(),
            tenant: labels.tenant.clone(),
            state,
        };
        if let Some(at) = gauges.expiration {
            expiration.get_or_create(&labels).set(unix_seconds(at));
        }
        if let Some(at) = gauges.renewal {
            renewal.get_or_create(&labels).set(unix_seconds(at));
        }
        ready
            .get_or_create(&ConditionLabels {
                organization_id: labels.organization_id.clone(),
                organization: labels.organization.clone(),
                tenant: labels.tenant.clone(),
                condition: gauges.ready(),
            })
            .set(1);
        state
            .get_or_create(&with_state(gauges.certificate_state.as_str()))
            .set(1);
        renewal_state
            .get_or_create(&with_state(gauges.renewal_state))
            .set(1);
    }
    organizations.set(i64::try_from(records.len()).unwrap_or(i64::MAX));
    let clock = Seconds::default();
    clock.set(unix_seconds(now));
    registry.register_with_unit(
        "tenantlink_clock_time",
        "The service's clock (what expiry is judged against), as a Unix time; cert-manager's certmanager_clock_time_seconds",
        Unit::Seconds,
        clock,
    );
    registry.register(
        "tenantlink_organizations",
        "Organizations tenantlink manages",
        organizations,
    );
    registry.register_with_unit(
        "tenantlink_certificate_expiration_timestamp",
        "When the organization's active certificate expires (its notAfter), as a Unix time",
        Unit::Seconds,
        expiration,
    );
    registry.register_with_unit(
        "tenantlink_certificate_renewal_timestamp",
        "When renewal of the active certificate is planned, as a Unix time (only while automatic renewal is on)",
        Unit::Seconds,
        renewal,
    );
    registry.register(
        "tenantlink_certificate_ready_status",
        "1 for the organization's Ready condition: True when its active certificate is valid and attached, else False",
        ready,
    );
    registry.register(
        "tenantlink_certificate_state",
        "1 for the state of the organization's active certificate (valid, expiring_soon, expired, not_attached, none)",
        state,
    );
    registry.register(
        "tenantlink_renewal_state",
        "1 for the organization's renewal state (not_due, due, backing_off, needs_administrator, disabled)",
        renewal_state,
    );
    registry
}

/// Whole seconds: certificate dates have no fraction, and an exact integer compares equal to
/// the certificate's end in any parser.
fn unix_seconds(at: OffsetDateTime) -> f64 {
    at.unix_timestamp() as f64
}
