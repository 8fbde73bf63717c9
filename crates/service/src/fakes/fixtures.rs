//! Records as tests start from, so no test spells out every field of an [`Organization`] or an
//! [`Operation`] (and a field added later is added here once). Override what a test is about
//! with struct update syntax: `Organization { cloud: Cloud::Global, ..fixtures::organization() }`.

use crate::cloud::Cloud;
use crate::model::{NewOrganization, Organization, OrganizationId};
use crate::operation::{Operation, OperationId, OperationKind, OperationStep};
use time::OffsetDateTime;

/// The application (client) id of [`new_organization`].
pub const CONTOSO_APP_ID: &str = "11111111-2222-3333-4444-555555555555";

/// Contoso in the sandbox cloud, as an administrator adds it.
pub fn new_organization() -> NewOrganization {
    NewOrganization {
        name: "Contoso".into(),
        tenant: "contoso.onmicrosoft.com".into(),
        cloud: Cloud::Sandbox,
        app_id: CONTOSO_APP_ID.into(),
    }
}

/// [`new_organization`] just added (at the Unix epoch): no certificate, connection unknown,
/// the default assertion profile.
pub fn organization() -> Organization {
    new_organization().added(OrganizationId::new(), OffsetDateTime::UNIX_EPOCH)
}

/// A Generate `alice` started for `organization` at `at`, awaiting the sign-in, at version 1,
/// with no prompt recorded yet.
pub fn operation(organization: OrganizationId, at: OffsetDateTime) -> Operation {
    Operation {
        id: OperationId::new(),
        organization,
        kind: OperationKind::Generate,
        step: OperationStep::AwaitingSignIn,
        started_by: "alice".into(),
        started_at: at,
        updated_at: at,
        version: 1,
        sign_in: None,
        signed_in_as: None,
        certificate: None,
        sha1_thumbprint: None,
        replaces: None,
        failure: None,
        sign_in_holder: None,
        heartbeat_at: None,
    }
}
