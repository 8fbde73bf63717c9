//! `tenantlink serve`: the portal and API, on embedded defaults (a data directory with SQLite and
//! the master key, and the sandbox tenant started in-process) or on configured real parts.
//!
//! Configuration is layered: built-in defaults → `TENANTLINK_*` environment (secrets also from
//! `*_FILE`) → command-line flags.

mod config;
mod directory;
mod store;

use anyhow::Context as _;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tenantlink_clock::{OffsetClock, SharedClock};
use tenantlink_entra::{Endpoints, Transport, TransportConfig};
use tenantlink_sandbox::{SandboxConfig, SandboxInfo};
use tenantlink_service::{
    Accounts, LoginThrottle, NewOrganization, Role, SecretString, TokioPause, Workflows,
    WorkflowsConfig,
};

pub use config::ServeConfig;

#[derive(Debug, Args)]
pub struct ServeArgs {
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
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = ServeConfig::resolve(&args, &config::ProcessEnv)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    create_private_dir(&config.data_dir)?;
    let master_key = Arc::new(config.master_key()?);
    let database_url = config.database_url();
    let db = tenantlink_store::Store::open(&database_url)
        .await
        .with_context(|| format!("open the database {}", redact_url(&database_url)))?;
    let repository = Arc::new(store::StoreRepository::new(db, master_key));

    // One clock for the service and the embedded sandbox, so moving the sandbox's clock moves
    // the service's notion of expiry too.
    let clock = Arc::new(OffsetClock::system());
    let shared_clock: SharedClock = clock.clone();

    let sandbox = tenantlink_sandbox::start(SandboxConfig {
        listen: config.sandbox_listen,
        state_dir: config.data_dir.join("sandbox"),
        config_file: None,
        enable_control: true,
        clock: clock.clone(),
    })
    .await
    .context("start the sandbox tenant")?;
    let info = sandbox.info().clone();

    let endpoints =
        Endpoints::explicit(&info.authority, &info.authority)?.with_extra_ca_file(&info.ca_file);
    let transport = Transport::new(&TransportConfig {
        extra_ca_file: endpoints.extra_ca_file.clone(),
        ..TransportConfig::default()
    })?;
    let directory = Arc::new(directory::EntraDirectory::new(
        transport,
        endpoints,
        shared_clock.clone(),
        info.public_client_id.clone(),
    ));

    let workflows = Workflows::new(
        repository.clone(),
        directory,
        shared_clock.clone(),
        Arc::new(TokioPause),
        WorkflowsConfig::default(),
    );
    let accounts = Accounts::new(
        repository.clone(),
        repository.clone(),
        shared_clock.clone(),
        LoginThrottle::default(),
    );

    connect_sandbox_organization(
        &workflows,
        repository.as_ref(),
        &info,
        shared_clock.as_ref(),
    )
    .await?;
    bootstrap_admin(&accounts, config.admin_password.clone()).await?;

    let resumed = workflows.resume_unfinished().await?;
    for operation in &resumed {
        tracing::info!(operation = %operation.id, step = operation.step.as_str(), "resumed an interrupted operation");
    }

    let app = tenantlink_web::router(tenantlink_web::AppState {
        workflows,
        accounts,
        settings: Arc::new(tenantlink_web::WebSettings {
            secure_cookies: false,
            sandbox_url: Some(format!("{}/devicelogin", info.authority)),
        }),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    println!("tenantlink is serving at http://{address}/");
    println!("  sandbox tenant {} ({})", info.authority, info.tenant_id);
    println!("  data directory {}", config.data_dir.display());
    // The peer address keys the per-address sign-in throttle (tenantlink_web::AddressThrottle).
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    sandbox.shutdown().await;
    Ok(())
}

/// The embedded sandbox's backup application becomes the first organization.
async fn connect_sandbox_organization(
    workflows: &Workflows,
    repository: &dyn tenantlink_service::Repository,
    info: &SandboxInfo,
    clock: &dyn tenantlink_clock::Clock,
) -> anyhow::Result<()> {
    let organizations = repository.organizations().await?;
    if organizations
        .iter()
        .any(|o| o.app_id == info.backup_app.app_id && o.cloud == "sandbox")
    {
        return Ok(());
    }
    let system = tenantlink_service::Caller {
        name: "system".into(),
        role: Role::Administrator,
        via: tenantlink_service::CallerVia::ApiToken,
        csrf_token: None,
    };
    let organization = workflows
        .add_organization(
            &system,
            NewOrganization {
                name: format!("Sandbox ({})", info.tenant_domain),
                tenant: info.tenant_id.clone(),
                cloud: "sandbox".into(),
                app_id: info.backup_app.app_id.clone(),
            },
        )
        .await?;
    repository
        .set_app_object_id(organization.id, &info.backup_app.object_id, clock.now())
        .await?;
    Ok(())
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
            "created administrator `admin` with password {} (shown once; change it or set TENANTLINK_ADMIN_PASSWORD)",
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
