use super::layout::{Page, csrf_rejected, render};
use crate::AppState;
use crate::auth::{PageCaller, cleared_session_cookie, csrf_matches, session_cookie};
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use maud::html;
use serde::Deserialize;
use tenantlink_service::{SecretString, ServiceError};

pub async fn form(State(state): State<AppState>) -> Response {
    login_page(&state, None, StatusCode::OK)
}

fn login_page(state: &AppState, error: Option<&str>, status: StatusCode) -> Response {
    let body = html! {
        h1 { "Sign in to tenantlink" }
        @if let Some(error) = error {
            p.error role="alert" { (error) }
        }
        form.login method="post" action="/login" {
            label for="username" { "Username" }
            input #username type="text" name="username" autocomplete="username" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            button type="submit" { "Sign in" }
        }
        @if let Some(url) = &state.settings.sandbox_url {
            p.hint { "This instance is connected to the sandbox tenant at " a href=(url) { (url) } "." }
        }
    };
    (
        status,
        render(
            Page {
                title: "Sign in",
                caller: None,
                refresh_without_js: None,
            },
            body,
        ),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The sign-in form needs no CSRF token: there is no session to ride yet, and the session cookie
/// is SameSite=Strict.
pub async fn submit(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let password = SecretString::new(form.password);
    match state.accounts.log_in(form.username.trim(), &password).await {
        Ok(issued) => {
            let jar = jar.add(session_cookie(&issued, state.settings.secure_cookies));
            (jar, Redirect::to("/organizations")).into_response()
        }
        Err(err @ ServiceError::Throttled { .. }) => login_page(
            &state,
            Some(&err.to_string()),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(ServiceError::BadCredentials) => login_page(
            &state,
            Some("The user name or password is wrong."),
            StatusCode::UNAUTHORIZED,
        ),
        Err(err) => super::layout::error_page(None, &err),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    if let Some(cookie) = jar.get(crate::auth::SESSION_COOKIE) {
        let token = SecretString::new(cookie.value());
        if let Err(err) = state.accounts.log_out(&token, &caller).await {
            return super::layout::error_page(Some(&caller), &err);
        }
    }
    (jar.add(cleared_session_cookie()), Redirect::to("/login")).into_response()
}
