//! What happened since the process started: counters and a latency histogram, fed by the
//! service's and the Entra client's observer hooks. They live as long as the process; a
//! restart starts them at zero again, which Prometheus' `rate()` and `increase()` expect.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::time::Duration;
use tenantlink_service::RunStatus;
use tenantlink_service::notices::DeliveryChannel;
use tenantlink_service::observe::{DeliveryOutcome, RotationAttempt, ServiceObserver};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    service: &'static str,
    endpoint: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    service: &'static str,
    endpoint: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: &'static str,
}

/// Latency buckets from 10 ms to about 40 s: a token request takes tens of milliseconds, a
/// throttled Graph write with its retries tens of seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 13))
}

/// The process's counters, registered once.
#[derive(Debug)]
pub struct Counters {
    registry: Registry,
    rotation_attempts: Family<OutcomeLabels, Counter>,
    rotation_failures: Family<ReasonLabels, Counter>,
    backup_runs: Family<OutcomeLabels, Counter>,
    notice_deliveries: Family<DeliveryLabels, Counter>,
    requests: Family<CallLabels, Counter>,
    request_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    token_cache: Family<CacheLabels, Counter>,
}

impl Default for Counters {
    fn default() -> Self {
        let mut registry = Registry::default();
        let rotation_attempts = Family::default();
        registry.register(
            "tenantlink_rotation_attempts",
            "Renewal attempts (rotations) that ended, by outcome (succeeded, failed)",
            rotation_attempts.clone(),
        );
        let rotation_failures = Family::default();
        registry.register(
            "tenantlink_rotation_failures",
            "Failed renewal attempts by reason (Graph error code, AADSTS code or tenantlink's own code)",
            rotation_failures.clone(),
        );
        let backup_runs = Family::default();
        registry.register(
            "tenantlink_backup_runs",
            "Backup runs that ended, by outcome (success, warning, failed)",
            backup_runs.clone(),
        );
        let notice_deliveries = Family::default();
        registry.register(
            "tenantlink_notice_deliveries",
            "Notice delivery attempts by channel (webhook, email) and outcome (delivered, retrying, gave_up)",
            notice_deliveries.clone(),
        );
        let requests = Family::default();
        registry.register(
            "tenantlink_microsoft_requests",
            "Calls to Entra ID and Microsoft Graph (after retries) by service, endpoint and outcome (HTTP status or AADSTS code)",
            requests.clone(),
        );
        let request_duration = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "tenantlink_microsoft_request_duration",
            "Duration of calls to Entra ID and Microsoft Graph, retries and their waits included",
            Unit::Seconds,
            request_duration.clone(),
        );
        let token_cache = Family::default();
        registry.register(
            "tenantlink_token_cache_lookups",
            "App-only token requests answered from the cache (hit) or by Entra (miss)",
            token_cache.clone(),
        );
        Self {
            registry,
            rotation_attempts,
            rotation_failures,
            backup_runs,
            notice_deliveries,
            requests,
            request_duration,
            token_cache,
        }
    }
}

impl Counters {
    pub(super) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// One call to Entra (`service` = `entra`) or Graph (`graph`), as the transport reports it.
    pub fn microsoft_call(
        &self,
        service: &'static str,
        endpoint: &str,
        outcome: &str,
        elapsed: Duration,
    ) {
        self.requests
            .get_or_create(&CallLabels {
                service,
                endpoint: endpoint.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.request_duration
            .get_or_create(&RouteLabels {
                service,
                endpoint: endpoint.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// One token-cache lookup: `hit` or `miss`.
    pub fn token_cache(&self, result: &'static str) {
        self.token_cache
            .get_or_create(&CacheLabels { result })
            .inc();
    }
}

impl ServiceObserver for Counters {
    fn rotation_attempt(&self, attempt: RotationAttempt<'_>) {
        let outcome = match attempt {
            RotationAttempt::Succeeded => "succeeded",
            RotationAttempt::Failed { reason } => {
                self.rotation_failures
                    .get_or_create(&ReasonLabels {
                        reason: reason.to_owned(),
                    })
                    .inc();
                "failed"
            }
        };
        self.rotation_attempts
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    fn backup_run(&self, status: RunStatus) {
        self.backup_runs
            .get_or_create(&OutcomeLabels {
                outcome: status.as_str(),
            })
            .inc();
    }

    fn notice_delivery(&self, channel: DeliveryChannel, outcome: DeliveryOutcome) {
        self.notice_deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.as_str(),
                outcome: outcome.as_str(),
            })
            .inc();
    }
}
