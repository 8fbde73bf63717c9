//! "Sign in with the browser instead" beside the device code, and why the device code cannot
//! be used when the tenant blocks it.

use crate::pages::layout::csrf_field;
use maud::{Markup, html};
use tenantlink_service::browser_sign_in::SignInMethods;
use tenantlink_service::{Caller, Operation, OperationFailure, Permission};

pub(super) fn section(caller: &Caller, operation: &Operation, methods: &SignInMethods) -> Markup {
    html! {
        @if let Some(blocked) = &methods.device_code_blocked {
            div #device-code-blocked .error role="alert" { (explained(blocked)) }
        }
        @if let Some(failed) = &methods.browser_failure {
            div #browser-sign-in-failure .error role="alert" {
                p { strong { "The browser sign-in did not complete." } }
                (explained(failed))
            }
        }
        @if caller.may(Permission::ManageCertificates) {
            form #browser-sign-in method="post" action={ "/operations/" (operation.id) "/browser_sign_in" } {
                (csrf_field(caller))
                button type="submit" { "Sign in with the browser instead" }
            }
        }
    }
}

fn explained(failure: &OperationFailure) -> Markup {
    html! {
        p.message { (failure.message) }
        p.remediation { strong { "What to do: " } (failure.remediation) }
        p.code { "Error code: " code { (failure.code) } }
    }
}
