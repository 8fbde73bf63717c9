//! The TOML layer of `tenantlink serve`'s configuration: what the file may say, and errors that
//! name the file, the line and the key. Secrets are never written into this file, only the
//! paths of the files holding them (`*_file`); an inline secret key is an unknown key.
//!
//! Every field is optional: the file is one layer, and environment and flags may complete it.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The file name `tenantlink serve` also reads from the data directory when present.
pub const DATA_DIR_CONFIG_FILE: &str = "tenantlink.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub database_url_file: Option<PathBuf>,
    pub admin_password_file: Option<PathBuf>,
    pub master_key_file: Option<PathBuf>,
    #[serde(default)]
    pub sandbox: SandboxSection,
    #[serde(default)]
    pub tls: TlsSection,
    #[serde(default)]
    pub certificates: CertificatesSection,
    #[serde(default)]
    pub backups: BackupsSection,
    #[serde(default)]
    pub sign_in: SignInSection,
    #[serde(default)]
    pub http: HttpSection,
    #[serde(default)]
    pub renewal: RenewalSection,
    #[serde(default)]
    pub notices: NoticesSection,
    #[serde(default)]
    pub smtp: SmtpSection,
    #[serde(default)]
    pub metrics: MetricsSection,
    #[serde(default)]
    pub connect: ConnectSection,
    pub organization: Option<OrganizationSection>,
    /// `[clouds.global]`, `[clouds.usgov]`, `[clouds.china]`: another place for that cloud's
    /// directory (checked against the known names when resolved).
    #[serde(default)]
    pub clouds: BTreeMap<String, CloudSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificatesSection {
    pub key_size: Option<u32>,
    pub validity_days: Option<u32>,
    pub expiring_soon_days: Option<u32>,
    pub proof_attempts: Option<u32>,
    pub proof_first_delay_ms: Option<u32>,
    pub proof_max_delay_ms: Option<u32>,
    pub holder_stale_after_seconds: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupsSection {
    pub poll_interval_seconds: Option<u32>,
}

/// The per-address sign-in throttle (`tenantlink_web::AddressThrottle`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInSection {
    pub max_failures_per_address: Option<u32>,
    pub address_window_minutes: Option<u32>,
    pub max_tracked_addresses: Option<u32>,
}

/// How clients reach the portal, and the listener's limits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    pub secure_cookies: Option<bool>,
    pub header_read_timeout_seconds: Option<u32>,
    pub request_timeout_seconds: Option<u32>,
    pub max_connections: Option<u32>,
}

/// The renewal scheduler (`config/renewal.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalSection {
    pub check_every_seconds: Option<u32>,
    pub max_in_flight: Option<u32>,
    pub overlap_grace_hours: Option<u32>,
    pub lease_seconds: Option<u32>,
}

/// Notices' links and pace (`config/notices.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticesSection {
    pub public_url: Option<String>,
    pub watch_every_seconds: Option<u32>,
    pub dispatch_every_seconds: Option<u32>,
}

/// The SMTP server of e-mail notices (`config/notices.rs`); the password only as a file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub from: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub timeout_seconds: Option<u32>,
}

/// Where `/metrics` is served (`config/metrics.rs`); the token only as a file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    pub listen: Option<SocketAddr>,
    pub bearer_token_file: Option<PathBuf>,
}

/// What "Connect an organization" registers (`config/connect.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectSection {
    pub application_name: Option<String>,
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSection {
    pub name: Option<String>,
    pub tenant: Option<String>,
    pub app_id: Option<String>,
    pub cloud: Option<String>,
    pub device_client_id: Option<String>,
    pub authority: Option<String>,
    pub graph: Option<String>,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudSection {
    pub authority: Option<String>,
    pub graph: Option<String>,
    pub graph_resource: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub device_client_id: Option<String>,
}

/// A configuration file that cannot be used; the message names the file (and the key).
#[derive(Debug)]
pub struct ConfigFileError(String);

impl std::fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigFileError {}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigFileError(format!(
                "cannot read the configuration file {}: {e}",
                path.display()
            ))
        })?;
        Self::parse(&text, path)
    }

    /// `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigFileError> {
        toml::from_str(text).map_err(|e| ConfigFileError(describe(&e, text, path)))
    }
}

