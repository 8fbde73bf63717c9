//! One certificate operation: device sign-in, then Generate, the upload form or Connect's
//! registration, then the outcome.

use super::certificate::CsrfForm;
use super::layout::{Page, csrf_field, csrf_rejected, error_page, render, thumbprint};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use tenantlink_service::{
    Caller, Operation, OperationId, OperationKind, OperationStep, Permission, SecretString,
};
use time::format_description::well_known::Rfc3339;

mod browser_sign_in;
mod connect_steps;
mod held_elsewhere;
mod rotate_steps;
mod step_list;

pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OperationId>,
) -> Response {
    let operation = match state.workflows.operation(&caller, id).await {
        Ok(operation) => operation,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let methods = state
        .workflows
        .sign_in_methods(&caller, id)
        .await
        .unwrap_or_default();
    let holder = held_elsewhere::holder_elsewhere(&operation, state.workflows.instance_id());
    // Signed in and already generating or importing on this instance's background task.
    let working =
        operation.step == OperationStep::SignedIn && state.workflows.is_carried_here(operation.id);
    let abandonable =
        caller.may(Permission::ManageCertificates) && state.workflows.may_abandon(&operation);
    // Held elsewhere, the stored step cannot change here, so nothing reloads or polls.
    let waiting = holder.is_none()
        && (working
            || operation.step == OperationStep::AwaitingSignIn
            || past_sign_in(operation.step));
    let title = match operation.kind {
        OperationKind::Generate => "Generate a new certificate",
        OperationKind::Upload => "Upload a custom certificate",
        OperationKind::Rotate => "Rotate the certificate",
        OperationKind::Connect => "Connect an organization",
    };
    let body = html! {
        @if operation.kind == OperationKind::Connect {
            p.breadcrumb { a href="/organizations" { "Organizations" } " › " (title) }
        } @else {
            p.breadcrumb { a href={ "/organizations/" (operation.organization) "/settings/system" } { "SSL Certificate" } " › " (title) }
        }
        h1 { (title) }
        @if let Some(holder) = holder {
            // The step goes in `data-stored-step`, not `data-step`: app.js polls the API while
            // `data-step` is a live step, and here the answer would never change.
            div #operation data-operation-id=(operation.id) data-stored-step=(operation.step.as_str())
                data-held-elsewhere="true" {
                (held_elsewhere::notice(&caller, &operation, holder, abandonable))
            }
        } @else {
            // `data-working`: app.js follows the step while the background task runs.
            div #operation data-operation-id=(operation.id) data-step=(operation.step.as_str())
                data-working=[working.then_some("true")] {
                @if working && operation.kind == OperationKind::Connect {
                    p #sign-in-status role="status" { "Working: the backup application is being registered in the tenant…" }
                    @if let Some(steps) = connect_steps::steps(&operation, true) { (steps) }
                } @else if working {
                    p #sign-in-status role="status" { "Working: the certificate is being created or read, then attached and checked with Entra ID…" }
                } @else {
                    @if operation.step == OperationStep::AwaitingSignIn {
                        (browser_sign_in::section(&caller, &operation, &methods))
                    }
                    (step_body(&state, &caller, &operation))
                }
                @if abandonable && past_sign_in(operation.step) {
                    (abandon_notice(&caller, &operation))
                }
            }
        }
    };
    render(
        Page {
            title,
            caller: Some(&caller),
            refresh_without_js: waiting.then_some(5),
        },
        body,
    )
    .into_response()
}

/// Past the sign-in and not finished: the operation works on its own (a background task, or
/// nothing any more, when it may be abandoned).
fn past_sign_in(step: OperationStep) -> bool {
    !step.is_finished()
        && !matches!(
            step,
            OperationStep::AwaitingSignIn | OperationStep::SignedIn
        )
}

fn step_body(state: &AppState, caller: &Caller, operation: &Operation) -> Markup {
    let back = if operation.kind == OperationKind::Connect {
        html! { p { a href={ "/organizations/" (operation.organization) } { "Back to the organization" } } }
    } else {
        html! { p { a href={ "/organizations/" (operation.organization) "/settings/system" } { "Back to SSL Certificate" } } }
    };
    match operation.step {
        OperationStep::AwaitingSignIn => {
            let Some(prompt) = &operation.sign_in else {
                // No device code (the tenant blocks the flow): the browser section above.
                return html! { (cancel_form(caller, operation)) (back) };
            };
            let remaining = (prompt.expires_at - state.workflows.now())
                .whole_seconds()
                .max(0);
            let connecting = operation.kind == OperationKind::Connect;
            html! {
                @if connecting { (super::connect::required_roles()) }
                ol.steps {
                    li {
                        "Copy this code: "
                        output #user-code { (prompt.user_code) }
                        " "
                        button.copy type="button" data-copy=(prompt.user_code) hidden { "Copy code" }
                    }
                    li {
                        "Open " a #verification-link href=(prompt.verification_uri) target="_blank" rel="noopener" { (prompt.verification_uri) }
                        @if connecting {
                            ", paste the code and sign in with an account of the tenant that holds the roles above."
                        } @else {
                            ", paste the code and sign in with an account that may manage the application registration."
                        }
                    }
                    li { "Come back here: this page notices the sign-in." }
                }
                p { "The code expires in "
                    span #countdown data-expires-at=(prompt.expires_at.format(&Rfc3339).unwrap_or_default()) { (remaining / 60) " min " (remaining % 60) " s" }
                    "." }
                p #sign-in-status role="status" aria-live="polite" { "Waiting for the sign-in…" }
                p { a href={ "/operations/" (operation.id) } { "Check again" } }
                (cancel_form(caller, operation))
            }
        }
        OperationStep::SignedIn => {
            let who = operation
                .signed_in_as
                .as_deref()
                .unwrap_or("an administrator");
            html! {
                p #sign-in-status role="status" { "Signed in as " strong { (who) } "." }
                @if caller.may(Permission::ManageCertificates) {
                    @match operation.kind {
                        OperationKind::Generate => {
                            p { "tenantlink will create a new key and certificate, add it to the application registration (keeping its other keys), check that Entra ID issues a token with it, and then make it active." }
                            form method="post" action={ "/operations/" (operation.id) "/generate" } {
                                (csrf_field(caller))
                                button type="submit" { "Generate" }
                            }
                        }
                        OperationKind::Upload => {
                            form.stack method="post" enctype="multipart/form-data" action={ "/operations/" (operation.id) "/import" } {
                                (csrf_field(caller))
                                label for="pfx-file" { "Select Certificate file (.pfx)" }
                                input #pfx-file type="file" name="file" accept=".pfx,.p12" required;
                                label for="pfx-password" { "Password (Optional)" }
                                input #pfx-password type="password" name="password" autocomplete="off";
                                button type="submit" { "Import" }
                            }
                        }
                        OperationKind::Connect => {
                            p { "tenantlink will register the backup application in this tenant (or reuse the one it registered before), create its service principal, grant admin consent to its Microsoft Graph application permissions, make it an owner of itself, and then create, attach and check its first certificate." }
                            form method="post" action={ "/operations/" (operation.id) "/connect" } {
                                (csrf_field(caller))
                                button type="submit" { "Connect" }
                            }
                        }
                        // A rotation never waits for a sign-in.
                        OperationKind::Rotate => {}
                    }
                    (cancel_form(caller, operation))
                }
            }
        }
        OperationStep::ApplicationCreated
        | OperationStep::ServicePrincipalCreated
        | OperationStep::PermissionsGranted
        | OperationStep::OwnerAdded => html! {
            p #sign-in-status role="status" { "Working: the backup application is being registered and consented (" (operation.step.as_str().replace('_', " ")) ")…" }
            (connect_steps_of(operation))
        },
        OperationStep::CertificateStored | OperationStep::KeyAdded | OperationStep::Attached
            if operation.kind == OperationKind::Rotate =>
        {
            html! {
                p #sign-in-status role="status" { "Working: the new key is being added to the application and checked with Entra ID, without a sign-in…" }
                (rotate_steps::steps(operation.step))
            }
        }
        OperationStep::CertificateStored | OperationStep::KeyAdded | OperationStep::Attached => {
            html! {
                p #sign-in-status role="status" { "Working: the certificate is being attached and checked with Entra ID…" }
                (connect_steps_of(operation))
            }
        }
        OperationStep::Succeeded if operation.kind == OperationKind::Connect => html! {
            p.success role="status" { "The organization is connected: its backup application is registered and consented, and its certificate is active." }
            (connect_steps_of(operation))
            p { a href={ "/organizations/" (operation.organization) } { "Open the organization" } }
        },
        OperationStep::Succeeded => html! {
            p.success role="status" { "The new certificate is active." }
            @if let Some(t) = &operation.sha1_thumbprint { p { "SHA-1 thumbprint: " (thumbprint(t)) } }
            @if operation.kind == OperationKind::Rotate {
                (rotate_steps::steps(operation.step))
                p { "The previous key stays on the application until its planned removal, shown on the SSL Certificate page." }
            }
            (back)
        },
        OperationStep::Failed => html! {
            @if let Some(failure) = &operation.failure {
                div.error role="alert" {
                    p.message { (failure.message) }
                    p.remediation { strong { "What to do: " } (failure.remediation) }
                    p.code { "Error code: " code { (failure.code) } }
                }
            }
            @if operation.kind != OperationKind::Connect {
                p { "The previous certificate is still the active one." }
            }
            (connect_steps_of(operation))
            @if operation.kind == OperationKind::Connect {
                p { "What was registered in the tenant so far stays there and is reused: fix the cause, then Reconnect the organization from its page." }
            }
            @if operation.kind == OperationKind::Rotate {
                p { "tenantlink took the new key off the application again if it had been added. Rotate now tries again; Generate or Upload replace the certificate with a sign-in." }
            }
            (back)
        },
        OperationStep::Cancelled => html! {
            p role="status" { "This operation was cancelled; nothing changed." }
            (back)
        },
    }
}

/// Connect's step list (nothing for the other kinds).
fn connect_steps_of(operation: &Operation) -> Markup {
    html! {
        @if operation.kind == OperationKind::Connect {
            @if let Some(steps) = connect_steps::steps(operation, false) { (steps) }
        }
    }
}

/// For an operation past its sign-in that nothing carries any more (its task here ended without
/// finishing it, e.g. after repeated database failures): the way out.
fn abandon_notice(caller: &Caller, operation: &Operation) -> Markup {
    html! {
        div #abandon .notice role="status" {
            p { "No task of tenantlink carries this operation any more, so it will not finish by itself." }
            p { "Abandon it to end it as failed (the previous certificate stays active) and start again:" }
            (abandon_form(caller, operation))
        }
    }
}

