//! The form that creates or edits a backup policy. A refused input comes back in the form with
//! the explanation (e.g. the schedule's parse error) and what was typed.

use super::layout::{Page, csrf_field, csrf_rejected, error_page, render};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use tenantlink_backup::PolicyInput;
use tenantlink_service::{BackupPolicy, BackupScope, PolicyId};
use tenantlink_service::{Caller, OrganizationId, Permission, ServiceError};
use uuid::Uuid;

#[derive(Debug, Default, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    schedule: String,
    /// `all` or `users`.
    #[serde(default)]
    scope: String,
    /// User principal names, one per line (commas and spaces also separate).
    #[serde(default)]
    users: String,
    /// Present when the box is ticked.
    #[serde(default)]
    enabled: Option<String>,
}

impl PolicyForm {
    fn of(policy: &BackupPolicy) -> Self {
        let (scope, users) = match &policy.scope {
            BackupScope::AllUsers => ("all", String::new()),
            BackupScope::Users(users) => ("users", users.join("\n")),
        };
        Self {
            csrf: String::new(),
            name: policy.name.clone(),
            schedule: policy.schedule.clone(),
            scope: scope.to_owned(),
            users,
            enabled: policy.enabled.then(|| "on".to_owned()),
        }
    }

    fn fresh() -> Self {
        Self {
            scope: "all".to_owned(),
            enabled: Some("on".to_owned()),
            ..Self::default()
        }
    }

    fn to_input(&self) -> PolicyInput {
        let scope = if self.scope == "users" {
            BackupScope::Users(
                self.users
                    .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
        } else {
            BackupScope::AllUsers
        };
        PolicyInput {
            name: self.name.clone(),
            schedule: self.schedule.clone(),
            scope,
            enabled: self.enabled.is_some(),
        }
    }
}

/// Where the form posts and what it is about.
struct Target {
    action: String,
    title: &'static str,
    submit: &'static str,
    cancel: String,
}

pub async fn new_form(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(organization): Path<OrganizationId>,
) -> Response {
    if let Err(err) = caller.require(Permission::ManagePolicies) {
        return error_page(Some(&caller), &err);
    }
    if let Err(err) = state.workflows.organization(&caller, organization).await {
        return error_page(Some(&caller), &err);
    }
    form_page(
        &caller,
        &create_target(organization),
        &PolicyForm::fresh(),
        None,
    )
}

pub async fn create(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(organization): Path<OrganizationId>,
    Form(form): Form<PolicyForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    match state
        .policies
        .create(&caller, organization, form.to_input())
        .await
    {
        Ok(policy) => Redirect::to(&format!("/policies/{}", policy.id)).into_response(),
        Err(err) => refused(&caller, &create_target(organization), &form, err),
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
) -> Response {
    if let Err(err) = caller.require(Permission::ManagePolicies) {
        return error_page(Some(&caller), &err);
    }
    match state.policies.policy(&caller, PolicyId(id)).await {
        Ok(overview) => form_page(
            &caller,
            &edit_target(overview.policy.id),
            &PolicyForm::of(&overview.policy),
            None,
        ),
        Err(err) => error_page(Some(&caller), &err),
    }
}

pub async fn update(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
    Form(form): Form<PolicyForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let id = PolicyId(id);
    match state.policies.update(&caller, id, form.to_input()).await {
        Ok(policy) => Redirect::to(&format!("/policies/{}", policy.id)).into_response(),
        Err(err) => refused(&caller, &edit_target(id), &form, err),
    }
}

fn create_target(organization: OrganizationId) -> Target {
    Target {
        action: format!("/organizations/{organization}/policies"),
        title: "New backup policy",
        submit: "Create policy",
        cancel: format!("/organizations/{organization}"),
    }
}

fn edit_target(id: PolicyId) -> Target {
    Target {
        action: format!("/policies/{id}/edit"),
        title: "Edit backup policy",
        submit: "Save policy",
        cancel: format!("/policies/{id}"),
    }
}

/// Invalid input goes back into the form; anything else is an error page.
fn refused(caller: &Caller, target: &Target, form: &PolicyForm, err: ServiceError) -> Response {
    match err {
        ServiceError::Invalid { message, .. } => {
            let mut response = form_page(caller, target, form, Some(&message));
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        other => error_page(Some(caller), &other),
    }
}

fn form_page(caller: &Caller, target: &Target, form: &PolicyForm, error: Option<&str>) -> Response {
    let listed = form.scope == "users";
    let body = html! {
        h1 { (target.title) }
        @if let Some(error) = error {
            p.error #form-error role="alert" { (error) }
        }
        form.stack method="post" action=(target.action) {
            (csrf_field(caller))
            label for="name" { "Name" }
            input #name type="text" name="name" required maxlength="100" value=(form.name);
            label for="schedule" { "Schedule" }
            input #schedule type="text" name="schedule" value=(form.schedule)
                placeholder="every 6h" aria-describedby="schedule-help";
            small #schedule-help {
                "An interval (" code { "every 6h" } ", " code { "30m" } ", " code { "1d12h" }
                "; at least 5 minutes) or a cron expression in UTC (" code { "0 2 * * *" }
                "). Leave it blank to run the policy only with Run now."
            }
            fieldset {
                legend { "Scope" }
                label {
                    input type="radio" name="scope" value="all" checked[!listed];
                    " All users"
                }
                label {
                    input type="radio" name="scope" value="users" checked[listed];
                    " These users"
                }
                label for="users" { "Users to back up (user principal names, one per line)" }
                textarea #users name="users" rows="4" placeholder="adele@contoso.onmicrosoft.com" { (form.users) }
            }
            label {
                input #enabled type="checkbox" name="enabled" checked[form.enabled.is_some()];
                " Enabled (runs automatically)"
            }
            div.actions {
                button type="submit" { (target.submit) }
                a href=(target.cancel) { "Cancel" }
            }
        }
    };
    render(
        Page {
            title: target.title,
            caller: Some(caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}
