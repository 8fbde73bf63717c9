//! Test doubles shared by the tests of every crate (feature `test-util`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{ManualClock, Sleep, Sleeper};

/// Records every requested wait and returns at once; when built with
/// [`RecordingSleeper::advancing`] it also moves a manual clock forward by the wait, so
/// time-dependent behaviour (backoff, polling, expiry) is tested without sleeping. Clones share
/// the record.
#[derive(Debug, Default, Clone)]
pub struct RecordingSleeper {
    waits: Arc<Mutex<Vec<Duration>>>,
    clock: Option<Arc<ManualClock>>,
}

impl RecordingSleeper {
    /// Records the waits and leaves time alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the waits and advances `clock` by each.
    pub fn advancing(clock: Arc<ManualClock>) -> Self {
        Self {
            waits: Arc::default(),
            clock: Some(clock),
        }
    }

    /// Every wait asked for so far, in order.
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().expect("sleeper lock poisoned").clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        self.waits
            .lock()
            .expect("sleeper lock poisoned")
            .push(duration);
        if let Some(clock) = &self.clock {
            clock.advance(
                time::Duration::try_from(duration).expect("a test's wait fits time::Duration"),
            );
        }
        Box::pin(std::future::ready(()))
    }
}
