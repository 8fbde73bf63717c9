//! Configuration of `tenantlink serve`, in layers: built-in defaults → a TOML file (`--config`,
//! `TENANTLINK_CONFIG`, else `DATA_DIR/tenantlink.toml` when present) → `TENANTLINK_*` environment
//! (secrets also as `*_FILE`) → flags. Every value remembers where it came from, so a bad one is
//! reported with its flag, variable or file key.

pub mod layers;

use super::ServeArgs;
use super::clouds::CloudsConfig;
use super::config_file::{DATA_DIR_CONFIG_FILE, FileConfig};
use super::master_key::MasterKeySource;
use super::organization::OrganizationConfig;
use super::tls::TlsFiles;
use anyhow::{anyhow, bail};
pub use layers::{Env, ProcessEnv};
use layers::{Layers, Secret};
use std::net::SocketAddr;
use std::path::PathBuf;
use tenantlink_certificate::RsaKeySize;
use tenantlink_service::{ProofPolicy, SecretString, WorkflowsConfig};
use tenantlink_web::AddressThrottleConfig;

/// Longest certificate lifetime tenantlink will generate. Entra has no fixed maximum
/// (entra-protocol.md §keyCredentialConfiguration) but a tenant policy may refuse long ones; the
/// generate workflow explains that refusal. Ten years bounds typing mistakes.
pub const MAX_VALIDITY_DAYS: u32 = 3650;

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
    /// A real tenant instead of the embedded sandbox.
    pub organization: Option<OrganizationConfig>,
    /// Where each named cloud's directory is (the configured organization's settings included).
    pub clouds: CloudsConfig,
    /// The configuration file that was read, if any.
    pub config_file: Option<PathBuf>,
}

/// Size and lifetime of generated certificates, the warning window, and the retry budget of the
/// token proof after a key is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateSettings {
    pub key_size: RsaKeySize,
    pub validity_days: u32,
    pub expiring_soon_days: u32,
    /// Token requests the proof makes at most before the operation fails.
    pub proof_attempts: u32,
    /// Wait after the first refusal; doubled after each further one, up to `proof_max_delay`.
    pub proof_first_delay: std::time::Duration,
    pub proof_max_delay: std::time::Duration,
}

impl Default for CertificateSettings {
    fn default() -> Self {
        let defaults = WorkflowsConfig::default();
        Self {
            key_size: defaults.key_size,
            validity_days: defaults.validity_days,
            expiring_soon_days: defaults.expiring_soon_days,
            proof_attempts: defaults.proof.attempts,
            proof_first_delay: defaults.proof.first_delay,
            proof_max_delay: defaults.proof.max_delay,
        }
    }
}

impl CertificateSettings {
    pub fn workflows_config(self) -> WorkflowsConfig {
        WorkflowsConfig {
            key_size: self.key_size,
            validity_days: self.validity_days,
            expiring_soon_days: self.expiring_soon_days,
            proof: ProofPolicy {
                attempts: self.proof_attempts,
                first_delay: self.proof_first_delay,
                max_delay: self.proof_max_delay,
            },
        }
    }
}

/// Bounds of the proof's retry budget. One attempt means no retry at all; more than 20 only
/// repeats the longest wait. Under 10 ms between token requests is a hammering loop, not a wait
/// for propagation; a single wait over 10 minutes is better spent failing and letting the
/// administrator retry (the generate request waits for the whole budget).
pub const PROOF_ATTEMPTS: std::ops::RangeInclusive<u32> = 1..=20;
pub const PROOF_DELAY_MS: std::ops::RangeInclusive<u32> = 10..=600_000;

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

fn resolve_certificates(
    layers: &Layers<'_>,
    file: &FileConfig,
) -> anyhow::Result<CertificateSettings> {
    let defaults = CertificateSettings::default();
    let section = &file.certificates;
    let key_size = match layers.pick(
        None,
        "",
        "TENANTLINK_KEY_SIZE",
        section.key_size,
        "certificates.key_size",
    )? {
        Some(s) => usize::try_from(s.value)
            .ok()
            .and_then(RsaKeySize::from_bits)
            .ok_or_else(|| {
                anyhow!(
                    "key size {} ({}) is not supported: use 2048, 3072 or 4096",
                    s.value,
                    s.origin
                )
            })?,
        None => defaults.key_size,
    };
    let validity = layers.pick(
        None,
        "",
        "TENANTLINK_VALIDITY_DAYS",
        section.validity_days,
        "certificates.validity_days",
    )?;
    let validity_days = match &validity {
        Some(s) if !(1..=MAX_VALIDITY_DAYS).contains(&s.value) => bail!(
            "validity of {} days ({}) is out of range: use 1 to {MAX_VALIDITY_DAYS} days (a tenant policy may allow less)",
            s.value,
            s.origin
        ),
        Some(s) => s.value,
        None => defaults.validity_days,
    };
    let warning = layers.pick(
        None,
        "",
        "TENANTLINK_EXPIRING_SOON_DAYS",
        section.expiring_soon_days,
        "certificates.expiring_soon_days",
    )?;
    let expiring_soon_days = warning
        .as_ref()
        .map_or(defaults.expiring_soon_days, |s| s.value);
    if expiring_soon_days == 0 || expiring_soon_days >= validity_days {
        let origin = warning.map_or_else(|| "the default".to_owned(), |s| s.origin);
        bail!(
            "the warning window of {expiring_soon_days} days ({origin}) must be at least 1 day and shorter than the validity of {validity_days} days, or every new certificate would be shown as expiring soon"
        );
    }
    let proof = resolve_proof(layers, file, defaults)?;
    Ok(CertificateSettings {
        key_size,
        validity_days,
        expiring_soon_days,
        ..proof
    })
}