/// One line: `FILE line N, key `a.b`: what is wrong`. toml's own rendering is a multi-line
/// snippet without the table name; the command line wants the full key on one line.
fn describe(err: &toml::de::Error, text: &str, path: &Path) -> String {
    let message = err.message().trim().replace('\n', "; ");
    let Some(span) = err.span() else {
        return format!("configuration file {}: {message}", path.display());
    };
    let start = span.start.min(text.len());
    let line_number = text[..start].matches('\n').count() + 1;
    match key_at(text, start) {
        Some(key) => format!(
            "configuration file {} line {line_number}, key `{key}`: {message}",
            path.display()
        ),
        None => format!(
            "configuration file {} line {line_number}: {message}",
            path.display()
        ),
    }
}

/// The dotted key of the `key = value` line holding byte `offset`, prefixed with the table
/// header above it. `None` for header lines and anything not of that shape.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
        return None;
    }
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|header| header.trim_matches(|c| c == '[' || c == ']').trim());
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, String> {
        FileConfig::parse(text, Path::new("/etc/tenantlink.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn an_unknown_key_is_named_with_the_file_and_line() {
        let err =
            parse("listen = \"127.0.0.1:1\"\n\n[certificates]\nvalidty_days = 90\n").unwrap_err();
        assert!(
            err.starts_with("configuration file /etc/tenantlink.toml line 4, key `certificates.validty_days`: unknown field `validty_days`"),
            "{err}"
        );
        assert!(err.contains("validity_days"), "lists the known keys: {err}");
    }

    #[test]
    fn an_inline_secret_is_refused_because_only_its_file_is_a_setting() {
        let err = parse("admin_password = \"hunter2\"\n").unwrap_err();
        assert!(err.contains("key `admin_password`"), "{err}");
        assert!(err.contains("admin_password_file"), "{err}");
        assert!(!err.contains("hunter2"), "the value is not echoed: {err}");
    }

    #[test]
    fn a_wrong_type_names_the_key_and_the_expected_type() {
        let err = parse("[certificates]\nvalidity_days = \"a year\"\n").unwrap_err();
        assert!(
            err.contains("line 2, key `certificates.validity_days`"),
            "{err}"
        );
        assert!(err.contains("expected u32"), "{err}");

        let err = parse("listen = \"localhost\"\n").unwrap_err();
        assert!(err.contains("key `listen`"), "{err}");
        assert!(err.contains("socket address"), "{err}");
    }

    #[test]
    fn a_syntax_error_names_the_file_and_line() {
        let err = parse("listen = \n").unwrap_err();
        assert!(
            err.starts_with("configuration file /etc/tenantlink.toml line 1"),
            "{err}"
        );
    }

    #[test]
    fn the_documented_example_is_a_valid_file_that_names_every_section() {
        let example = include_str!("../../../../../docs/tenantlink.example.toml");
        let config = parse(example).unwrap();
        assert!(config.listen.is_some() && config.tls.cert.is_some());
        assert_eq!(config.certificates.key_size, Some(2048));
        assert_eq!(config.sign_in.max_failures_per_address, Some(20));
        assert_eq!(config.certificates.proof_attempts, Some(7));
        assert_eq!(config.certificates.proof_max_delay_ms, Some(20_000));
        assert_eq!(config.renewal.overlap_grace_hours, Some(72));
        assert_eq!(config.smtp.security.as_deref(), Some("starttls"));
        assert_eq!(config.notices.dispatch_every_seconds, Some(10));
        let organization = config.organization.expect("organization section");
        assert_eq!(organization.cloud.as_deref(), Some("global"));
        assert!(
            config.clouds.contains_key("usgov"),
            "a [clouds.NAME] example"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = FileConfig::load(Path::new("/nonexistent/tenantlink.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read the configuration file /nonexistent/tenantlink.toml"),
            "{err}"
        );
    }
}
