//! `/metrics` in `tenantlink serve`: one set of counters for the process, fed by the service's
//! and the Entra clients' observer hooks, and the route — on the portal's listener behind the
//! bearer token, or on a listener of its own (`[metrics]`, see `config/metrics.rs`).

use super::config::MetricsSettings;
use anyhow::Context as _;
use std::sync::Arc;
use tenantlink_clock::SharedClock;
use tenantlink_entra::{CacheLookup, CallObserver, CallRecord, SharedCallObserver};
use tenantlink_service::fleet::FleetCache;
use tenantlink_web::metrics::{Counters, MetricsState};

/// The Entra clients' hook, counting into the process's counters.
#[derive(Debug)]
struct EntraCalls(Arc<Counters>);

impl CallObserver for EntraCalls {
    fn call(&self, record: &CallRecord) {
        self.0.microsoft_call(
            record.service.as_str(),
            &record.endpoint,
            &record.outcome,
            record.elapsed,
        );
    }

    fn token_cache(&self, lookup: CacheLookup) {
        self.0.token_cache(lookup.as_str());
    }
}

/// The hook to give every Entra and Graph transport of the process.
pub fn entra_observer(counters: &Arc<Counters>) -> SharedCallObserver {
    Arc::new(EntraCalls(counters.clone()))
}

/// Adds `/metrics` to `app`, or serves it on its own address, or neither (said on stdout).
pub async fn mount(
    settings: MetricsSettings,
    state: MetricsState,
    app: axum::Router,
) -> anyhow::Result<axum::Router> {
    let state = MetricsState {
        bearer_token: settings.bearer_token.clone(),
        ..state
    };
    match settings.listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("listen on {address} for metrics"))?;
            let address = listener.local_addr()?;
            let routes = tenantlink_web::metrics::router(state);
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, routes).await {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            });
            println!("metrics at http://{address}/metrics");
            Ok(app)
        }
        None if settings.served() => {
            println!("metrics at /metrics (bearer token required)");
            Ok(app.merge(tenantlink_web::metrics::router(state)))
        }
        None => {
            println!(
                "metrics off (set [metrics] bearer_token_file or listen, or TENANTLINK_METRICS_BEARER_TOKEN_FILE / TENANTLINK_METRICS_LISTEN)"
            );
            Ok(app)
        }
    }
}

/// The state of the route, before [`mount`] adds the configured token.
pub fn state(
    fleet: FleetCache,
    clock: SharedClock,
    counters: Arc<Counters>,
    expiring_soon_days: u32,
) -> MetricsState {
    MetricsState {
        fleet,
        clock,
        counters,
        bearer_token: None,
        expiring_soon: time::Duration::days(i64::from(expiring_soon_days)),
    }
}
