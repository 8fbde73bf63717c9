//! Configuration of `tenantlink serve`, in layers: built-in defaults → a TOML file (`--config`,
//! `TENANTLINK_CONFIG`, else `DATA_DIR/tenantlink.toml` when present) → `TENANTLINK_*` environment
//! (secrets also as `*_FILE`) → flags. Every value remembers where it came from, so a bad one is
//! reported with its flag, variable or file key.
//!
//! The layering itself is `config/layers.rs`; the bounds of `[certificates]`, `[backups]`,
//! `[sign_in]`, `[http]`, `[renewal]`, `[metrics]` and `[connect]` are in `config/` under those names,
//! `[notices]` and `[smtp]` in `config/notices.rs`, `[organization]` in `organization.rs` and
//! `[clouds.NAME]` in `clouds.rs`.

mod backups;
mod certificates;
mod connect;
mod http;
pub mod layers;
mod metrics;
mod notices;
mod renewal;
mod sign_in;
#[cfg(test)]
mod testing;

use super::ServeArgs;
use super::clouds::CloudsConfig;
use super::config_file::{DATA_DIR_CONFIG_FILE, FileConfig};
use super::master_key::MasterKeySource;
use super::organization::OrganizationConfig;
use super::tls::TlsFiles;
use anyhow::bail;
use backups::resolve_backup_poll;
pub use certificates::CertificateSettings;
use certificates::resolve_certificates;
use connect::resolve_connect;
pub use http::HttpSettings;
use http::resolve_http;
pub use layers::{Env, ProcessEnv};
use layers::{Layers, Secret};
pub use metrics::MetricsSettings;
use metrics::resolve_metrics;
pub use notices::NoticesConfig;
use notices::resolve_notices;
pub use renewal::RenewalSettings;
use renewal::resolve_renewal;
use sign_in::resolve_sign_in_throttle;
use std::net::SocketAddr;
use std::path::PathBuf;
use tenantlink_service::{ConnectSettings, SecretString};
use tenantlink_web::AddressThrottleConfig;

#[derive(Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// May carry a database password, hence a redacting type.
    pub database_url: Option<SecretString>,
    pub sandbox_listen: SocketAddr,
    pub admin_password: Option<SecretString>,
    pub master_key: MasterKeySource,
    /// The portal's certificate and key: HTTPS and `Secure` cookies when set.
    pub tls: Option<TlsFiles>,
    pub certificates: CertificateSettings,
    /// How often the backup scheduler looks for due policies; its built-in default when `None`.
    pub backup_poll_every: Option<std::time::Duration>,
    /// Limits of the per-address sign-in throttle.
    pub sign_in_throttle: AddressThrottleConfig,
    /// Secure cookies and HSTS, and the listener's timeouts and connection limit.
    pub http: HttpSettings,
    /// The renewal scheduler's pace, the overlap of rotated keys and the renewal claim's lease.
    pub renewal: RenewalSettings,
    /// Notices' public URL and pace, and the SMTP server of e-mail notices
    /// (`notices.notifier()` builds the sender).
    pub notices: NoticesConfig,
    /// Where `/metrics` is served and its bearer token.
    pub metrics: MetricsSettings,
    /// What "Connect an organization" registers: the application's name and permissions.
    pub connect: ConnectSettings,
    /// A real tenant instead of the embedded sandbox.
    pub organization: Option<OrganizationConfig>,
    /// Where each named cloud's directory is (the configured organization's settings included).
    pub clouds: CloudsConfig,
    /// The configuration file that was read, if any.
    pub config_file: Option<PathBuf>,
}

