use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenantlink_clock::ManualClock;
use tenantlink_entra::Sleeper;

/// Records every requested wait and returns at once, moving the manual clock forward by it:
/// time-dependent behaviour is tested without sleeping.
#[derive(Debug, Default)]
pub struct RecordingSleeper {
    waits: Mutex<Vec<Duration>>,
    clock: Option<Arc<ManualClock>>,
}

impl RecordingSleeper {
    pub fn advancing(clock: Arc<ManualClock>) -> Self {
        Self {
            waits: Mutex::default(),
            clock: Some(clock),
        }
    }

    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap().clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.waits.lock().unwrap().push(duration);
        if let Some(clock) = &self.clock {
            clock.advance(time::Duration::try_from(duration).unwrap());
        }
        Box::pin(std::future::ready(()))
    }
}
