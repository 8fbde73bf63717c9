//! CPU-heavy work (Argon2, RSA key generation, PKCS#12 key derivation) runs here: on tokio's
//! blocking threads, at most as many at once as there are cores. Run on the async threads, a few
//! dozen concurrent sign-ins would stall the API, the portal and backup runs alike; unbounded on
//! the blocking pool, they would still take every core. Callers wait for a permit instead.

use crate::error::{ServiceError, ServiceResult};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct HeavyWork {
    permits: Arc<Semaphore>,
}

impl HeavyWork {
    /// At most `parallel` jobs at once (at least one).
    pub fn new(parallel: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(parallel.max(1))),
        }
    }

    /// One job per core the process may use.
    pub fn sized_to_cores() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Runs `job` on a blocking thread once a permit is free. The permit is held until the job
    /// ends, even when the caller stops waiting, so abandoned work still counts.
    pub async fn run<T, F>(&self, job: F) -> ServiceResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ServiceError::Internal("the heavy-work pool is closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("a heavy-work job failed: {e}")))
    }

    /// Jobs that may start now without waiting.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

impl Default for HeavyWork {
    fn default() -> Self {
        Self::sized_to_cores()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_the_job_and_returns_its_value() {
        let heavy = HeavyWork::new(2);
        assert_eq!(heavy.run(|| 6 * 7).await.unwrap(), 42);
        assert_eq!(heavy.available(), 2);
    }

    #[tokio::test]
    async fn holds_a_permit_while_a_job_runs() {
        let heavy = HeavyWork::new(1);
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let running = {
            let heavy = heavy.clone();
            tokio::spawn(async move {
                heavy
                    .run(move || {
                        started_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        assert_eq!(
            heavy.available(),
            0,
            "the running job holds the only permit"
        );
        release_tx.send(()).unwrap();
        running.await.unwrap().unwrap();
        assert_eq!(heavy.available(), 1);
    }

    #[test]
    fn never_has_zero_permits() {
        assert_eq!(HeavyWork::new(0).available(), 1);
    }
}
