//! The Users page (Administrators): every account with its role and state, and the forms to add
//! one, change a role, disable or enable, reset a password and end an account's sessions. Each
//! form carries the session's CSRF token; the service checks the role and audits.

use super::layout::{Page, csrf_field, csrf_rejected, error_page, render, time_text};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tenantlink_service::{
    Caller, MIN_PASSWORD_CHARS, Role, SecretString, ServiceError, UserId, UserRecord,
};
use uuid::Uuid;

const ROLES: [Role; 3] = [Role::Viewer, Role::Operator, Role::Administrator];

/// A `<select name="role">` with `selected` chosen.
pub fn role_select(selected: Role) -> Markup {
    html! {
        select name="role" {
            @for role in ROLES {
                option value=(role.as_str()) selected[role == selected] { (role.label()) }
            }
        }
    }
}

pub fn parse_role(text: &str) -> Result<Role, ServiceError> {
    Role::parse(text).ok_or_else(|| ServiceError::Invalid {
        field: "role".into(),
        message: "choose Viewer, Operator or Administrator".into(),
    })
}

pub async fn page(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    match state.accounts.users(&caller).await {
        Ok(users) => users_page(&caller, &users),
        Err(err) => error_page(Some(&caller), &err),
    }
}

fn users_page(caller: &Caller, users: &[UserRecord]) -> Response {
    let body = html! {
        h1 { "Users" }
        p { "Disabling an account ends its sessions and revokes its API tokens at once. The last enabled Administrator can be neither disabled nor demoted, so that someone can always manage accounts." }
        table #users {
            thead { tr { th { "User" } th { "Role" } th { "State" } th { "Created" } th { "Actions" } } }
            tbody {
                @for user in users {
                    tr data-username=(user.username) data-disabled=(user.disabled) {
                        td { (user.username) }
                        td {
                            form.inline method="post" action={ "/users/" (user.id) "/role" } {
                                (csrf_field(caller))
                                label { span.visually-hidden { "Role of " (user.username) } (role_select(user.role)) }
                                button.secondary type="submit" { "Change role" }
                            }
                        }
                        td { (if user.disabled { "Disabled" } else { "Enabled" }) }
                        td { (time_text(user.created_at)) }
                        td { (user_actions(caller, user)) }
                    }
                }
            }
        }
        section aria-labelledby="add-user-heading" {
            h2 #add-user-heading { "Add a user" }
            form #add-user method="post" action="/users" {
                (csrf_field(caller))
                label { "User name" input type="text" name="username" required maxlength="64" autocomplete="off"; }
                label { "Password (at least " (MIN_PASSWORD_CHARS) " characters)" input type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password"; }
                label { "Role" (role_select(Role::Viewer)) }
                button type="submit" { "Add user" }
            }
        }
    };
    render(
        Page {
            title: "Users",
            caller: Some(caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}

fn user_actions(caller: &Caller, user: &UserRecord) -> Markup {
    let id = user.id;
    html! {
        div.actions.row-actions {
            @if user.disabled {
                form method="post" action={ "/users/" (id) "/enable" } {
                    (csrf_field(caller))
                    button.secondary type="submit" { "Enable" }
                }
            } @else {
                form method="post" action={ "/users/" (id) "/disable" } {
                    (csrf_field(caller))
                    button.secondary type="submit" { "Disable" }
                }
            }
            form method="post" action={ "/users/" (id) "/sessions/end" } {
                (csrf_field(caller))
                button.secondary type="submit" { "End sessions" }
            }
            form method="post" action={ "/users/" (id) "/password" } {
                (csrf_field(caller))
                label { span.visually-hidden { "New password for " (user.username) } input type="password" name="password" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password" placeholder="New password"; }
                button.secondary type="submit" { "Reset password" }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct AddUserForm {
    #[serde(default)]
    csrf: String,
    username: String,
    password: String,
    role: String,
}

pub async fn add(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Form(form): Form<AddUserForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let password = SecretString::new(form.password);
    let result = match parse_role(&form.role) {
        Ok(role) => {
            state
                .accounts
                .add_user(&caller, &form.username, &password, role)
                .await
        }
        Err(err) => Err(err),
    };
    done(&caller, result.map(|_| ()))
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
    Form(form): Form<RoleForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let result = match parse_role(&form.role) {
        Ok(role) => state.accounts.change_role(&caller, UserId(id), role).await,
        Err(err) => Err(err),
    };
    done(&caller, result.map(|_| ()))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn disable(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let result = state.accounts.disable_user(&caller, UserId(id)).await;
    done(&caller, result.map(|_| ()))
}

pub async fn enable(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let result = state.accounts.enable_user(&caller, UserId(id)).await;
    done(&caller, result.map(|_| ()))
}

pub async fn end_sessions(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let result = state.accounts.end_sessions(&caller, UserId(id)).await;
    // Ending one's own sessions signs the caller out too.
    done(&caller, result.map(|_| ()))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    password: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let password = SecretString::new(form.password);
    let result = state
        .accounts
        .reset_password(&caller, UserId(id), &password)
        .await;
    done(&caller, result)
}

/// Back to the list after a change, or the reason it was refused.
fn done(caller: &Caller, result: Result<(), ServiceError>) -> Response {
    match result {
        Ok(()) => Redirect::to("/users").into_response(),
        Err(err) => error_page(Some(caller), &err),
    }
}
