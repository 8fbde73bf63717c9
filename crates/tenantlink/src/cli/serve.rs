//! `tenantlink serve`: the portal and API, on embedded defaults (a data directory with SQLite and
//! the master key, and the sandbox tenant started in-process) or on configured real parts: a
//! Microsoft tenant, PostgreSQL, HTTPS for the portal.
//!
//! Configuration is layered: built-in defaults → TOML file → `TENANTLINK_*` environment (secrets
//! also from `*_FILE`) → command-line flags (see `config.rs` and docs/service.md).

mod backups;
mod clouds;
mod config;
mod config_file;
mod heavy_work;
mod instance_id;
mod listener;
pub(crate) mod master_key;
mod metrics;
mod notices;
mod organization;
mod tls;

use anyhow::Context as _;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tenantlink_clock::{OffsetClock, SharedClock, TokioSleeper};
use tenantlink_directory::CloudDirectories;
use tenantlink_sandbox::{RunningSandbox, SandboxConfig};
use tenantlink_service::renewal::{RenewalScheduler, RenewalSchedulerConfig};
use tenantlink_service::{Accounts, LoginThrottle, Role, SecretString, Workflows};

pub(crate) use config::layers::read_secret_file;
pub use config::{ProcessEnv, ServeConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file [env: TENANTLINK_CONFIG; default DATA_DIR/tenantlink.toml when
    /// present]. See docs/tenantlink.example.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address for the portal and API [env: TENANTLINK_LISTEN; default 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Data directory: SQLite database, master key, sandbox state
    /// [env: TENANTLINK_DATA; default ./tenantlink-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (sqlite://… or postgres://…) [env: TENANTLINK_DATABASE_URL;
    /// default SQLite in the data directory].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// PEM certificate chain for serving the portal over HTTPS [env: TENANTLINK_TLS_CERT].
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert [env: TENANTLINK_TLS_KEY].
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = ServeConfig::resolve(&args, &ProcessEnv).map_err(config_error)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

/// Configuration mistakes print as `error: config: …` (one line, naming the setting).
pub(crate) fn config_error(err: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(super::KindedError {
        kind: "config",
        message: format!("{err:#}"),
    })
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    // Files named by the configuration are read before anything is created, so a bad one stops
    // the start with its name and changes nothing.
    let tls = match &config.tls {
        Some(files) => Some(files.server_config().map_err(config_error)?),
        None => None,
    };
    // One clock for the service and the embedded sandbox, so moving the sandbox's clock moves
    // the service's notion of expiry too.
    let clock = Arc::new(OffsetClock::system());
    let shared_clock: SharedClock = clock.clone();
    // The process's counters for /metrics, fed by every Entra and Graph client and the service.
    let counters = Arc::new(tenantlink_web::metrics::Counters::default());
    let calls = metrics::entra_observer(&counters);
    // Every cloud's client, built once (reading each configured CA file now).
    let directories =
        CloudDirectories::observed(config.clouds.targets(), &shared_clock, Some(calls.clone()))
            .map_err(|e| config_error(anyhow::anyhow!("{e}")))?;
    // The notice senders (webhooks, and e-mail through [smtp]: its CA file is read now). Built
    // here so a bad [smtp] stops the start; the notice dispatcher is handed it (issue #13).
    let notifier = config.notices.notifier().map_err(config_error)?;
    let configured = config
        .organization
        .as_ref()
        .map(|organization| organization.connection(config.clouds.target(organization.cloud)));
    create_private_dir(&config.data_dir)?;
    let _lock = master_key::DataDirLock::acquire(&config.data_dir, "starting another one")
        .map_err(config_error)?;
    // Read under the lock: the id names this one process among those sharing the database.
    let instance = instance_id::load_or_create(&config.data_dir).map_err(config_error)?;
    let master_key = Arc::new(config.master_key.load().map_err(config_error)?);
    let database_url = config.database_url();
    let db = tenantlink_store::Store::open(&database_url)
        .await
        .with_context(|| format!("open the database {}", redact_url(&database_url)))?;
    master_key::check_opens_stored_keys(&db, &master_key, &config.master_key)
        .await
        .map_err(config_error)?;
    let repository = Arc::new(tenantlink_store::StoreRepository::new(
        db.clone(),
        master_key.clone(),
    ));

    // A configured tenant replaces the embedded sandbox; both go through the same directory code.
    let (connection, directories, sandbox): (_, _, Option<RunningSandbox>) = match configured {
        Some(connection) => (connection, directories, None),
        None => {
            let sandbox =
                tenantlink_sandbox::start(SandboxConfig {
                    listen: config.sandbox_listen,
                    state_dir: config.data_dir.join("sandbox"),
                    config_file: None,
                    enable_control: true,
                    // The control API moves the clock this service reads: only holders of
                    // sandbox.json (mode 0600) may call it.
                    control_secret: Some(tenantlink_sandbox::ControlSecret::generate().map_err(
                        |_| anyhow::anyhow!("the system random number generator failed"),
                    )?),
                    clock: clock.clone(),
                })
                .await
                .context("start the sandbox tenant")?;
            let connection = organization::sandbox_connection(sandbox.info())?;
            let directories = directories
                .with_sandbox(&connection.target, &shared_clock)
                .map_err(|e| config_error(anyhow::anyhow!("{e}")))?;
            (connection, directories, Some(sandbox))
        }
    };

    // One bounded pool for every CPU-heavy job of this instance (Argon2, key generation, PKCS#12).
    let heavy = heavy_work::pool();
    let workflows_config = tenantlink_service::WorkflowsConfig {
        connect: config.connect.clone(),
        ..config
            .certificates
            .workflows_config(config.renewal.overlap_grace)
    };
    // One kept fleet snapshot for the fleet view, the scrape and the notice watcher.
    let fleet_cache = tenantlink_service::fleet::FleetCache::new(repository.clone());
    // The fleet view says "expiring" exactly when the certificate page does.
    let fleet = tenantlink_service::fleet::Fleet::new(
        fleet_cache.clone(),
        shared_clock.clone(),
        workflows_config.expiring_soon_days,
    );
    let notices = notices::build(
        repository.clone(),
        notifier,
        &shared_clock,
        &config.notices,
        &instance,
    )
    .with_fleet(fleet_cache.clone())
    .with_observer(counters.clone());
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let redirect_uri = browser_redirect_uri(config.notices.public_url.as_ref(), scheme, address);
    // One set of cloud directories signs in, manages keys and (Connect) registers applications.
    let directories = Arc::new(directories);
    let workflows = Workflows::new(
        repository.clone(),
        directories.clone(),
        shared_clock.clone(),
        Arc::new(TokioSleeper),
        workflows_config,
    )
    .with_registrar(directories)
    .with_instance_id(instance.clone())
    .with_heavy_work(heavy.clone())
    .with_observer(counters.clone())
    .with_notices(notices.recorder());
    let workflows = match redirect_uri {
        Some(uri) => workflows.with_browser_redirect_uri(uri),
        None => workflows,
    };
    let accounts = Accounts::new(
        repository.clone(),
        repository.clone(),
        shared_clock.clone(),
        LoginThrottle::default(),
    )
    .with_heavy_work(heavy.clone());

    organization::ensure_organization(&workflows, &connection).await?;
    bootstrap_admin(&accounts, config.admin_password.clone()).await?;
    // What sign-ins leave behind (failure records, expired sessions) is pruned for as long as
    // the process runs, on the service's clock.
    let pruning = accounts.clone();
    tokio::spawn(async move {
        let every = tenantlink_service::PRUNE_EVERY;
        pruning
            .keep_pruning(Arc::new(TokioSleeper), every, std::future::pending())
            .await;
    });

    let policies = backups::start(backups::BackupSetup {
        backups: Arc::new(db),
        repository: repository.clone(),
        clouds: backups::clouds(&config.clouds, sandbox.as_ref().map(|_| &connection.target)),
        clock: shared_clock.clone(),
        poll_every: config.backup_poll_every.unwrap_or(backups::POLL_EVERY),
        instance: instance.clone(),
        stale_after: config.certificates.holder_stale_after,
        calls,
        outcomes: counters.clone(),
        notices: notices.recorder(),
    })
    .await?;

    let address_throttle = Arc::new(tenantlink_web::AddressThrottle::new(
        config.sign_in_throttle,
    ));
    let app = tenantlink_web::router_with_address_throttle(
        tenantlink_web::AppState {
            workflows: workflows.clone(),
            accounts,
            policies,
            fleet,
            notices: notices.clone(),
            settings: Arc::new(tenantlink_web::WebSettings {
                secure_cookies: config.http.secure_cookies,
                sandbox_url: sandbox
                    .as_ref()
                    .map(|s| format!("{}/devicelogin", s.info().authority)),
            }),
        },
        address_throttle,
    );
    // Read the fleet once before the URL is printed, so that the first fleet page or scrape
    // finds it kept (one cold read of 10,000 organizations takes about half a second,
    // docs/PERFORMANCE.md). A failure here is not fatal: the first request reads again.
    if let Err(err) = fleet_cache.snapshot().await {
        tracing::warn!(error = %err, "could not read the fleet ahead of the first request");
    }
    // The kept fleet snapshot: one or two queries per scrape, whatever the number of
    // organizations.
    let metrics_state = metrics::state(
        fleet_cache,
        shared_clock.clone(),
        counters,
        config.certificates.expiring_soon_days,
    );
    let app = metrics::mount(config.metrics.clone(), metrics_state, app).await?;
    listener::warn_if_plain_http_off_loopback(address, tls.is_some(), config.http.secure_cookies);
    // The URL comes last: scripts and tests read up to it, as the sign that the service is up.
    if let Some(file) = &config.config_file {
        println!("configuration {}", file.display());
    }
    println!("data directory {}", config.data_dir.display());
    println!("directory {}", connection.description);
    println!("instance {instance} (holds the sign-ins of the certificate operations started here)");
    for (cloud, target) in config.clouds.targets() {
        if let Some(origin) = config.clouds.overridden_by(cloud) {
            println!(
                "cloud {} at {} ({origin})",
                cloud.name(),
                target.endpoints.authority().as_str().trim_end_matches('/')
            );
        }
    }
    println!("tenantlink is serving at {scheme}://{address}/");
    // Only now, with the listener bound (connections queue until `serve` below accepts them):
    // resuming an interrupted operation may wait on Entra for a minute (the token proof's
    // retries), which must not keep the portal and API from answering.
    start_operation_tasks(workflows, config.renewal);
    notices::start(&notices);
    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
    });
    listener::serve(listener, tls, app, config.http.limits, handle).await?;
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    Ok(())
}

