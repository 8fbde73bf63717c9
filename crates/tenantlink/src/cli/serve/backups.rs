//! Backup policies inside `tenantlink serve`: one runner (one token cache) per cloud, the
//! active certificates through the service's repository, the scheduler ticking in the
//! background, and the facade the portal and the API use.

use std::sync::Arc;
use std::time::Duration;

use tenantlink_backup::{
    BackupRunner, GraphReader, Policies, RepositoryCredentials, RunnerConfig, RunnerExecutor,
    Scheduler,
};
use tenantlink_clock::SharedClock;
use tenantlink_entra::{Endpoints, SharedCallObserver, TokenClient, Transport, TransportConfig};
use tenantlink_service::observe::SharedObserver;
use tenantlink_service::{BackupRepository, Cloud, Repository};

use super::clouds::{CloudTarget, CloudsConfig};

/// How often the scheduler looks for due policies, in real time. Due times themselves come from
/// the shared clock, so moving the sandbox's clock makes a policy due at the next look.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// Where one cloud's organizations are backed up from.
#[derive(Debug, Clone)]
pub struct BackupCloud {
    /// The organizations' cloud.
    pub cloud: Cloud,
    /// The cloud's endpoints (with the sandbox's or the configured CA).
    pub endpoints: Endpoints,
    /// Scope of app-only tokens: `{graph resource}/.default`.
    pub graph_scope: String,
}

/// What the backups need from the rest of `serve`.
#[derive(Debug)]
pub struct BackupSetup {
    /// Where policies, runs, the item index and delta links are kept (the store).
    pub backups: Arc<dyn BackupRepository>,
    /// The service's repository: organizations, their certificates and private keys, the
    /// connection state and the audit log.
    pub repository: Arc<dyn Repository>,
    /// Every cloud the directory knows, so each organization is backed up from its own.
    pub clouds: Vec<BackupCloud>,
    pub clock: SharedClock,
    pub poll_every: Duration,
    /// This instance's id (DATA_DIR/instance-id), recorded on the runs it starts.
    pub instance: String,
    /// Another instance silent for this long is gone, and its interrupted runs are failed.
    pub stale_after: Duration,
    /// Metrics: told of every Entra and Graph call and token-cache lookup, and of each run's
    /// outcome.
    pub calls: SharedCallObserver,
    pub outcomes: SharedObserver,
    /// Where a credential failure of a run is recorded as a notice.
    pub notices: tenantlink_service::notices::NoticeRecorder,
}

/// The clouds to back up from: the same endpoints and Graph resource as the directory of each
/// (Microsoft's or the configured overrides), and the in-process sandbox when it runs.
pub fn clouds(clouds: &CloudsConfig, sandbox: Option<&CloudTarget>) -> Vec<BackupCloud> {
    let named = clouds
        .targets()
        .map(|(cloud, target)| (Cloud::from(cloud), target));
    named
        .chain(sandbox.map(|target| (Cloud::Sandbox, target)))
        .map(|(cloud, target)| BackupCloud {
            cloud,
            endpoints: target.endpoints.clone(),
            graph_scope: format!("{}/.default", target.graph_resource),
        })
        .collect()
}

/// One runner (connection pool, token cache) per cloud.
fn runner(
    cloud: BackupCloud,
    setup: &BackupSetup,
    clock: &SharedClock,
) -> anyhow::Result<BackupRunner> {
    // Its own connection pool, with the same retry bounds and trusted CA as the directory's.
    let transport = Transport::new(&TransportConfig {
        extra_ca_file: cloud.endpoints.extra_ca_file.clone(),
        ..TransportConfig::default()
    })?
    .with_observer(setup.calls.clone());
    Ok(BackupRunner::new(
        setup.backups.clone(),
        setup.repository.clone(),
        TokenClient::new(transport.clone(), cloud.endpoints.clone(), clock.clone()),
        GraphReader::new(transport, cloud.endpoints),
        clock.clone(),
        RunnerConfig {
            graph_scope: cloud.graph_scope,
            ..RunnerConfig::default()
        },
    )
    .with_instance_id(setup.instance.clone())
    .with_outcomes_to(setup.outcomes.clone())
    .with_notices(setup.notices.clone()))
}

/// Recovers runs a previous process left `running`, starts the scheduler and returns the
/// facade. The scheduler stops with the process (Ctrl-C or the runtime's end); a run cut off
/// that way is recovered at the next start.
pub async fn start(setup: BackupSetup) -> anyhow::Result<Policies> {
    let runners = setup
        .clouds
        .iter()
        .cloned()
        .map(|cloud| Ok((cloud.cloud, runner(cloud, &setup, &setup.clock)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(!runners.is_empty(), "no cloud to back up from");
    let credentials = Arc::new(RepositoryCredentials::new(setup.repository.clone()));
    let executor = Arc::new(RunnerExecutor::by_cloud(
        setup.repository.clone(),
        runners,
        credentials,
    ));
    let scheduler = Scheduler::new(setup.backups.clone(), setup.clock.clone(), executor)
        .with_instance_id(
            setup.instance.clone(),
            time::Duration::try_from(setup.stale_after)
                .unwrap_or(tenantlink_backup::DEFAULT_RUN_STALE_AFTER),
        );
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
        setup.backups,
        scheduler,
        setup.repository,
        setup.clock,
    ))
}
