//! What the service reports as it works, for metrics: one small trait the binary implements
//! (with Prometheus counters) and the workflows, the notice dispatcher and the backup runner
//! call at the point where something happened. No metrics crate here; every method has an
//! empty default, so a test or a tool that does not care passes [`NoObserver`].

use crate::backup::RunStatus;
use crate::notices::DeliveryChannel;
use std::fmt::Debug;
use std::sync::Arc;

/// How one renewal attempt (a rotation the renewal state records) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationAttempt<'a> {
    Succeeded,
    /// `reason`: the operation's failure code (Graph's error code, the AADSTS code, or
    /// tenantlink's own such as `proof_failed`): a short bounded word, never a message.
    Failed {
        reason: &'a str,
    },
}

/// How one delivery attempt of a notice ended, as the dispatcher decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; another attempt follows.
    Retrying,
    /// Failed for the last time: the delivery is given up.
    GaveUp,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retrying => "retrying",
            Self::GaveUp => "gave_up",
        }
    }
}

/// Receives what happened. Implementations must be cheap and never block: they are called on
/// the hot path of the workflows.
pub trait ServiceObserver: Send + Sync + Debug + 'static {
    /// A renewal attempt ended (recorded into the organization's renewal state).
    fn rotation_attempt(&self, _attempt: RotationAttempt<'_>) {}
    /// A backup run ended with `status`.
    fn backup_run(&self, _status: RunStatus) {}
    /// One attempt to deliver a notice through `channel` ended.
    fn notice_delivery(&self, _channel: DeliveryChannel, _outcome: DeliveryOutcome) {}
}

pub type SharedObserver = Arc<dyn ServiceObserver>;

/// Observes nothing: the default of [`crate::Workflows`].
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl ServiceObserver for NoObserver {}