/// Resumes the operations a previous process left unfinished, and keeps this instance's
/// heartbeat (and the take-over of silent instances' operations) going, both in the background;
/// the renewal scheduler (with `renewal`'s pace, limit and lease) starts beside them.
fn start_operation_tasks(workflows: Workflows, renewal: config::RenewalSettings) {
    let resuming = workflows.clone();
    tokio::spawn(async move {
        match resuming.resume_unfinished().await {
            Ok(resumed) => {
                for operation in &resumed {
                    tracing::info!(operation = %operation.id, step = operation.step.as_str(), "resumed an interrupted operation");
                }
            }
            Err(err) => tracing::error!(error = %err, "could not list the operations to resume"),
        }
    });
    tokio::spawn(workflows.clone().keep_looking_after_operations());
    let scheduler = RenewalScheduler::new(
        workflows,
        RenewalSchedulerConfig {
            check_every: renewal.check_every,
            max_in_flight: renewal.max_in_flight as usize,
            lease_for: renewal.lease,
        },
    )
    .with_sleeper(Arc::new(TokioSleeper));
    tokio::spawn(scheduler.keep_renewing());
}

/// Creates `admin` on first start. The password comes from the configuration, or is generated
/// and printed once (it is not stored anywhere but as an Argon2id hash).
async fn bootstrap_admin(
    accounts: &Accounts,
    configured: Option<SecretString>,
) -> anyhow::Result<()> {
    let generated = configured.is_none();
    let password = configured.unwrap_or_else(|| tenantlink_service::random_secret(""));
    if accounts
        .ensure_user("admin", &password, Role::Administrator)
        .await?
        && generated
    {
        println!(
            "created administrator `admin` with password {} (shown once; change it after signing in, under Change password, or set TENANTLINK_ADMIN_PASSWORD before the first start)",
            password.expose()
        );
    }
    Ok(())
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restrict {}", dir.display()))?;
    }
    Ok(())
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// tenantlink's `/oauth/callback` as browsers reach it: under the public URL when one is set
/// (`[notices] public_url`), else under the listen address when that is loopback (a browser on
/// this machine reaches it). `None` off loopback without a public URL: the address browsers use
/// cannot be guessed, so the browser sign-in says how to configure it.
fn browser_redirect_uri(
    public_url: Option<&url::Url>,
    scheme: &str,
    address: std::net::SocketAddr,
) -> Option<String> {
    match public_url {
        Some(url) => url.join("oauth/callback").ok().map(|u| u.to_string()),
        None if address.ip().is_loopback() => Some(format!("{scheme}://{address}/oauth/callback")),
        None => None,
    }
}
