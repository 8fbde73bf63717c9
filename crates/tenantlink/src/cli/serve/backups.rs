//! Backup policies inside `tenantlink serve`: one runner (one token cache) for the process, the
//! active certificates from the store, the scheduler ticking in the background, and the facade
//! the portal and the API use.

use std::sync::Arc;
use std::time::Duration;

use tenantlink_backup::{
    BackupRunner, GraphReader, Policies, RunnerConfig, RunnerExecutor, Scheduler, StoreCredentials,
};
use tenantlink_clock::SharedClock;
use tenantlink_entra::{Endpoints, TokenClient, Transport, TransportConfig};
use tenantlink_service::Repository;
use tenantlink_store::{MasterKey, Store};

/// How often the scheduler looks for due policies, in real time. Due times themselves come from
/// the shared clock, so moving the sandbox's clock makes a policy due at the next look.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// What the backups need from the rest of `serve`.
#[derive(Debug)]
pub struct BackupSetup {
    pub store: Store,
    pub master_key: Arc<MasterKey>,
    /// The directory's endpoints (with the sandbox's CA when it is the sandbox).
    pub endpoints: Endpoints,
    /// Scope of app-only tokens: `{graph resource}/.default`.
    pub graph_scope: String,
    pub clock: SharedClock,
    /// The service's repository, for the audit log.
    pub audit: Arc<dyn Repository>,
    pub poll_every: Duration,
}

/// Recovers runs a previous process left `running`, starts the scheduler and returns the
/// facade. The scheduler stops with the process (Ctrl-C or the runtime's end); a run cut off
/// that way is recovered at the next start.
pub async fn start(setup: BackupSetup) -> anyhow::Result<Policies> {
    // Its own connection pool, with the same retry bounds and trusted CA as the directory's.
    let transport = Transport::new(&TransportConfig {
        extra_ca_file: setup.endpoints.extra_ca_file.clone(),
        ..TransportConfig::default()
    })?;
    let runner = BackupRunner::new(
        setup.store.clone(),
        TokenClient::new(
            transport.clone(),
            setup.endpoints.clone(),
            setup.clock.clone(),
        ),
        GraphReader::new(transport, setup.endpoints),
        setup.clock.clone(),
        RunnerConfig {
            graph_scope: setup.graph_scope,
            ..RunnerConfig::default()
        },
    );
    let credentials = Arc::new(StoreCredentials::new(setup.store.clone(), setup.master_key));
    let executor = Arc::new(RunnerExecutor::new(
        setup.store.clone(),
        runner,
        credentials,
    ));
    let scheduler = Scheduler::new(setup.store.clone(), setup.clock.clone(), executor);
    let recovered = scheduler.recover_interrupted_runs().await?;
    if recovered > 0 {
        tracing::warn!(
            runs = recovered,
            "marked backup runs interrupted by the previous stop as failed"
        );
    }
    let ticking = scheduler.clone();
    tokio::spawn(async move {
        ticking
            .serve(setup.poll_every, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
    });
    Ok(Policies::new(
        setup.store,
        scheduler,
        setup.audit,
        setup.clock,
    ))
}
