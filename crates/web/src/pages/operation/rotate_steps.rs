//! A rotation's steps in words, each marked done, current or to come, from the stored step.

use super::step_list::{Progress, list};
use maud::Markup;
use tenantlink_service::OperationStep;

/// The steps in order: the stored step names the last one finished (a rotation is created at
/// `certificate_stored`).
const STEPS: [(OperationStep, &str); 4] = [
    (
        OperationStep::CertificateStored,
        "A new key and certificate were created and stored.",
    ),
    (
        OperationStep::KeyAdded,
        "Graph added the new key to the application (addKey, proven with the active certificate).",
    ),
    (
        OperationStep::Attached,
        "The application was read back and lists the new key.",
    ),
    (
        OperationStep::Succeeded,
        "Entra ID issued an app-only token with the new key, and it became the active certificate.",
    ),
];

pub(super) fn steps(step: OperationStep) -> Markup {
    list("rotate-steps", &STEPS, Progress::at(&STEPS, step))
}