/// The proof's retry budget: attempts, and the first and longest wait between them.
fn resolve_proof(
    layers: &Layers<'_>,
    file: &FileConfig,
    defaults: CertificateSettings,
) -> anyhow::Result<CertificateSettings> {
    let section = &file.certificates;
    let millis = |d: std::time::Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
    let attempts = bounded(
        layers,
        "TENANTLINK_PROOF_ATTEMPTS",
        section.proof_attempts,
        "certificates.proof_attempts",
        &PROOF_ATTEMPTS,
        "a token proof budget in attempts",
    )?
    .unwrap_or(defaults.proof_attempts);
    let first = bounded(
        layers,
        "TENANTLINK_PROOF_FIRST_DELAY_MS",
        section.proof_first_delay_ms,
        "certificates.proof_first_delay_ms",
        &PROOF_DELAY_MS,
        "a first wait between token proofs in milliseconds",
    )?;
    let max = layers.pick(
        None,
        "",
        "TENANTLINK_PROOF_MAX_DELAY_MS",
        section.proof_max_delay_ms,
        "certificates.proof_max_delay_ms",
    )?;
    let first_ms = first.unwrap_or(millis(defaults.proof_first_delay));
    let max_ms = match max {
        Some(s) if s.value < first_ms || s.value > *PROOF_DELAY_MS.end() => bail!(
            "the longest wait between token proofs, {} ms ({}), is out of range: use {first_ms} ms (the first wait) to {} ms",
            s.value,
            s.origin,
            PROOF_DELAY_MS.end()
        ),
        Some(s) => s.value,
        // Unset, the default longest wait grows with a longer first wait, so raising only the
        // first wait still backs off.
        None => millis(defaults.proof_max_delay).max(first_ms),
    };
    let ms = |v: u32| std::time::Duration::from_millis(u64::from(v));
    Ok(CertificateSettings {
        proof_attempts: attempts,
        proof_first_delay: ms(first_ms),
        proof_max_delay: ms(max_ms),
        ..defaults
    })
}

/// Longest wait between two looks for due backup policies: a due run never starts later than this.
pub const MAX_BACKUP_POLL_SECONDS: u32 = 3600;

fn resolve_backup_poll(
    layers: &Layers<'_>,
    file: &FileConfig,
) -> anyhow::Result<Option<std::time::Duration>> {
    match layers.pick(
        None,
        "",
        "TENANTLINK_BACKUP_POLL_SECONDS",
        file.backups.poll_interval_seconds,
        "backups.poll_interval_seconds",
    )? {
        Some(s) if !(1..=MAX_BACKUP_POLL_SECONDS).contains(&s.value) => bail!(
            "a backup poll interval of {} seconds ({}) is out of range: use 1 to {MAX_BACKUP_POLL_SECONDS} seconds",
            s.value,
            s.origin
        ),
        Some(s) => Ok(Some(std::time::Duration::from_secs(u64::from(s.value)))),
        None => Ok(None),
    }
}

/// Bounds of the sign-in throttle settings. At least one failure must be allowed; more than 1,000
/// per window is no throttle at all. A window longer than a day locks out a shared (proxy or
/// office NAT) address for too long. Fewer than 100 tracked addresses lets a handful of clients
/// push a guesser out of the table; an entry takes well under 100 bytes, so a million stays
/// below 100 MB.
pub const SIGN_IN_FAILURES: std::ops::RangeInclusive<u32> = 1..=1000;
pub const SIGN_IN_WINDOW_MINUTES: std::ops::RangeInclusive<u32> = 1..=1440;
pub const SIGN_IN_TRACKED_ADDRESSES: std::ops::RangeInclusive<u32> = 100..=1_000_000;

fn resolve_sign_in_throttle(
    layers: &Layers<'_>,
    file: &FileConfig,
) -> anyhow::Result<AddressThrottleConfig> {
    let defaults = AddressThrottleConfig::default();
    let section = &file.sign_in;
    let max_failures = bounded(
        layers,
        "TENANTLINK_SIGN_IN_MAX_FAILURES",
        section.max_failures_per_address,
        "sign_in.max_failures_per_address",
        &SIGN_IN_FAILURES,
        "a sign-in limit per address",
    )?
    .unwrap_or(defaults.max_failures);
    let window = bounded(
        layers,
        "TENANTLINK_SIGN_IN_WINDOW_MINUTES",
        section.address_window_minutes,
        "sign_in.address_window_minutes",
        &SIGN_IN_WINDOW_MINUTES,
        "a sign-in throttle window in minutes",
    )?
    .map_or(defaults.window, |m| time::Duration::minutes(i64::from(m)));
    let max_tracked = bounded(
        layers,
        "TENANTLINK_SIGN_IN_TRACKED_ADDRESSES",
        section.max_tracked_addresses,
        "sign_in.max_tracked_addresses",
        &SIGN_IN_TRACKED_ADDRESSES,
        "a number of tracked sign-in addresses",
    )?
    .map_or(defaults.max_tracked, |n| n as usize);
    Ok(AddressThrottleConfig {
        max_failures,
        window,
        max_tracked,
    })
}

/// The environment's or the file's value of one integer setting, refused outside `range`.
fn bounded(
    layers: &Layers<'_>,
    var: &str,
    file_value: Option<u32>,
    key: &str,
    range: &std::ops::RangeInclusive<u32>,
    what: &str,
) -> anyhow::Result<Option<u32>> {
    match layers.pick(None, "", var, file_value, key)? {
        Some(s) if !range.contains(&s.value) => bail!(
            "{what} of {} ({}) is out of range: use {} to {}",
            s.value,
            s.origin,
            range.start(),
            range.end()
        ),
        Some(s) => Ok(Some(s.value)),
        None => Ok(None),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
