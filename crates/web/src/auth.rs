//! Who is calling: a session cookie (portal and API) or an `Authorization: Bearer` API token.
//! Browser sessions must also present their CSRF token on every state-changing request.

use crate::AppState;
use crate::cookies::{cookie_value, portal_cookie, removal_cookie};
use crate::error::problem_response;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use tenantlink_service::{Caller, CallerVia, SecretString, SessionIssued};

/// The session cookie's base name (`__Host-tenantlink_session` when cookies are secure).
pub const SESSION_COOKIE: &str = "tenantlink_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The sign-in form's own CSRF secret (login CSRF), set before there is a session.
pub const LOGIN_CSRF_COOKIE: &str = "tenantlink_login_csrf";

async fn caller_from_parts(parts: &Parts, state: &AppState) -> Result<Option<Caller>, Response> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let Some(token) = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) else {
            return Err(unauthorized(
                "the Authorization header must be `Bearer <API token>`",
            ));
        };
        let token = SecretString::new(token.trim());
        return match state.accounts.token_caller(&token).await {
            Ok(Some(caller)) => Ok(Some(caller)),
            Ok(None) => Err(unauthorized("the API token is unknown or expired")),
            Err(err) => Err(crate::error::ApiError(err).into_response()),
        };
    }
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(token) = session_token(&jar, state.settings.secure_cookies) else {
        return Ok(None);
    };
    state
        .accounts
        .session_caller(&token)
        .await
        .map_err(|err| crate::error::ApiError(err).into_response())
}

fn unauthorized(detail: &str) -> Response {
    let mut response = problem_response(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Authentication required",
        detail.to_owned(),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer"),
    );
    response
}

/// An API caller. Unauthenticated requests get a 401 problem; cookie-authenticated
/// state-changing requests without the matching `X-CSRF-Token` header get a 403 problem.
#[derive(Debug)]
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(caller) = caller_from_parts(parts, state).await? else {
            return Err(unauthorized(
                "sign in, or send an API token as `Authorization: Bearer <token>`",
            ));
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if caller.via == CallerVia::Session && !safe {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !csrf_matches(&caller, presented) {
                return Err(problem_response(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "CSRF token missing or wrong",
                    "requests authenticated by the session cookie must send the session's CSRF token in the X-CSRF-Token header".into(),
                ));
            }
        }
        Ok(Self(caller))
    }
}

/// A portal visitor who is signed in; others are sent to the sign-in page.
#[derive(Debug)]
pub struct PageCaller(pub Caller);

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Err(unauthorized(
                "the portal pages use the sign-in form, not API tokens",
            ));
        }
        match caller_from_parts(parts, state).await? {
            Some(caller) => Ok(Self(caller)),
            None => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// Compares the sign-in form's CSRF field with the digest of its cookie, in constant time.
pub fn login_csrf_matches(cookie_secret: &SecretString, presented: &str) -> bool {
    let expected = tenantlink_service::login_csrf_token_for(cookie_secret);
    expected.len() == presented.len()
        && expected
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Compares the presented CSRF token with the session's, in constant time.
pub fn csrf_matches(caller: &Caller, presented: &str) -> bool {
    match &caller.csrf_token {
        Some(expected) => {
            expected.len() == presented.len()
                && expected
                    .bytes()
                    .zip(presented.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        }
        None => false,
    }
}

/// The session cookie, named and shaped by [`crate::cookies`] like every portal cookie.
pub fn session_cookie(issued: &SessionIssued, secure: bool) -> Cookie<'static> {
    portal_cookie(SESSION_COOKIE, issued.token.expose().to_owned(), secure)
}

pub fn cleared_session_cookie(secure: bool) -> Cookie<'static> {
    removal_cookie(SESSION_COOKIE, secure)
}

/// The session token the browser sent, if any.
pub fn session_token(jar: &CookieJar, secure: bool) -> Option<SecretString> {
    cookie_value(jar, SESSION_COOKIE, secure).map(SecretString::new)
}

/// The sign-in form's CSRF cookie, by the same rule as every portal cookie: HttpOnly and
/// SameSite=Strict, so a page of another site can neither read it nor send it with a forged
/// sign-in (and `__Host-` + Secure over HTTPS, so a sibling host cannot plant one).
pub fn login_csrf_cookie(secret: &SecretString, secure: bool) -> Cookie<'static> {
    portal_cookie(LOGIN_CSRF_COOKIE, secret.expose().to_owned(), secure)
}

pub fn cleared_login_csrf_cookie(secure: bool) -> Cookie<'static> {
    removal_cookie(LOGIN_CSRF_COOKIE, secure)
}

/// The sign-in form's CSRF secret the browser sent, if any (an empty value counts as none).
pub fn login_csrf_token(jar: &CookieJar, secure: bool) -> Option<&str> {
    cookie_value(jar, LOGIN_CSRF_COOKIE, secure).filter(|value| !value.is_empty())
}
