//! Connect's steps in words (`#connect-steps`), each marked done, current, failed or to come:
//! the stored step names the last one finished; a failure names its Graph call in its code
//! (`<call>:<kind>:<Graph code>`, docs/connect.md), which says the step it stopped.

use super::step_list::{Progress, list};
use maud::Markup;
use tenantlink_service::{Operation, OperationStep};

const STEPS: [(OperationStep, &str); 7] = [
    (
        OperationStep::ApplicationCreated,
        "The backup application is registered in the tenant (or the one tenantlink registered before is reused).",
    ),
    (
        OperationStep::ServicePrincipalCreated,
        "Its service principal (the enterprise application) exists.",
    ),
    (
        OperationStep::PermissionsGranted,
        "Admin consent is granted to its Microsoft Graph application permissions.",
    ),
    (
        OperationStep::OwnerAdded,
        "Its service principal owns the application, so it can renew its own certificate.",
    ),
    (
        OperationStep::CertificateStored,
        "Its first key and certificate were created and stored.",
    ),
    (
        OperationStep::Attached,
        "The certificate was added to the application.",
    ),
    (
        OperationStep::Succeeded,
        "Entra ID issued an app-only token with it, and it became the active certificate.",
    ),
];

/// The index of the step a registration call belongs to (the calls of
/// `tenantlink_service::RegistrationCall`).
fn step_of_call(call: &str) -> Option<usize> {
    match call {
        "read_graph_permissions" | "find_application" | "create_application" => Some(0),
        "service_principal" => Some(1),
        "grant_consent" => Some(2),
        "add_owner" => Some(3),
        _ => None,
    }
}

/// The list, or nothing for a failure this page cannot place (before any registration call,
/// or in the certificate steps, whose failure message says what happened).
pub(super) fn steps(operation: &Operation, working: bool) -> Option<Markup> {
    let progress = match operation.step {
        OperationStep::Failed => {
            let code = operation.failure.as_ref()?.code.as_str();
            let call = code.split(':').next().unwrap_or_default();
            Progress {
                failed: Some(step_of_call(call)?),
                ..Progress::default()
            }
        }
        OperationStep::SignedIn => Progress {
            working,
            ..Progress::default()
        },
        step => Progress::at(&STEPS, step),
    };
    Some(list("connect-steps", &STEPS, progress))
}