impl ServeConfig {
    pub fn resolve(args: &ServeArgs, env: &dyn Env) -> anyhow::Result<Self> {
        let explicit_file = args
            .config
            .clone()
            .or_else(|| env.var("TENANTLINK_CONFIG").map(PathBuf::from));
        let (file, file_path) = match &explicit_file {
            Some(path) => (FileConfig::load(path)?, Some(path.clone())),
            None => {
                // Without an explicit file, the data directory may hold one; the directory
                // itself then comes from flags, environment or the default.
                let data_dir = data_dir_before_file(args, env);
                let path = data_dir.join(DATA_DIR_CONFIG_FILE);
                if path.is_file() {
                    let file = FileConfig::load(&path)?;
                    if file.data_dir.is_some() {
                        bail!(
                            "configuration file {}: `data_dir` cannot be set in the data directory's own file; set it with --data-dir or TENANTLINK_DATA, or use --config",
                            path.display()
                        );
                    }
                    (file, Some(path))
                } else {
                    (FileConfig::default(), None)
                }
            }
        };
        let layers = Layers {
            env,
            file: file_path.as_deref(),
        };

        let listen = layers
            .pick(
                args.listen,
                "--listen",
                "TENANTLINK_LISTEN",
                file.listen,
                "listen",
            )?
            .map_or(SocketAddr::from(([127, 0, 0, 1], 8080)), |s| s.value);
        let sandbox_listen = layers
            .pick(
                None,
                "",
                "TENANTLINK_SANDBOX_LISTEN",
                file.sandbox.listen,
                "sandbox.listen",
            )?
            .map_or(SocketAddr::from(([127, 0, 0, 1], 0)), |s| s.value);
        let data_dir = layers
            .pick(
                args.data_dir.clone(),
                "--data-dir",
                "TENANTLINK_DATA",
                layers.path(file.data_dir.clone()),
                "data_dir",
            )?
            .map_or_else(|| PathBuf::from("tenantlink-data"), |s| s.value);
        let database_url = match &args.database_url {
            Some(url) => Some(SecretString::new(url.as_str())),
            None => layers
                .secret(
                    "TENANTLINK_DATABASE_URL",
                    file.database_url.clone(),
                    layers.path(file.database_url_file.clone()),
                    "database_url",
                )?
                .map(|s| s.read())
                .transpose()?,
        };
        let admin_password = layers
            .secret(
                "TENANTLINK_ADMIN_PASSWORD",
                None,
                layers.path(file.admin_password_file.clone()),
                "admin_password",
            )?
            .map(|s| s.read())
            .transpose()?;
        let master_key = match layers.secret(
            "TENANTLINK_MASTER_KEY",
            None,
            layers.path(file.master_key_file.clone()),
            "master_key",
        )? {
            Some(Secret::Value { value, origin }) => MasterKeySource::Inline { value, origin },
            Some(Secret::File { path, origin }) => MasterKeySource::File { path, origin },
            None => MasterKeySource::DataDir(data_dir.clone()),
        };
        let tls = resolve_tls(args, &layers, &file)?;
        let certificates = resolve_certificates(&layers, &file)?;
        let backup_poll_every = resolve_backup_poll(&layers, &file)?;
        let sign_in_throttle = resolve_sign_in_throttle(&layers, &file)?;
        let http = resolve_http(&layers, &file, tls.is_some())?;
        let renewal = resolve_renewal(&layers, &file)?;
        let notices = resolve_notices(&layers, &file)?;
        let metrics = resolve_metrics(&layers, &file)?;
        let connect = resolve_connect(&layers, &file)?;
        let organization = OrganizationConfig::resolve(&layers, file.organization.as_ref())?;
        let clouds = CloudsConfig::resolve(
            &layers,
            &file.clouds,
            organization.as_ref().map(|o| (o.cloud, &o.overrides)),
        )?;

        Ok(Self {
            listen,
            data_dir,
            database_url,
            sandbox_listen,
            admin_password,
            master_key,
            tls,
            certificates,
            backup_poll_every,
            sign_in_throttle,
            http,
            renewal,
            notices,
            metrics,
            connect,
            organization,
            clouds,
            config_file: file_path,
        })
    }

    pub fn database_url(&self) -> String {
        self.database_url.as_ref().map_or_else(
            || {
                format!(
                    "sqlite://{}?mode=rwc",
                    self.data_dir.join("tenantlink.db").display()
                )
            },
            |url| url.expose().to_owned(),
        )
    }
}

fn data_dir_before_file(args: &ServeArgs, env: &dyn Env) -> PathBuf {
    args.data_dir
        .clone()
        .or_else(|| env.var("TENANTLINK_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("tenantlink-data"))
}

fn resolve_tls(
    args: &ServeArgs,
    layers: &Layers<'_>,
    file: &FileConfig,
) -> anyhow::Result<Option<TlsFiles>> {
    let cert = layers.pick(
        args.tls_cert.clone(),
        "--tls-cert",
        "TENANTLINK_TLS_CERT",
        layers.path(file.tls.cert.clone()),
        "tls.cert",
    )?;
    let key = layers.pick(
        args.tls_key.clone(),
        "--tls-key",
        "TENANTLINK_TLS_KEY",
        layers.path(file.tls.key.clone()),
        "tls.key",
    )?;
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles {
            cert: cert.value,
            key: key.value,
        })),
        (None, None) => Ok(None),
        (Some(set), None) => bail!(
            "the portal's TLS certificate is set ({}) but its private key is not: set --tls-key, TENANTLINK_TLS_KEY or `tls.key` too",
            set.origin
        ),
        (None, Some(set)) => bail!(
            "the portal's TLS private key is set ({}) but its certificate is not: set --tls-cert, TENANTLINK_TLS_CERT or `tls.cert` too",
            set.origin
        ),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
