//! `[certificates]`: size and lifetime of generated certificates, the warning window, and the
//! token proof's retry budget, each refused outside its bounds with its origin named.

use super::layers::Layers;
use crate::cli::serve::config_file::FileConfig;
use anyhow::{anyhow, bail};
use tenantlink_certificate::RsaKeySize;
use tenantlink_service::{HoldingPolicy, ProofPolicy, WorkflowsConfig};

/// Longest certificate lifetime tenantlink will generate. Entra has no fixed maximum
/// (entra-protocol.md §keyCredentialConfiguration) but a tenant policy may refuse long ones; the
/// generate workflow explains that refusal. Ten years bounds typing mistakes.
pub const MAX_VALIDITY_DAYS: u32 = 3650;

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
    /// An instance silent for this long is gone: its operations and backup runs may be taken
    /// over by another instance or abandoned by an administrator.
    pub holder_stale_after: std::time::Duration,
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
            holder_stale_after: defaults.holding.stale_after,
        }
    }
}

impl CertificateSettings {
    /// The workflows' settings; `overlap_grace` comes from `[renewal] overlap_grace_hours`.
    pub fn workflows_config(self, overlap_grace: std::time::Duration) -> WorkflowsConfig {
        WorkflowsConfig {
            key_size: self.key_size,
            validity_days: self.validity_days,
            expiring_soon_days: self.expiring_soon_days,
            proof: ProofPolicy {
                attempts: self.proof_attempts,
                first_delay: self.proof_first_delay,
                max_delay: self.proof_max_delay,
            },
            holding: HoldingPolicy {
                // Six heartbeats per stale period, so one slow database write does not make a
                // live instance look gone.
                heartbeat_every: self.holder_stale_after / 6,
                stale_after: self.holder_stale_after,
                ..HoldingPolicy::default()
            },
            overlap_grace,
            connect: tenantlink_service::ConnectSettings::default(),
        }
    }
}

/// Bounds of the proof's retry budget. One attempt means no retry at all; more than 20 only
/// repeats the longest wait. Under 10 ms between token requests is a hammering loop, not a wait
/// for propagation; a single wait over 10 minutes is better spent failing and letting the
/// administrator retry (the generate request waits for the whole budget).
pub const PROOF_ATTEMPTS: std::ops::RangeInclusive<u32> = 1..=20;
pub const PROOF_DELAY_MS: std::ops::RangeInclusive<u32> = 10..=600_000;

/// Bounds of the silence after which an instance counts as gone. Under 30 s, a pause of the
/// database or a long garbage-collecting neighbour would let two instances carry one operation's
/// task; over an hour, an organization waits that long after a crash before another instance
/// (or an administrator's Abandon) can unblock it.
pub const HOLDER_STALE_AFTER_SECONDS: std::ops::RangeInclusive<u32> = 30..=3600;

pub(super) fn resolve_certificates(
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
    let holder_stale_after = layers
        .bounded(
            "TENANTLINK_HOLDER_STALE_AFTER_SECONDS",
            section.holder_stale_after_seconds,
            "certificates.holder_stale_after_seconds",
            &HOLDER_STALE_AFTER_SECONDS,
            "the silence after which an instance counts as gone, in seconds,",
        )?
        .map_or(defaults.holder_stale_after, |seconds| {
            std::time::Duration::from_secs(u64::from(seconds))
        });
    Ok(CertificateSettings {
        key_size,
        validity_days,
        expiring_soon_days,
        holder_stale_after,
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
    let attempts = layers
        .bounded(
            "TENANTLINK_PROOF_ATTEMPTS",
            section.proof_attempts,
            "certificates.proof_attempts",
            &PROOF_ATTEMPTS,
            "a token proof budget in attempts",
        )?
        .unwrap_or(defaults.proof_attempts);
    let first = layers.bounded(
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
