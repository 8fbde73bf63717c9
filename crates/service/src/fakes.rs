//! Test doubles: an in-memory [`Repository`](crate::Repository) +
//! [`AccountRepository`](crate::AccountRepository) and a scripted
//! [`Directory`](crate::Directory); the [`contract`] every `Repository` keeps (and the
//! [`account_contract`] every `AccountRepository` keeps); and the [`fixtures`] every crate's
//! tests start from. The sleeper
//! that advances a manual clock instead of sleeping is `tenantlink_clock::RecordingSleeper`
//! (this feature turns on its `test-util`).

pub mod account_contract;
mod browser_directory;
pub mod contract;
mod directory;
pub mod fixtures;
pub mod fleet_contract;
mod memory;
mod notice_sender;
pub mod notices_contract;
mod registrar;
pub mod renewal_contract;
pub mod sign_in_contract;

pub use browser_directory::{AuthorizeSeen, DeviceCodeBlock};
pub use directory::{
    FAKE_APP_NAME, FAKE_APP_OBJECT_ID, FakeCall, FakeDirectory, HangPoint, HungCall,
};
pub use fixtures::{new_organization, operation, organization};
pub use memory::MemoryRepository;
pub use notice_sender::{RecordingSender, SentEmail, SentWebhook, http_error};
pub use registrar::{FAKE_GRAPH_PRINCIPAL_ID, FakeApplication, FakeRegistrar};

use crate::ports::BoxFuture;
use std::sync::{Mutex, MutexGuard};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}
