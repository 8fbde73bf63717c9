//! [`SignInRecords`] of the in-memory repository: the compare-and-swap under the one mutex.

use super::MemoryRepository;
use crate::fakes::{lock, ready};
use crate::ports::{BoxFuture, RepoResult, SignInFailures, SignInRecords};
use time::OffsetDateTime;

impl SignInRecords for MemoryRepository {
    fn sign_in_failures<'a>(
        &'a self,
        username: &'a str,
        address: &'a str,
    ) -> BoxFuture<'a, RepoResult<Option<SignInFailures>>> {
        let key = (username.to_owned(), address.to_owned());
        let read = lock(&self.state).sign_in_failures.get(&key).copied();
        Box::pin(async move {
            // The answer arrives after a round trip, as from a database: other attempts run
            // between this read and the write that follows, so only the compare-and-swap keeps
            // them from all passing.
            tokio::task::yield_now().await;
            Ok(read)
        })
    }

    fn count_sign_in_failure<'a>(
        &'a self,
        username: &'a str,
        address: &'a str,
        seen: u32,
        next: u32,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<bool>> {
        let mut state = lock(&self.state);
        let key = (username.to_owned(), address.to_owned());
        let stored = state.sign_in_failures.get(&key).map_or(0, |r| r.failures);
        if stored != seen {
            return ready(Ok(false));
        }
        state.sign_in_failures.insert(
            key,
            SignInFailures {
                failures: next,
                last_failure_at: at,
            },
        );
        ready(Ok(true))
    }

    fn clear_sign_in_failures<'a>(
        &'a self,
        username: &'a str,
        address: &'a str,
    ) -> BoxFuture<'a, RepoResult<()>> {
        let key = (username.to_owned(), address.to_owned());
        lock(&self.state).sign_in_failures.remove(&key);
        ready(Ok(()))
    }

    fn prune_sign_in_failures(&self, before: OffsetDateTime) -> BoxFuture<'_, RepoResult<u64>> {
        let mut state = lock(&self.state);
        let was = state.sign_in_failures.len();
        state
            .sign_in_failures
            .retain(|_, record| record.last_failure_at >= before);
        ready(Ok((was - state.sign_in_failures.len()) as u64))
    }

    fn prune_expired_sessions(&self, now: OffsetDateTime) -> BoxFuture<'_, RepoResult<u64>> {
        let mut state = lock(&self.state);
        let was = state.sessions.len();
        state
            .sessions
            .retain(|_, (_, expires_at)| *expires_at > now);
        ready(Ok((was - state.sessions.len()) as u64))
    }
}
