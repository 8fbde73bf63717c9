//! The background tasks that carry certificate operations, keyed by operation id.
//!
//! A request only starts a step (the device sign-in's polling, Generate, Import); the step then
//! runs on a tokio task owned by the service, so a client that disconnects, a proxy that gives
//! up after 60 s or a handler future that is dropped cannot leave the operation half-done. At
//! most one task runs per operation. Each task can be told to stop (cancel) and awaited
//! ([`OperationTasks::settled`]), which is how tests and the CLI wait for an outcome without
//! sleeping.

use crate::operation::OperationId;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

#[derive(Debug, Default, Clone)]
pub(super) struct OperationTasks {
    running: Arc<Mutex<HashMap<OperationId, Running>>>,
}

#[derive(Debug)]
struct Running {
    /// What the task does (`sign-in`, `generate`, …), for the callers that must tell.
    what: &'static str,
    /// Distinguishes this task from a later one for the same operation, so a finishing task
    /// removes only its own entry.
    serial: u64,
    stop: watch::Sender<bool>,
    done: watch::Receiver<bool>,
}

/// Told to a task when its operation was cancelled (or its holder stopped carrying it).
#[derive(Debug, Clone)]
pub(super) struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    /// Resolves once the task is asked to stop; never, while it is not.
    pub(super) async fn stopped(&mut self) {
        // A dropped sender means the registry is gone: treat as a stop.
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    pub(super) fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}

/// Why a task could not be started.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct AlreadyRunning;

static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl OperationTasks {
    /// Runs `work` on its own task for operation `id`, unless a task for `id` still runs.
    pub(super) fn spawn<F, Fut>(
        &self,
        id: OperationId,
        what: &'static str,
        work: F,
    ) -> Result<(), AlreadyRunning>
    where
        F: FnOnce(StopSignal) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (stop, stop_rx) = watch::channel(false);
        let (done_tx, done) = watch::channel(false);
        {
            let mut running = self.lock();
            if running.contains_key(&id) {
                return Err(AlreadyRunning);
            }
            running.insert(
                id,
                Running {
                    what,
                    serial,
                    stop,
                    done,
                },
            );
        }
        let future = work(StopSignal(stop_rx));
        let finished = Finished {
            tasks: self.clone(),
            id,
            serial,
            done: done_tx,
        };
        tokio::spawn(async move {
            // Dropped when the task ends, also by a panic: the entry goes and waiters wake.
            let _finished = finished;
            future.await;
        });
        Ok(())
    }

    /// Whether a task carries operation `id` on this instance now.
    pub(super) fn is_running(&self, id: OperationId) -> bool {
        self.lock().contains_key(&id)
    }

    /// What the task carrying `id` does, if one runs.
    pub(super) fn running(&self, id: OperationId) -> Option<&'static str> {
        self.lock().get(&id).map(|r| r.what)
    }

    /// Asks the task of `id`, if any, to stop at its next wait.
    pub(super) fn stop(&self, id: OperationId) {
        if let Some(running) = self.lock().get(&id) {
            let _ = running.stop.send(true);
        }
    }

    /// Waits until no task carries `id` (at once when none does).
    pub(super) async fn settled(&self, id: OperationId) {
        loop {
            let Some(mut done) = self.lock().get(&id).map(|r| r.done.clone()) else {
                return;
            };
            // An error means the task's end was dropped without a word (a panic): also done.
            let _ = done.wait_for(|done| *done).await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<OperationId, Running>> {
        // The map holds whole values only; a panic elsewhere leaves it usable.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Finished {
    tasks: OperationTasks,
    id: OperationId,
    serial: u64,
    done: watch::Sender<bool>,
}

impl Drop for Finished {
    fn drop(&mut self) {
        let mut running = self.tasks.lock();
        if running
            .get(&self.id)
            .is_some_and(|r| r.serial == self.serial)
        {
            running.remove(&self.id);
        }
        drop(running);
        let _ = self.done.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_outlives_the_caller_and_is_awaited_by_settled() {
        let tasks = OperationTasks::default();
        let id = OperationId::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let flag = Arc::new(Mutex::new(false));
        let seen = flag.clone();
        tasks
            .spawn(id, "test", move |_| async move {
                let _ = rx.await;
                *seen.lock().unwrap() = true;
            })
            .unwrap();
        assert!(tasks.is_running(id));
        assert_eq!(
            tasks.spawn(id, "test", |_| async {}),
            Err(AlreadyRunning),
            "one task per operation"
        );
        tx.send(()).unwrap();
        tasks.settled(id).await;
        assert!(*flag.lock().unwrap());
        assert!(!tasks.is_running(id));
    }

    #[tokio::test]
    async fn stop_reaches_the_task() {
        let tasks = OperationTasks::default();
        let id = OperationId::new();
        tasks
            .spawn(id, "test", |mut stop| async move { stop.stopped().await })
            .unwrap();
        tasks.stop(id);
        tasks.settled(id).await;
        assert!(!tasks.is_running(id));
    }
}
