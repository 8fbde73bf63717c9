use super::layout::{Page, csrf_rejected, render};
use crate::AppState;
use crate::auth::{PageCaller, cleared_session_cookie, csrf_matches, session_cookie};
use crate::throttle::{AddressThrottle, ClientKey, RetryAfter};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::CookieJar;
use maud::html;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
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
/// is SameSite=Strict. Attempts are throttled per client address before the password is checked,
/// and per user name by the service.
pub async fn submit(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<AddressThrottle>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let client = ClientKey::from_peer(peer.map(|Extension(ConnectInfo(addr))| addr.ip()));
    let now = state.workflows.now();
    if let Err(RetryAfter(seconds)) = throttle.check(client, now) {
        tracing::warn!(client = ?client, "sign-in refused: too many failed sign-ins from this address");
        let message = format!(
            "Too many failed sign-ins from your network address. Try again in {} minute(s).",
            seconds.div_ceil(60)
        );
        return throttled_page(&state, &message, seconds);
    }
    let password = SecretString::new(form.password);
    match state.accounts.log_in(form.username.trim(), &password).await {
        Ok(issued) => {
            let jar = jar.add(session_cookie(&issued, state.settings.secure_cookies));
            (jar, Redirect::to("/organizations")).into_response()
        }
        Err(ServiceError::Throttled {
            retry_after_seconds,
        }) => {
            let explained = ServiceError::Throttled {
                retry_after_seconds,
            }
            .to_string();
            throttled_page(&state, &explained, retry_after_seconds)
        }
        Err(ServiceError::BadCredentials) => {
            throttle.record_failure(client, now);
            login_page(
                &state,
                Some("The user name or password is wrong."),
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(err) => super::layout::error_page(None, &err),
    }
}

/// 429 with the sign-in form, the explanation and `Retry-After`.
fn throttled_page(state: &AppState, message: &str, retry_after_seconds: u64) -> Response {
    let mut response = login_page(state, Some(message), StatusCode::TOO_MANY_REQUESTS);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
    response
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
    let secure = state.settings.secure_cookies;
    if let Some(token) = crate::auth::session_token(&jar, secure)
        && let Err(err) = state.accounts.log_out(&token, &caller).await
    {
        return super::layout::error_page(Some(&caller), &err);
    }
    (
        jar.add(cleared_session_cookie(secure)),
        Redirect::to("/login"),
    )
        .into_response()
}