fn abandon_form(caller: &Caller, operation: &Operation) -> Markup {
    html! {
        form method="post" action={ "/operations/" (operation.id) "/abandon" } {
            (csrf_field(caller))
            button.secondary type="submit" { "Abandon" }
        }
    }
}

fn cancel_form(caller: &Caller, operation: &Operation) -> Markup {
    html! {
        form method="post" action={ "/operations/" (operation.id) "/cancel" } {
            (csrf_field(caller))
            button.secondary type="submit" { "Cancel" }
        }
    }
}

/// After a button: the operation page, which follows its step, or the explained refusal.
fn back_to_operation<T>(
    caller: &Caller,
    id: OperationId,
    result: tenantlink_service::ServiceResult<T>,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/operations/{id}")).into_response(),
        Err(err) => error_page(Some(caller), &err),
    }
}

pub async fn generate(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OperationId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    // Starts the background task and shows the operation page, which follows its step.
    back_to_operation(
        &caller,
        id,
        state.workflows.start_generate(&caller, id).await,
    )
}

/// Connect's steps after its sign-in, as Generate follows its own.
pub async fn connect(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OperationId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    back_to_operation(
        &caller,
        id,
        state.workflows.start_connect_steps(&caller, id).await,
    )
}

pub async fn abandon(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OperationId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    back_to_operation(&caller, id, state.workflows.abandon(&caller, id).await)
}

