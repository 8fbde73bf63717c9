//! The browser sign-in from the portal: "Sign in with the browser instead" sends the browser to
//! Entra's `/authorize`, which comes back to `GET /oauth/callback`.
//!
//! The session cookie is `SameSite=Strict`, so the browser does not send it on the redirect
//! back from Entra (another site): the callback cannot rely on the session. Instead the start
//! sets a short-lived `SameSite=Lax` cookie holding a random binding, sent on that top-level
//! redirect; the service accepts the callback only with the binding and the `state` of the
//! attempt it started.
//!
//! Neither step answers with a redirect. The start is a form post, and the portal's CSP has
//! `form-action 'self'`, which browsers also apply to the redirects that follow a submission:
//! a 303 to Entra's `/authorize` is blocked. And a redirect from the callback to the operation
//! would still be part of a navigation Entra's site started, so the `Strict` session cookie would
//! not come with it and the browser would land on the sign-in form. Both answer a page of
//! tenantlink's own that moves on by itself (`meta refresh`, a navigation this page starts),
//! with a link for the rare browser that does not.

use super::layout::{csrf_rejected, error_page};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use crate::cookies::cookie_name;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use maud::{DOCTYPE, html};
use serde::Deserialize;
use tenantlink_service::browser_sign_in::OAuthCallback;
use tenantlink_service::{OperationId, SecretString};

/// The cookie tying a browser sign-in to the browser that started it.
const BINDING_COOKIE: &str = "tenantlink_browser_sign_in";
/// As long as the service waits for the callback.
const BINDING_MAX_AGE: time::Duration = time::Duration::minutes(10);

#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /operations/{id}/browser_sign_in`: starts the attempt and redirects to `/authorize`.
pub async fn start(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OperationId>,
    jar: CookieJar,
    Form(form): Form<StartForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let binding = tenantlink_service::browser_sign_in::random_binding();
    match state
        .workflows
        .start_browser_sign_in(&caller, id, Some(binding.clone()))
        .await
    {
        Ok(url) => {
            let secure = state.settings.secure_cookies;
            let mut cookie = Cookie::new(
                cookie_name(BINDING_COOKIE, secure),
                binding.expose().to_owned(),
            );
            cookie.set_http_only(true);
            // Lax: sent on the top-level redirect back from Entra, never on a cross-site POST.
            cookie.set_same_site(SameSite::Lax);
            cookie.set_secure(secure);
            cookie.set_path("/");
            cookie.set_max_age(BINDING_MAX_AGE);
            (
                jar.add(cookie),
                moving_on("Continue to Microsoft's sign-in page", &url),
            )
                .into_response()
        }
        Err(err) => error_page(Some(&caller), &err),
    }
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /oauth/callback`: completes the attempt, then shows the operation.
pub async fn callback(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let secure = state.settings.secure_cookies;
    let name = cookie_name(BINDING_COOKIE, secure);
    let binding = jar
        .get(&name)
        .map(|c| SecretString::new(c.value().to_owned()));
    let callback = OAuthCallback {
        state: query.state,
        code: query.code.map(SecretString::new),
        error: query.error,
        error_description: query.error_description,
    };
    match state
        .workflows
        .complete_browser_sign_in(callback, binding.as_ref())
        .await
    {
        Ok(operation) => {
            let mut removal = Cookie::from(name);
            removal.set_path("/");
            removal.make_removal();
            let url = format!("/operations/{}", operation.id);
            (jar.add(removal), moving_on("Back to the operation", &url)).into_response()
        }
        Err(err) => error_page(None, &err),
    }
}

/// A page that goes on to `url` at once (see the module's comment for why not a redirect).
fn moving_on(link: &str, url: &str) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content={ "0; url=" (url) };
                meta name="referrer" content="no-referrer";
                title { (link) " · tenantlink" }
                link rel="stylesheet" href="/static/style.css";
            }
            body { main { p { a #continue href=(url) { (link) } } } }
        }
    };
    Html(markup.into_string()).into_response()
}
