//! Starting and stopping a sandbox: state directory, TLS, tenant registry, router, listener.

use crate::faults::FaultAction;
use crate::identity::issuer::TokenIssuer;
use crate::info::{PublishedApp, PublishedUser, SandboxInfo};
use crate::mailbox::store::MailStore;
use crate::requestlog::{LoggedRequest, Outcome, redacted_path};
use crate::secrets::{unit_random, write_private_file};
use crate::state::{Persisted, SandboxState, SharedState, lock};
use crate::tenants::seed::{BACKUP_APP_NAME, ConfigFile, PUBLIC_CLIENT_NAME, default_registry};
use crate::tenants::store::TenantStore;
use crate::tenants::{Tenant, TenantRegistry};
use crate::tls::LocalCa;
use crate::{SandboxConfig, SandboxError, control, graph, identity, pages};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use tenantlink_clock::OffsetClock;
use tokio::task::JoinHandle;

/// A sandbox serving on its listener until [`RunningSandbox::shutdown`].
#[derive(Debug)]
pub struct RunningSandbox {
    info: SandboxInfo,
    clock: Arc<OffsetClock>,
    handle: Handle<SocketAddr>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningSandbox {
    pub fn info(&self) -> &SandboxInfo {
        &self.info
    }

    /// The sandbox clock (shared with whoever passed it in the config).
    pub fn clock(&self) -> &Arc<OffsetClock> {
        &self.clock
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(self) {
        self.handle
            .graceful_shutdown(Some(std::time::Duration::from_secs(1)));
        if let Ok(Err(err)) = self.task.await {
            tracing::warn!(error = %err, "sandbox server ended with an error");
        }
    }

    /// Serves until the server stops by itself (an I/O failure of the listener).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join)),
        }
    }
}

/// Starts a sandbox: creates or reopens its state directory, binds, and serves HTTPS.
pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
    let dir = &config.state_dir;
    create_private_dir(dir)?;
    let ca = LocalCa::load_or_create(dir)?;
    let store = TenantStore::in_state_dir(dir);
    let (mut registry, mut changed) = match store.load()? {
        Some(registry) => (registry, false),
        None => (default_registry(), true),
    };
    if let Some(path) = &config.config_file {
        changed |= ConfigFile::load(path)?.apply(&mut registry);
    }
    if changed {
        store.save(&registry)?;
    }
    let issuer = TokenIssuer::load_or_create(dir)?;
    let mail_store = MailStore::in_state_dir(dir);
    let mailboxes = mail_store.load()?;

    let listener =
        std::net::TcpListener::bind(config.listen).map_err(|source| SandboxError::Bind {
            addr: config.listen,
            source,
        })?;
    let bind_error = |source| SandboxError::Bind {
        addr: config.listen,
        source,
    };
    listener.set_nonblocking(true).map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    let (base_url, mut hosts) = addressing(local);
    hosts.extend([
        "127.0.0.1".to_owned(),
        "localhost".to_owned(),
        "::1".to_owned(),
    ]);
    hosts.dedup();
    let tls = ca.server_config(&hosts)?;

    let mut info = describe(&registry, &base_url, &ca.cert_path, config.enable_control)?;
    if config.enable_control {
        info.control_secret = config.control_secret.clone();
    }
    let info_path = dir.join("sandbox.json");
    let info_json =
        serde_json::to_vec_pretty(&info).map_err(|e| SandboxError::Tls(e.to_string()))?;
    // Mode 0600: the file publishes the generated demo passwords.
    write_private_file(&info_path, &info_json).map_err(SandboxError::io("write", &info_path))?;

    let state: SharedState = Arc::new(SandboxState::new(
        config.clock.clone(),
        base_url,
        config.enable_control,
        issuer,
        Persisted {
            registry,
            store,
            mailboxes,
            mail_store,
        },
    ));
    let handle = Handle::new();
    let server = axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(tls))
        .map_err(bind_error)?
        .handle(handle.clone());
    let app = router(state, config.control_secret.clone());
    let task = tokio::spawn(async move { server.serve(app.into_make_service()).await });
    Ok(RunningSandbox {
        info,
        clock: config.clock,
        handle,
        task,
    })
}