pub async fn cancel(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OperationId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    back_to_operation(&caller, id, state.workflows.cancel(&caller, id).await)
}

/// The upload form, read field by field; the password lives only in a zeroizing `SecretString`.
pub(crate) struct ImportFields {
    pub csrf: String,
    pub file: Vec<u8>,
    pub password: Option<SecretString>,
}

pub(crate) async fn read_import_fields(mut multipart: Multipart) -> Result<ImportFields, String> {
    let mut fields = ImportFields {
        csrf: String::new(),
        file: Vec::new(),
        password: None,
    };
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        match field.name() {
            Some("csrf") => fields.csrf = field.text().await.map_err(|e| e.body_text())?,
            Some("file") => fields.file = field.bytes().await.map_err(|e| e.body_text())?.to_vec(),
            Some("password") => {
                let text = field.text().await.map_err(|e| e.body_text())?;
                fields.password = Some(SecretString::from(text));
            }
            _ => {}
        }
    }
    Ok(fields)
}

pub async fn import(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OperationId>,
    multipart: Multipart,
) -> Response {
    let fields = match read_import_fields(multipart).await {
        Ok(fields) => fields,
        Err(detail) => {
            return error_page(
                Some(&caller),
                &tenantlink_service::ServiceError::Invalid {
                    field: "file".into(),
                    message: format!("the upload could not be read: {detail}"),
                },
            );
        }
    };
    if !csrf_matches(&caller, &fields.csrf) {
        return csrf_rejected(&caller);
    }
    let started = state
        .workflows
        .start_import(&caller, id, fields.file, fields.password)
        .await;
    back_to_operation(&caller, id, started)
}
