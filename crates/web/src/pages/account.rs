//! Changing one's own password (anyone signed in). The current password is required; every
//! session of the account ends, this one too, and the browser goes back to the sign-in page.

use super::layout::{Page, csrf_field, csrf_rejected, error_page, render};
use crate::AppState;
use crate::auth::{PageCaller, cleared_session_cookie, csrf_matches};
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use maud::html;
use serde::Deserialize;
use tenantlink_service::{MIN_PASSWORD_CHARS, SecretString};

pub async fn form(PageCaller(caller): PageCaller) -> Response {
    let body = html! {
        h1 { "Change your password" }
        p { "After the change every session of your account ends, this one too: sign in again with the new password." }
        form #change-password method="post" action="/account/password" {
            (csrf_field(&caller))
            label { "Current password" input type="password" name="current_password" required autocomplete="current-password"; }
            label { "New password (at least " (MIN_PASSWORD_CHARS) " characters)" input type="password" name="new_password" required minlength=(MIN_PASSWORD_CHARS) autocomplete="new-password"; }
            button type="submit" { "Change password" }
        }
    };
    render(
        Page {
            title: "Change your password",
            caller: Some(&caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current_password: String,
    new_password: String,
}

pub async fn change(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let current = SecretString::new(form.current_password);
    let new = SecretString::new(form.new_password);
    match state
        .accounts
        .change_own_password(&caller, &current, &new)
        .await
    {
        Ok(()) => (
            jar.add(cleared_session_cookie(state.settings.secure_cookies)),
            Redirect::to("/login"),
        )
            .into_response(),
        Err(err) => error_page(Some(&caller), &err),
    }
}
