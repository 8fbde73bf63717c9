//! Test fixtures shared by this crate's tests.

use tenantlink_service::{Cloud, Organization, fakes};

/// Contoso (the service's fixture) in `cloud`, its tenant given by `tenant`.
pub(crate) fn organization(cloud: Cloud, tenant: &str) -> Organization {
    Organization {
        cloud,
        tenant: tenant.into(),
        ..fakes::organization()
    }
}

/// The system clock: these tests never wait.
pub(crate) fn clock() -> tenantlink_clock::SharedClock {
    std::sync::Arc::new(tenantlink_clock::SystemClock)
}
