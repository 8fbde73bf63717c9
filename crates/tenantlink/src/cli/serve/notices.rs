//! The notice service of `tenantlink serve` (issue #13): built from the store, the senders of
//! `[smtp]`/webhooks and the `[notices]` settings; its watcher and dispatcher run in the
//! background beside the renewal scheduler.

use std::sync::Arc;

use tenantlink_clock::{SharedClock, TokioSleeper};
use tenantlink_notify::Notifier;
use tenantlink_service::notices::{Notices, NoticesConfig as ServiceNoticesConfig};
use tenantlink_store::StoreRepository;

use super::config::NoticesConfig;

/// The notice service; links in notices are absolute when `[notices] public_url` is set.
pub fn build(
    repository: Arc<StoreRepository>,
    notifier: Notifier,
    clock: &SharedClock,
    config: &NoticesConfig,
    instance: &str,
) -> Notices {
    Notices::new(
        repository,
        Arc::new(notifier),
        clock.clone(),
        ServiceNoticesConfig {
            public_url: config.public_url.as_ref().map(|url| url.to_string()),
            watch_every: config.watch_every,
            dispatch_every: config.dispatch_every,
            instance: Some(instance.to_owned()),
        },
    )
    .with_sleeper(Arc::new(TokioSleeper))
}

/// The watcher (thresholds, expiry) and the dispatcher (deliveries due), for as long as the
/// process runs.
pub fn start(notices: &Notices) {
    tokio::spawn(notices.clone().keep_watching());
    tokio::spawn(notices.clone().keep_dispatching());
}
