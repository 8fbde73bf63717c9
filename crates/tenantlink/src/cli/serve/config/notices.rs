//! `[notices]` and `[smtp]`: the public URL that notices link to, how often the watcher and the
//! dispatcher run, and the SMTP server e-mail notices leave through (none: e-mail notices fail
//! with "no SMTP server configured" in the delivery log, webhooks still leave).
//!
//! The SMTP rules themselves (plain only to a loopback relay, a valid `from`) are
//! `tenantlink_notify`'s; they are checked here at start-up so a mistake is named with its
//! origin before the first notice.

use super::layers::{Layers, Sourced};
use crate::cli::serve::config_file::FileConfig;
use anyhow::{Context as _, bail};
use std::time::Duration;
use tenantlink_notify::{Notifier, SmtpAuth, SmtpSecurity, SmtpSettings};

/// Bounds. The watcher looks for expiring certificates: a look is one fleet snapshot (a few
/// queries), so every 5 s at most, as the renewal check allows (a sandbox demo or the
/// end-to-end test sees a threshold seconds after moving the clock); less often than daily
/// misses a threshold by up to a day. The
/// dispatcher sends what is due: every second at most, every 10 minutes at least (a retry
/// schedule that starts at a minute would otherwise drift).
pub const WATCH_EVERY_SECONDS: std::ops::RangeInclusive<u32> = 5..=86_400;
pub const DISPATCH_EVERY_SECONDS: std::ops::RangeInclusive<u32> = 1..=600;
/// One SMTP exchange's wait for the server.
pub const SMTP_TIMEOUT_SECONDS: std::ops::RangeInclusive<u32> = 1..=120;

#[derive(Debug, Clone)]
pub struct NoticesConfig {
    /// Where the portal is reached from outside, for links in e-mail and webhook bodies
    /// (e.g. `https://tenantlink.example.com/`); links are left out when `None`.
    pub public_url: Option<url::Url>,
    /// How often the watcher looks for certificates reaching a threshold.
    pub watch_every: Duration,
    /// How often the dispatcher sends the deliveries that are due.
    pub dispatch_every: Duration,
    /// `None`: no SMTP server, so no e-mail.
    pub smtp: Option<SmtpSettings>,
}

impl Default for NoticesConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            watch_every: Duration::from_secs(3600),
            dispatch_every: Duration::from_secs(10),
            smtp: None,
        }
    }
}

impl NoticesConfig {
    /// The one `NoticeSender` for the service: webhooks, and e-mail through `[smtp]` when set.
    pub fn notifier(&self) -> anyhow::Result<Notifier> {
        Notifier::from_settings(self.smtp.as_ref()).context("set up the notice senders")
    }
}

pub(super) fn resolve_notices(
    layers: &Layers<'_>,
    file: &FileConfig,
) -> anyhow::Result<NoticesConfig> {
    let defaults = NoticesConfig::default();
    let section = &file.notices;
    let seconds = |value: u32| Duration::from_secs(u64::from(value));
    let public_url = layers
        .pick(
            None,
            "",
            "TENANTLINK_NOTICES_PUBLIC_URL",
            section.public_url.clone(),
            "notices.public_url",
        )?
        .map(public_url)
        .transpose()?;
    let watch_every = layers
        .bounded(
            "TENANTLINK_NOTICES_WATCH_EVERY_SECONDS",
            section.watch_every_seconds,
            "notices.watch_every_seconds",
            &WATCH_EVERY_SECONDS,
            "a notice watch interval in seconds",
        )?
        .map_or(defaults.watch_every, seconds);
    let dispatch_every = layers
        .bounded(
            "TENANTLINK_NOTICES_DISPATCH_EVERY_SECONDS",
            section.dispatch_every_seconds,
            "notices.dispatch_every_seconds",
            &DISPATCH_EVERY_SECONDS,
            "a notice dispatch interval in seconds",
        )?
        .map_or(defaults.dispatch_every, seconds);
    Ok(NoticesConfig {
        public_url,
        watch_every,
        dispatch_every,
        smtp: resolve_smtp(layers, file)?,
    })
}

