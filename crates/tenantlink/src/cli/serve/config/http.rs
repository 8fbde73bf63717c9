//! `[http]`: how clients reach the portal (`secure_cookies` for a TLS-terminating proxy in
//! front) and the listener's limits (header and request timeouts, connection limit).

use super::layers::Layers;
use crate::cli::serve::config_file::FileConfig;
use crate::cli::serve::listener::ListenerLimits;
use anyhow::bail;
use std::time::Duration;

/// Bounds of the listener settings. A header timeout under a second drops real clients on slow
/// links; over five minutes it no longer stops slow clients. A request timeout must leave room
/// for an upload and a round trip to Entra, and an hour is no limit at all. Fewer than 16
/// connections starves a single browser; the upper bound stays below common descriptor limits.
pub const HEADER_READ_TIMEOUT_SECONDS: std::ops::RangeInclusive<u32> = 1..=300;
pub const REQUEST_TIMEOUT_SECONDS: std::ops::RangeInclusive<u32> = 5..=3600;
pub const MAX_CONNECTIONS: std::ops::RangeInclusive<u32> = 16..=65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// Cookies `Secure` with the `__Host-` prefix, and HSTS: always with TLS here, and when
    /// `secure_cookies` says a TLS-terminating proxy is in front.
    pub secure_cookies: bool,
    pub limits: ListenerLimits,
}

pub(super) fn resolve_http(
    layers: &Layers<'_>,
    file: &FileConfig,
    tls: bool,
) -> anyhow::Result<HttpSettings> {
    let section = &file.http;
    let secure_cookies = match layers.pick(
        None,
        "",
        "TENANTLINK_SECURE_COOKIES",
        section.secure_cookies,
        "http.secure_cookies",
    )? {
        Some(s) if !s.value && tls => bail!(
            "secure_cookies is false ({}) but the portal is served over HTTPS, where cookies are always secure; remove the setting",
            s.origin
        ),
        Some(s) => s.value || tls,
        None => tls,
    };
    let defaults = ListenerLimits::default();
    let seconds = |value: u32| Duration::from_secs(u64::from(value));
    let header_read_timeout = layers
        .bounded(
            "TENANTLINK_HEADER_READ_TIMEOUT_SECONDS",
            section.header_read_timeout_seconds,
            "http.header_read_timeout_seconds",
            &HEADER_READ_TIMEOUT_SECONDS,
            "a header read timeout in seconds",
        )?
        .map_or(defaults.header_read_timeout, seconds);
    let request_timeout = layers
        .bounded(
            "TENANTLINK_REQUEST_TIMEOUT_SECONDS",
            section.request_timeout_seconds,
            "http.request_timeout_seconds",
            &REQUEST_TIMEOUT_SECONDS,
            "a request timeout in seconds",
        )?
        .map_or(defaults.request_timeout, seconds);
    let max_connections = layers
        .bounded(
            "TENANTLINK_MAX_CONNECTIONS",
            section.max_connections,
            "http.max_connections",
            &MAX_CONNECTIONS,
            "a connection limit",
        )?
        .map_or(defaults.max_connections, |n| n as usize);
    Ok(HttpSettings {
        secure_cookies,
        limits: ListenerLimits {
            header_read_timeout,
            request_timeout,
            max_connections,
        },
    })
}
