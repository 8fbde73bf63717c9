//! Test fixtures shared by this crate's tests.

use tenantlink_service::{Organization, OrganizationId};

/// Contoso in `cloud`, its tenant given by `tenant`.
pub(crate) fn organization(cloud: &str, tenant: &str) -> Organization {
    Organization {
        id: OrganizationId::new(),
        name: "Contoso".into(),
        tenant: tenant.into(),
        cloud: cloud.into(),
        app_id: "11111111-2222-3333-4444-555555555555".into(),
        app_object_id: None,
        active_certificate: None,
        connection: tenantlink_service::ConnectionState::Unknown,
        last_error: None,
        assertion_profile: Default::default(),
        created_at: time::OffsetDateTime::UNIX_EPOCH,
    }
}

/// The system clock: these tests never wait.
pub(crate) fn clock() -> tenantlink_clock::SharedClock {
    std::sync::Arc::new(tenantlink_clock::SystemClock)
}
