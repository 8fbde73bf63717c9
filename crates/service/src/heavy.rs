//! CPU-heavy work (Argon2, RSA key generation, PKCS#12 key derivation) runs here: on tokio's
//! blocking threads, at most as many at once as there are cores. Run on the async threads, a few
//! dozen concurrent sign-ins would stall the API, the portal and backup runs alike; unbounded on
//! the blocking pool, they would still take every core. Callers wait for a permit instead.

use crate::error::{ServiceError, ServiceResult};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct HeavyWork {
    permits: Arc<Semaphore>,
    /// Callers waiting for a permit: what a full pool is holding back.
    waiting: Arc<AtomicUsize>,
    inline: bool,
}

impl HeavyWork {
    /// At most `parallel` jobs at once (at least one).
    pub fn new(parallel: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(parallel.max(1))),
            waiting: Arc::default(),
            inline: false,
        }
    }

    /// Runs every job right where it is awaited, on the async thread, unbounded: the behaviour
    /// this pool replaced. It exists only so the /healthz benchmark can show, in one run, what
    /// the pool buys; the service never uses it.
    pub fn inline_for_comparison() -> Self {
        Self {
            inline: true,
            // No permits are taken: inline jobs are not counted.
            ..Self::new(1)
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
        if self.inline {
            return Ok(job());
        }
        let counted = Waiting::count(&self.waiting);
        let permit = self.permits.clone().acquire_owned().await;
        drop(counted);
        let permit =
            permit.map_err(|_| ServiceError::Internal("the heavy-work pool is closed".into()))?;
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

    /// Callers waiting for a permit right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

/// One caller in the waiting count, taken out again however its wait ends (a caller that stops
/// waiting drops its future mid-wait).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::SeqCst);
        Self(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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

    #[tokio::test]
    async fn a_second_job_waits_for_the_only_permit() {
        let heavy = HeavyWork::new(1);
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let heavy = heavy.clone();
            tokio::spawn(async move { heavy.run(move || release_rx.recv().unwrap()).await })
        };
        while heavy.available() > 0 {
            tokio::task::yield_now().await;
        }
        let second = {
            let heavy = heavy.clone();
            tokio::spawn(async move { heavy.run(|| "second").await })
        };
        while heavy.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(
            !second.is_finished(),
            "the second job waits while the first holds the permit"
        );
        release_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(second.await.unwrap().unwrap(), "second");
        assert_eq!(heavy.waiting(), 0);
    }

    /// On a runtime with a single async thread, a heavy job that waits for that very thread
    /// (a task on it must answer first) can only finish if the job runs elsewhere.
    #[tokio::test(flavor = "current_thread")]
    async fn the_async_thread_keeps_answering_while_a_job_runs() {
        let heavy = HeavyWork::new(1);
        let (ping_tx, ping_rx) = std::sync::mpsc::channel::<()>();
        let job = tokio::spawn({
            let heavy = heavy.clone();
            async move {
                heavy
                    .run(move || {
                        // Bounded so a regression fails instead of hanging the suite.
                        ping_rx
                            .recv_timeout(std::time::Duration::from_secs(30))
                            .is_ok()
                    })
                    .await
            }
        });
        let ping = tokio::spawn(async move { ping_tx.send(()).is_ok() });
        assert!(ping.await.unwrap(), "the async thread answered");
        assert!(
            job.await.unwrap().unwrap(),
            "the job saw the answer while it ran"
        );
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_leaves_the_count() {
        let heavy = HeavyWork::new(1);
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let heavy = heavy.clone();
            tokio::spawn(async move { heavy.run(move || release_rx.recv().unwrap()).await })
        };
        while heavy.available() > 0 {
            tokio::task::yield_now().await;
        }
        let abandoned = {
            let heavy = heavy.clone();
            tokio::spawn(async move { heavy.run(|| ()).await })
        };
        while heavy.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        abandoned.abort();
        let _ = abandoned.await;
        assert_eq!(heavy.waiting(), 0);
        release_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
    }

    #[test]
    fn never_has_zero_permits() {
        assert_eq!(HeavyWork::new(0).available(), 1);
    }
}
