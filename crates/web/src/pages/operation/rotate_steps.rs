//! A rotation's steps in words, each marked done, current or to come, from the stored step.

use maud::{Markup, html};
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
    let finished = STEPS.iter().position(|(s, _)| *s == step);
    html! {
        ol.steps #rotate-steps {
            @for (index, (name, text)) in STEPS.iter().enumerate() {
                @let state = match finished {
                    Some(done) if index <= done => "done",
                    Some(done) if index == done + 1 => "current",
                    _ => "waiting",
                };
                li data-step=(name.as_str()) data-state=(state) { (text) }
            }
        }
    }
}
