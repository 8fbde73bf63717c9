//! The app roles (application permissions) of Microsoft Graph's service principal that the
//! sandbox knows, with their real ids from Microsoft's permissions reference. An application's
//! `roles` claim is built from these names.

use uuid::{Uuid, uuid};

/// (id, value, display name). Ids from learn.microsoft.com/graph/permissions-reference (and the
/// Azure AD Graph migration page, which lists the same ids); see docs/sandbox.md for the ones
/// only confirmed by third-party lists.
pub(crate) const GRAPH_APP_ROLES: &[(Uuid, &str, &str)] = &[
    (
        uuid!("18a4783c-866b-4cc7-a460-3d5e5662c884"),
        "Application.ReadWrite.OwnedBy",
        "Manage apps that this app creates or owns",
    ),
    (
        uuid!("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"),
        "Application.ReadWrite.All",
        "Read and write all applications",
    ),
    (
        uuid!("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"),
        "Application.Read.All",
        "Read all applications",
    ),
    (
        uuid!("06b708a9-e830-4db3-a914-8e69da51d44f"),
        "AppRoleAssignment.ReadWrite.All",
        "Manage app permission grants and app role assignments",
    ),
    (
        uuid!("df021288-bdef-4463-88db-98f22de89214"),
        "User.Read.All",
        "Read all users' full profiles",
    ),
    (
        uuid!("7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
        "Directory.Read.All",
        "Read directory data",
    ),
    (
        uuid!("810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
        "Mail.Read",
        "Read mail in all mailboxes",
    ),
    (
        uuid!("e2a3a72e-5f79-4c64-b1b1-878b674786c9"),
        "Mail.ReadWrite",
        "Read and write mail in all mailboxes",
    ),
    (
        uuid!("01d4889c-1287-42c6-ac1f-5d1e02578ef6"),
        "Files.Read.All",
        "Read files in all site collections",
    ),
    (
        uuid!("75359482-378d-4052-8f01-80520e7db3cd"),
        "Files.ReadWrite.All",
        "Read and write files in all site collections",
    ),
    (
        uuid!("5b567255-7703-4780-807c-7be8301ae99b"),
        "Group.Read.All",
        "Read all groups",
    ),
];

pub(crate) fn name_of(id: Uuid) -> Option<&'static str> {
    GRAPH_APP_ROLES
        .iter()
        .find(|(role, _, _)| *role == id)
        .map(|(_, name, _)| *name)
}
