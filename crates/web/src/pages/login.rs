use super::layout::{Page, csrf_rejected, render};
use crate::AppState;
use crate::auth::{
    PageCaller, cleared_login_csrf_cookie, cleared_session_cookie, csrf_matches, login_csrf_cookie,
    login_csrf_matches, login_csrf_token, session_cookie,
};
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

/// The most a sign-in form body may have: a user name of `MAX_SIGN_IN_USERNAME_BYTES`, a password
/// of `MAX_PASSWORD_LEN` (both percent-encoded, up to 3 bytes per byte) and the CSRF field fit;
/// a larger body is refused with 413 before it is read further.
pub const LOGIN_BODY_LIMIT: usize = 3
    * (tenantlink_service::MAX_SIGN_IN_USERNAME_BYTES + tenantlink_service::MAX_PASSWORD_LEN)
    + 256;

/// The sign-in form, with the CSRF secret of this browser (set now when it has none).
pub async fn form(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, csrf) = login_csrf(jar, &state);
    (jar, login_page(&state, &csrf, None, StatusCode::OK)).into_response()
}

/// The browser's login-CSRF secret if it sent one, else a fresh one set as a cookie; and the
/// form field that goes with it.
fn login_csrf(jar: CookieJar, state: &AppState) -> (CookieJar, String) {
    if let Some(secret) = login_csrf_token(&jar, state.settings.secure_cookies) {
        let field = tenantlink_service::login_csrf_token_for(&SecretString::new(secret));
        return (jar, field);
    }
    fresh_login_csrf(jar, state)
}

/// A new login-CSRF secret set as a cookie (replacing the browser's), and its form field.
fn fresh_login_csrf(jar: CookieJar, state: &AppState) -> (CookieJar, String) {
    let secret = tenantlink_service::new_login_csrf_secret();
    let field = tenantlink_service::login_csrf_token_for(&secret);
    (
        jar.add(login_csrf_cookie(&secret, state.settings.secure_cookies)),
        field,
    )
}

fn login_page(state: &AppState, csrf: &str, error: Option<&str>, status: StatusCode) -> Response {
    let body = html! {
        h1 { "Sign in to tenantlink" }
        @if let Some(error) = error {
            p.error role="alert" { (error) }
        }
        form.login method="post" action="/login" {
            input type="hidden" name="csrf" value=(csrf);
            label for="username" { "Username" }
            input #username type="text" name="username" autocomplete="username" required autofocus
                maxlength=(tenantlink_service::MAX_SIGN_IN_USERNAME_BYTES);
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
    #[serde(default)]
    csrf: String,
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

/// In order, each refusal before anything is written: the body limit (413, by the route's
/// layer), the login CSRF check (403), the shape of the user name (400). Then the attempt counts
/// against the client address, throttled or not (429 when over its limit), and the service
/// checks the (user name, address) pair's delay before the password.
pub async fn submit(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<AddressThrottle>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let csrf_ok = login_csrf_token(&jar, state.settings.secure_cookies)
        .is_some_and(|secret| login_csrf_matches(&SecretString::new(secret), &form.csrf));
    if !csrf_ok {
        tracing::warn!("sign-in refused: the form's CSRF field does not match its cookie");
        // A fresh secret, so reloading is not needed to try again from this page.
        let (jar, csrf) = fresh_login_csrf(jar, &state);
        let page = login_page(
            &state,
            &csrf,
            Some("This sign-in form was not sent from a current tenantlink page. Sign in again."),
            StatusCode::FORBIDDEN,
        );
        return (jar, page).into_response();
    }
    let (jar, csrf) = login_csrf(jar, &state);
    let username = match tenantlink_service::sign_in_username(&form.username) {
        Ok(username) => username,
        Err(err) => {
            let page = login_page(
                &state,
                &csrf,
                Some(&err.to_string()),
                StatusCode::BAD_REQUEST,
            );
            return (jar, page).into_response();
        }
    };
    let client = ClientKey::from_peer(peer.map(|Extension(ConnectInfo(addr))| addr.ip()));
    if let Err(RetryAfter(seconds)) = throttle.attempt(client, state.workflows.now()) {
        tracing::warn!(client = ?client, "sign-in refused: too many sign-in attempts from this address");
        let message = format!(
            "Too many failed sign-ins from your network address. Try again in {} minute(s).",
            seconds.div_ceil(60)
        );
        return (jar, throttled_page(&state, &csrf, &message, seconds)).into_response();
    }
    let password = SecretString::new(form.password);
    let page = match state.accounts.log_in(username, &password, client).await {
        Ok(issued) => {
            throttle.forgive(client, state.workflows.now());
            let jar = jar
                .remove(cleared_login_csrf_cookie(state.settings.secure_cookies))
                .add(session_cookie(&issued, state.settings.secure_cookies));
            return (jar, Redirect::to("/organizations")).into_response();
        }
        Err(ServiceError::Throttled {
            retry_after_seconds,
        }) => {
            let explained = ServiceError::Throttled {
                retry_after_seconds,
            }
            .to_string();
            throttled_page(&state, &csrf, &explained, retry_after_seconds)
        }
        Err(ServiceError::BadCredentials) => login_page(
            &state,
            &csrf,
            Some("The user name or password is wrong."),
            StatusCode::UNAUTHORIZED,
        ),
        Err(err @ ServiceError::Invalid { .. }) => login_page(
            &state,
            &csrf,
            Some(&err.to_string()),
            StatusCode::BAD_REQUEST,
        ),
        Err(err) => super::layout::error_page(None, &err),
    };
    (jar, page).into_response()
}

/// 429 with the sign-in form, the explanation and `Retry-After`.
fn throttled_page(
    state: &AppState,
    csrf: &str,
    message: &str,
    retry_after_seconds: u64,
) -> Response {
    let mut response = login_page(state, csrf, Some(message), StatusCode::TOO_MANY_REQUESTS);
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