fn public_url(text: Sourced<String>) -> anyhow::Result<url::Url> {
    let url = url::Url::parse(&text.value).with_context(|| {
        format!(
            "the public URL {:?} ({}) is not a URL",
            text.value, text.origin
        )
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        bail!(
            "the public URL {:?} ({}) must be an http(s) URL with a host, e.g. https://tenantlink.example.com",
            text.value,
            text.origin
        );
    }
    Ok(url)
}

fn resolve_smtp(layers: &Layers<'_>, file: &FileConfig) -> anyhow::Result<Option<SmtpSettings>> {
    let section = &file.smtp;
    let host = layers.pick(
        None,
        "",
        "TENANTLINK_SMTP_HOST",
        section.host.clone(),
        "smtp.host",
    )?;
    let port = layers.pick(None, "", "TENANTLINK_SMTP_PORT", section.port, "smtp.port")?;
    let security = layers.pick(
        None,
        "",
        "TENANTLINK_SMTP_SECURITY",
        section.security.clone(),
        "smtp.security",
    )?;
    let username = layers.pick(
        None,
        "",
        "TENANTLINK_SMTP_USERNAME",
        section.username.clone(),
        "smtp.username",
    )?;
    let password = layers.secret(
        "TENANTLINK_SMTP_PASSWORD",
        None,
        layers.path(section.password_file.clone()),
        "smtp.password",
    )?;
    let from = layers.pick(
        None,
        "",
        "TENANTLINK_SMTP_FROM",
        section.from.clone(),
        "smtp.from",
    )?;
    let ca_file = layers.pick(
        None,
        "",
        "TENANTLINK_SMTP_CA_FILE",
        layers.path(section.ca_file.clone()),
        "smtp.ca_file",
    )?;
    let timeout = layers.bounded(
        "TENANTLINK_SMTP_TIMEOUT_SECONDS",
        section.timeout_seconds,
        "smtp.timeout_seconds",
        &SMTP_TIMEOUT_SECONDS,
        "an SMTP timeout in seconds",
    )?;

    let Some(host) = host else {
        let stray = [
            port.as_ref().map(|s| s.origin.clone()),
            security.as_ref().map(|s| s.origin.clone()),
            username.as_ref().map(|s| s.origin.clone()),
            from.as_ref().map(|s| s.origin.clone()),
            ca_file.as_ref().map(|s| s.origin.clone()),
        ];
        if let Some(origin) = stray.into_iter().flatten().next() {
            bail!(
                "an SMTP setting is given ({origin}) but no SMTP host: set `smtp.host` or TENANTLINK_SMTP_HOST"
            );
        }
        if password.is_some() || timeout.is_some() {
            bail!(
                "an SMTP password or timeout is given but no SMTP host: set `smtp.host` or TENANTLINK_SMTP_HOST"
            );
        }
        return Ok(None);
    };
    let security = match security {
        Some(s) => s
            .value
            .parse::<SmtpSecurity>()
            .map_err(|e| anyhow::anyhow!("{e} ({})", s.origin))?,
        None => SmtpSecurity::StartTls,
    };
    if let Some(port) = &port
        && port.value == 0
    {
        bail!(
            "SMTP port 0 ({}) is not a port: use 1 to 65535",
            port.origin
        );
    }
    let Some(from) = from else {
        bail!(
            "the SMTP server is set ({}) but not the notices' sender: set `smtp.from` or TENANTLINK_SMTP_FROM, e.g. \"tenantlink <tenantlink@example.com>\"",
            host.origin
        );
    };
    let auth = match (username, password) {
        (Some(username), Some(password)) => Some(SmtpAuth {
            username: username.value,
            password: password.read()?,
        }),
        (None, None) => None,
        (Some(username), None) => bail!(
            "an SMTP user name is set ({}) but no password: set `smtp.password_file`, TENANTLINK_SMTP_PASSWORD_FILE or TENANTLINK_SMTP_PASSWORD",
            username.origin
        ),
        (None, Some(_)) => bail!(
            "an SMTP password is set but no user name: set `smtp.username` or TENANTLINK_SMTP_USERNAME"
        ),
    };
    let settings = SmtpSettings {
        host: host.value,
        port: port.map(|p| p.value),
        security,
        auth,
        from: from.value,
        extra_ca_file: ca_file.map(|c| c.value),
        timeout: timeout.map_or(tenantlink_notify::DEFAULT_TIMEOUT, |t| {
            Duration::from_secs(u64::from(t))
        }),
    };
    settings
        .check()
        .with_context(|| format!("the SMTP server set by {}", host.origin))?;
    Ok(Some(settings))
}

#[cfg(test)]
#[path = "notices_tests.rs"]
mod tests;