fn router(state: SharedState, control_secret: Option<control::ControlSecret>) -> Router {
    let mut router = identity::routes()
        .merge(pages::routes())
        .merge(graph::routes());
    if state.enable_control {
        router = router.merge(control::routes(control_secret));
    }
    router
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// The URL clients use, and the host names the server certificate must cover.
fn addressing(local: SocketAddr) -> (String, Vec<String>) {
    let ip = match local.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    (
        format!("https://{host}:{}", local.port()),
        vec![ip.to_string()],
    )
}

fn create_private_dir(dir: &Path) -> Result<(), SandboxError> {
    std::fs::create_dir_all(dir).map_err(SandboxError::io("create", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(SandboxError::io("restrict permissions of", dir))?;
    }
    Ok(())
}

fn describe(
    registry: &TenantRegistry,
    base_url: &str,
    ca_file: &Path,
    enable_control: bool,
) -> Result<SandboxInfo, SandboxError> {
    let broken = |reason: &str| SandboxError::BrokenTenantRegistry {
        path: "directory.json".into(),
        reason: reason.to_owned(),
    };
    let tenant: &Tenant = registry
        .tenants
        .first()
        .ok_or_else(|| broken("it has no tenant"))?;
    let app_named = |name: &str| {
        tenant
            .applications
            .iter()
            .find(|a| a.display_name == name)
            .ok_or_else(|| {
                broken(&format!(
                    "the default tenant has no application named {name:?}"
                ))
            })
    };
    let backup = app_named(BACKUP_APP_NAME)?;
    let public_client = app_named(PUBLIC_CLIENT_NAME)?;
    let ca_file = std::fs::canonicalize(ca_file).unwrap_or_else(|_| ca_file.to_owned());
    Ok(SandboxInfo {
        authority: base_url.to_owned(),
        graph_base: format!("{base_url}/v1.0"),
        ca_file,
        tenant_id: tenant.id.to_string(),
        tenant_domain: tenant.domain.clone(),
        backup_app: PublishedApp {
            app_id: backup.app_id.to_string(),
            object_id: backup.id.to_string(),
        },
        public_client_id: public_client.app_id.to_string(),
        control_base: enable_control.then(|| format!("{base_url}/_sandbox")),
        control_secret: None,
        users: registry
            .tenants
            .iter()
            .flat_map(|t| &t.users)
            .filter_map(|u| {
                u.published_password.as_ref().map(|password| PublishedUser {
                    username: u.user_principal_name.clone(),
                    password: password.clone(),
                    roles: u.roles.iter().map(|r| r.name().to_owned()).collect(),
                })
            })
            .collect(),
    })
}

/// Every request passes here: injected faults first, then the handler, then the request log.
async fn observe(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let logged_path = redacted_path(&path, request.uri().query());
    let actions = if path.starts_with("/_sandbox/") {
        Vec::new()
    } else {
        lock(&state.faults).fire(&method, &path, unit_random)
    };
    let mut fault = None;
    let mut injected = None;
    let headers = request.headers().clone();
    for action in actions {
        fault = Some(action.describe());
        match action {
            FaultAction::Delay(delay) => tokio::time::sleep(delay).await,
            FaultAction::Respond {
                status,
                retry_after_seconds,
            } => {
                injected = Some(fault_response(
                    &state,
                    &path,
                    &headers,
                    status,
                    retry_after_seconds,
                ));
                break;
            }
            FaultAction::Drop => {
                injected = Some(dropped_connection());
                break;
            }
        }
    }
    let response = match injected {
        Some(response) => response,
        None => next.run(request).await,
    };
    let outcome = response.extensions().get::<Outcome>().map(|o| o.0.clone());
    lock(&state.log).record(LoggedRequest {
        at: state.now(),
        method,
        path: logged_path,
        status: response.status().as_u16(),
        outcome,
        fault,
    });
    response
}

/// Graph routes answer in Graph's error shape (with `innerError`, and `Retry-After` when the
/// fault gives one), identity routes in Entra's.
fn fault_response(
    state: &SandboxState,
    path: &str,
    headers: &HeaderMap,
    status: u16,
    retry_after_seconds: Option<u64>,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    if path.starts_with("/v1.0/") {
        return graph::GraphError::Injected {
            status,
            retry_after_seconds,
        }
        .render(state.now(), headers);
    }
    let body = serde_json::json!({
        "error": "temporarily_unavailable",
        "error_description": "AADSTS90033: A transient error has occurred. Please try again.",
        "error_codes": [90033],
    });
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(seconds) = retry_after_seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A response whose body fails immediately: hyper aborts the connection after the headers.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by the sandbox fault control",
        ))
    });
    Response::new(Body::from_stream(failing))
}
