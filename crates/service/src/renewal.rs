//! Renewing an organization's certificate before it expires, in the manner of cert-manager: a
//! policy per organization (what to do), a stored state (what happened), and small pure
//! functions of both and the injected clock's `now` that decide when to renew and whether to act.
//! No I/O here: the scheduler and the rotation workflow call these functions.

mod catalogue;
mod decision;
mod policy;
mod scheduler;
mod service;
mod state;
#[cfg(test)]
mod tests;

pub use catalogue::{
    CREDENTIAL_REJECTED_ATTEMPTS, CatalogueEntry, catalogue_entry, entry_for, kind_word,
    what_to_do_for_recorded,
};
pub use decision::{
    ActiveCertificate, AdministratorReason, RenewalDecision, RenewalSituation, jitter_seed,
    next_attempt_after_failure, renewal_decision, renewal_due_at,
};
pub use policy::{
    DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, DEFAULT_JITTER, PolicyError, RenewAtFraction,
    RenewalPolicy, UploadedCertificates,
};
pub use scheduler::{
    DEFAULT_CHECK_EVERY, DEFAULT_LEASE_FOR, DEFAULT_MAX_IN_FLIGHT, MAX_PAUSE, RenewalScheduler,
    RenewalSchedulerConfig, ScheduledRotations, TickReport,
};
pub use service::{RenewalPolicyChange, RenewalStatus, active_certificate, status_at};
pub use state::{RenewalFailure, RenewalRecord, RenewalState};
