//! The API tokens page (Administrators): every token with its role, owner, creation, last use
//! and expiry (never the secret), a form to issue one with an expiry, and Revoke. A new token's
//! secret is shown once, on the page that answers the form.

use super::layout::{Page, csrf_field, csrf_rejected, error_page, render, time_text};
use super::users::{parse_role, role_select};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use tenantlink_service::{
    ApiTokenId, ApiTokenIssued, ApiTokenRecord, Caller, DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME,
    Role, ServiceError,
};
use time::Duration;
use uuid::Uuid;

pub async fn page(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    list(&state, &caller, None).await
}

async fn list(state: &AppState, caller: &Caller, issued: Option<&ApiTokenIssued>) -> Response {
    let (tokens, users) = match (
        state.accounts.api_tokens(caller).await,
        state.accounts.users(caller).await,
    ) {
        (Ok(tokens), Ok(users)) => (tokens, users),
        (Err(err), _) | (_, Err(err)) => return error_page(Some(caller), &err),
    };
    let owner_name = |token: &ApiTokenRecord| {
        users
            .iter()
            .find(|u| Some(u.id) == token.owner)
            .map_or_else(|| "—".to_owned(), |u| u.username.clone())
    };
    let now = state.workflows.now();
    let body = html! {
        h1 { "API tokens" }
        p { "A token acts for the account that created it: never above that account's role, and not at all once the account is disabled. Send it as " code { "Authorization: Bearer <token>" } "." }
        @if let Some(issued) = issued {
            section.notice #new-token role="status" {
                h2 { "New token “" (issued.record.name) "”" }
                p { "Copy it now: it is shown only this once and stored only as a hash." }
                pre { code #new-token-secret { (issued.token.expose()) } }
            }
        }
        table #tokens {
            thead { tr { th { "Name" } th { "Role" } th { "Owner" } th { "Created" } th { "Last used" } th { "Expires" } th { "State" } th {} } }
            tbody {
                @for token in &tokens {
                    @let live = token.is_live_at(now);
                    tr data-name=(token.name) data-live=(live) {
                        td { (token.name) }
                        td { (token.role.label()) }
                        td { (owner_name(token)) }
                        td { (time_text(token.created_at)) " by " (token.created_by) }
                        td { (token.last_used_at.map_or_else(|| "Never".to_owned(), time_text)) }
                        td { (time_text(token.expires())) }
                        td {
                            @if token.revoked_at.is_some() { "Revoked" }
                            @else if live { "Active" }
                            @else { "Expired" }
                        }
                        td {
                            @if token.revoked_at.is_none() {
                                form method="post" action={ "/tokens/" (token.id) "/revoke" } {
                                    (csrf_field(caller))
                                    button.secondary type="submit" { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="new-token-heading" {
            h2 #new-token-heading { "Issue a token" }
            form #issue-token method="post" action="/tokens" {
                (csrf_field(caller))
                label { "Name" input type="text" name="name" required maxlength="64" autocomplete="off"; }
                label { "Role" (role_select(Role::Viewer)) }
                label { "Expires in (days)" input type="number" name="expires_in_days" min="1" max=(MAX_TOKEN_LIFETIME.whole_days()) value=(DEFAULT_TOKEN_LIFETIME.whole_days()); }
                button type="submit" { "Issue token" }
            }
        }
    };
    render(
        Page {
            title: "API tokens",
            caller: Some(caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    name: String,
    role: String,
    #[serde(default)]
    expires_in_days: String,
}

pub async fn issue(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Form(form): Form<IssueForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let days = form.expires_in_days.trim();
    let lifetime = match days {
        "" => Ok(None),
        text => text
            .parse::<i64>()
            .map(|days| Some(Duration::days(days)))
            .map_err(|_| ServiceError::Invalid {
                field: "expires_in_days".into(),
                message: "the expiry is a whole number of days".into(),
            }),
    };
    let issued = match (parse_role(&form.role), lifetime) {
        (Ok(role), Ok(lifetime)) => {
            state
                .accounts
                .issue_api_token(&caller, &form.name, role, lifetime)
                .await
        }
        (Err(err), _) | (_, Err(err)) => Err(err),
    };
    match issued {
        Ok(issued) => list(&state, &caller, Some(&issued)).await,
        Err(err) => error_page(Some(&caller), &err),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    match state
        .accounts
        .revoke_api_token(&caller, ApiTokenId(id))
        .await
    {
        Ok(_) => Redirect::to("/tokens").into_response(),
        Err(err) => error_page(Some(&caller), &err),
    }
}
