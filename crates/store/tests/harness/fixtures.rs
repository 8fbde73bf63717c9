//! Records the store suites start from (organizations, backup policies, mailbox items), on top
//! of the service's own fixtures (`tenantlink_service::fakes::fixtures`).

use tenantlink_service::{
    BackupPolicy, BackupScope, MailboxItem, NewBackupPolicy, NewOrganization, Organization,
    OrganizationId, fakes,
};
use tenantlink_store::Store;
use time::{Duration, OffsetDateTime, macros::datetime};

/// The time the suites' records are written at.
pub const T0: OffsetDateTime = datetime!(2026-11-27 09:00:00 UTC);

/// The service's Contoso fixture under `tenant`, named after it, added at [`T0`].
pub async fn organization(store: &Store, tenant: &str) -> Organization {
    store
        .create_organization(
            NewOrganization {
                tenant: tenant.to_owned(),
                name: format!("Org {tenant}"),
                ..fakes::new_organization()
            },
            T0,
        )
        .await
        .expect("create organization")
}

/// A message of `user` in `org`'s index, received a day before [`T0`].
pub fn item(org: OrganizationId, user: &str, message: &str, hash: &[u8]) -> MailboxItem {
    MailboxItem {
        organization_id: org,
        user_id: user.into(),
        message_id: message.into(),
        subject: format!("Subject of {message}"),
        sender: "ceo@contoso.example".into(),
        received_at: T0 - Duration::days(1),
        size: 2048,
        content_hash: hash.to_vec(),
    }
}

/// An enabled nightly policy for one mailbox of `org`, with a unique name.
pub async fn policy(
    store: &Store,
    org: OrganizationId,
    next_due: Option<OffsetDateTime>,
) -> BackupPolicy {
    store
        .create_policy(
            NewBackupPolicy {
                organization_id: org,
                name: format!("Mailboxes {}", uuid::Uuid::new_v4().simple()),
                schedule: "0 2 * * *".into(),
                scope: BackupScope::Users(vec!["adele@contoso.example".into()]),
                enabled: true,
                next_due_at: next_due,
            },
            T0,
        )
        .await
        .unwrap()
}
