//! The operation page on an instance that does not hold the operation's device sign-in.
//!
//! Several `serve` instances may share one database (docs/service.md, "Several instances on one
//! PostgreSQL database"). The device code and delegated token live only in the memory of the
//! instance that started the operation, so another instance cannot advance the sign-in, and its
//! Generate / Import answer 409. Showing the code screen there would leave the person watching a
//! status that never changes; this notice says where to continue instead.

use maud::{Markup, html};
use tenantlink_service::{Caller, Operation, OperationStep, Permission};

/// The other instance holding `operation`'s sign-in, when this page cannot carry it on.
/// Mirrors the service's rule: a recorded holder that is not this instance (an instance without
/// an id holds nothing) means elsewhere; no holder (operations from before holders were
/// recorded) keeps the single-instance page. Finished operations need no holder, so they are
/// shown as usual wherever they are read.
pub(super) fn holder_elsewhere<'a>(
    operation: &'a Operation,
    this_instance: Option<&str>,
) -> Option<&'a str> {
    if operation.is_finished() {
        return None;
    }
    let holder = operation.sign_in_holder.as_deref()?;
    (this_instance != Some(holder)).then_some(holder)
}

/// The notice in place of the code, countdown and live status (nothing here polls: the stored
/// step only changes on the holder, or by a Cancel made here, which reloads the page).
pub(super) fn notice(caller: &Caller, operation: &Operation, holder: &str) -> Markup {
    let check_again = html! { a href={ "/operations/" (operation.id) } { "Check again" } };
    let cancellable = matches!(
        operation.step,
        OperationStep::AwaitingSignIn | OperationStep::SignedIn
    );
    html! {
        div #held-elsewhere .notice role="status" data-holder=(holder) {
            p {
                strong { "This operation is being handled by tenantlink instance " code #holder-instance { (holder) } "." }
            }
            p { (stored_step(operation)) }
            @if cancellable {
                p {
                    "Its sign-in is kept only in that instance's memory, so this instance can neither notice the sign-in nor Generate or Import. "
                    "Continue it on that instance: when several tenantlink instances serve the portal, the load balancer needs sticky sessions (affinity on the "
                    code { "tenantlink_session" } " cookie) so that every step reaches the instance that started it."
                }
                @if caller.may(Permission::ManageCertificates) {
                    p { "Or cancel it here and start again:" }
                    (super::cancel_form(caller, operation))
                } @else {
                    p { "Or ask an administrator to cancel it here and start again." }
                }
            } @else {
                p { "That instance is attaching and checking the certificate; this step cannot be cancelled. " (check_again) " to see the outcome." }
            }
        }
    }
}

fn stored_step(operation: &Operation) -> Markup {
    match operation.step {
        OperationStep::AwaitingSignIn => html! { "As stored: waiting for the device sign-in." },
        OperationStep::SignedIn => html! {
            "As stored: signed in as " strong { (operation.signed_in_as.as_deref().unwrap_or("an administrator")) } "."
        },
        _ => html! { "As stored: " (operation.step.as_str().replace('_', " ")) "." },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantlink_service::{
        CallerVia, OperationId, OperationKind, OrganizationId, Role, SignInPrompt,
    };
    use time::OffsetDateTime;

    const A: &str = "5f0c2d9e-0000-4000-8000-00000000000a";
    const B: &str = "5f0c2d9e-0000-4000-8000-00000000000b";

    fn operation(step: OperationStep, holder: Option<&str>) -> Operation {
        let now = OffsetDateTime::UNIX_EPOCH;
        Operation {
            id: OperationId(uuid::Uuid::nil()),
            organization: OrganizationId(uuid::Uuid::nil()),
            kind: OperationKind::Generate,
            step,
            started_by: "admin".into(),
            started_at: now,
            updated_at: now,
            version: 1,
            sign_in: Some(SignInPrompt {
                user_code: "ABCD-EFGH".into(),
                verification_uri: "https://login.example/device".into(),
                expires_at: now,
            }),
            signed_in_as: None,
            certificate: None,
            sha1_thumbprint: None,
            replaces: None,
            failure: None,
            sign_in_holder: holder.map(str::to_owned),
        }
    }

    #[test]
    fn another_instances_unfinished_operation_is_held_elsewhere() {
        for step in [
            OperationStep::AwaitingSignIn,
            OperationStep::SignedIn,
            OperationStep::CertificateStored,
            OperationStep::Attached,
        ] {
            let op = operation(step, Some(A));
            assert_eq!(holder_elsewhere(&op, Some(B)), Some(A), "{step:?}");
            assert_eq!(holder_elsewhere(&op, None), Some(A), "no id holds nothing");
            assert_eq!(holder_elsewhere(&op, Some(A)), None, "its own");
        }
    }

    #[test]
    fn finished_or_holderless_operations_keep_the_usual_page() {
        for step in [
            OperationStep::Succeeded,
            OperationStep::Failed,
            OperationStep::Cancelled,
        ] {
            assert_eq!(holder_elsewhere(&operation(step, Some(A)), Some(B)), None);
        }
        let old = operation(OperationStep::AwaitingSignIn, None);
        assert_eq!(holder_elsewhere(&old, Some(B)), None);
    }

    fn caller(role: Role) -> Caller {
        Caller {
            name: "someone".into(),
            role,
            via: CallerVia::Session,
            csrf_token: Some("token".into()),
            account: None,
        }
    }

    #[test]
    fn the_notice_names_the_holder_never_the_code_and_offers_cancel_to_who_may() {
        let op = operation(OperationStep::AwaitingSignIn, Some(A));
        let html = notice(&caller(Role::Administrator), &op, A).into_string();
        assert!(
            html.contains(&format!(
                "tenantlink instance <code id=\"holder-instance\">{A}</code>"
            )),
            "{html}"
        );
        assert!(html.contains("sticky sessions"), "{html}");
        assert!(
            !html.contains("ABCD-EFGH") && !html.contains("login.example"),
            "{html}"
        );
        assert!(
            html.contains("/cancel\"") && html.contains(">Cancel</button>"),
            "{html}"
        );

        let viewer = notice(&caller(Role::Viewer), &op, A).into_string();
        assert!(!viewer.contains("/cancel\""), "{viewer}");
        assert!(
            viewer.contains("ask an administrator to cancel"),
            "{viewer}"
        );
    }

    #[test]
    fn past_the_sign_in_the_notice_offers_no_cancel() {
        let op = operation(OperationStep::Attached, Some(A));
        let html = notice(&caller(Role::Administrator), &op, A).into_string();
        assert!(!html.contains("/cancel\""), "{html}");
        assert!(html.contains("cannot be cancelled"), "{html}");
    }
}
