//! Waiting. Every wait in tenantlink (retry backoff, device-flow polls, the proof's retries, the
//! backup scheduler's tick) goes through an injected [`Sleeper`], so tests replace real time with
//! a clock they move themselves and never sleep.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The future a [`Sleeper`] returns: boxed, so that the trait stays object-safe.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Waits for a duration of time.
pub trait Sleeper: Send + Sync + Debug + 'static {
    fn sleep(&self, duration: Duration) -> Sleep<'_>;
}

/// The sleeper every component shares.
pub type SharedSleeper = Arc<dyn Sleeper>;

/// Real waiting, on the tokio timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(duration))
    }
}
