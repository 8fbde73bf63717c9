//! The device sign-in page at the verification URI: enter the code, sign in with username and
//! password, answer "Are you trying to sign in to <application>?" with Continue or Cancel.
//! Plain HTML forms, no JavaScript; state between steps lives on the server (a one-time ticket).
//! Every visible field has a visible `<label for>` (not only a placeholder, which disappears
//! while typing and which assistive technology may not announce); the field names are the
//! form-post contract with MSAL-driven tests and must not change.

use crate::identity::device::{PageSignIn, SignInError, sign_in};
use crate::requestlog::Outcome;
use crate::secrets::{opaque_token, verify_password};
use crate::state::{SharedState, lock};
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/devicelogin", get(code_page).post(submit_code))
        .route("/devicelogin/signin", post(submit_credentials))
        .route("/devicelogin/consent", post(submit_consent))
}

async fn code_page() -> Html<String> {
    Html(code_form(None))
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    user_code: String,
}

async fn submit_code(State(state): State<SharedState>, Form(form): Form<CodeForm>) -> Response {
    let now = state.now();
    let found = lock(&state.devices)
        .pending(&form.user_code, now)
        .map(|flow| (flow.user_code.clone(), flow.client_name.clone()));
    match found {
        Ok((user_code, app)) => Html(credentials_form(&user_code, &app, None)).into_response(),
        Err(err) => failed(code_form(Some(&err.to_string())), &err),
    }
}

#[derive(Deserialize)]
struct CredentialsForm {
    user_code: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

impl std::fmt::Debug for CredentialsForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsForm")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

async fn submit_credentials(
    State(state): State<SharedState>,
    Form(form): Form<CredentialsForm>,
) -> Response {
    let now = state.now();
    let mut flows = lock(&state.devices);
    let flow = match flows.pending(&form.user_code, now) {
        Ok(flow) => flow,
        Err(err) => return failed(code_form(Some(&err.to_string())), &err),
    };
    let app = flow.client_name.clone();
    let checked = state.read(|d| {
        let (tenant, user) = sign_in::resolve_user(d, flow, &form.username)?;
        let user_entry = d
            .tenant_by_id(tenant)
            .and_then(|t| t.user_by_id(user))
            .ok_or(SignInError::UnknownUser)?;
        if !verify_password(&form.password, &user_entry.password_hash) {
            return Err(SignInError::WrongPassword);
        }
        Ok((tenant, user))
    });
    match checked {
        Ok((tenant, user)) => {
            let ticket = opaque_token();
            flow.signed_in = Some(PageSignIn {
                ticket: ticket.clone(),
                tenant,
                user,
            });
            Html(consent_form(&flow.user_code, &ticket, &app, &form.username)).into_response()
        }
        Err(err) => failed(
            credentials_form(&flow.user_code, &app, Some(&err.to_string())),
            &err,
        ),
    }
}

#[derive(Debug, Deserialize)]
struct ConsentForm {
    user_code: String,
    ticket: String,
    action: String,
}

async fn submit_consent(
    State(state): State<SharedState>,
    Form(form): Form<ConsentForm>,
) -> Response {
    let now = state.now();
    let mut flows = lock(&state.devices);
    let flow = match flows.pending(&form.user_code, now) {
        Ok(flow) => flow,
        Err(err) => return failed(code_form(Some(&err.to_string())), &err),
    };
    let Some(signed_in) = flow.signed_in.take().filter(|s| s.ticket == form.ticket) else {
        let err = SignInError::UnknownCode;
        return failed(
            code_form(Some(
                "Your sign-in session has ended. Enter the code again.",
            )),
            &err,
        );
    };
    let app = flow.client_name.clone();
    if form.action == "continue" {
        if let Err(err) = sign_in::complete(&state, flow, signed_in.tenant, signed_in.user) {
            return failed(
                page(
                    "You don't have access to this",
                    &error_paragraph(Some(&err.to_string())),
                ),
                &err,
            );
        }
        Html(page(
            "You're signed in",
            &format!(
                "<p>You have signed in to the {} application on your device. You may now close this window.</p>",
                escape(&app)
            ),
        ))
        .into_response()
    } else {
        flow.state = crate::identity::device::DeviceState::Declined;
        Html(page(
            "Sign-in cancelled",
            &format!(
                "<p>You have declined to sign in to {} on your device. You may now close this window.</p>",
                escape(&app)
            ),
        ))
        .into_response()
    }
}

fn failed(html: String, err: &SignInError) -> Response {
    let mut response = (StatusCode::BAD_REQUEST, Html(html)).into_response();
    response
        .extensions_mut()
        .insert(Outcome(err.kind().to_owned()));
    response
}

fn code_form(error: Option<&str>) -> String {
    page(
        "Enter code",
        &format!(
            r#"<p>Enter the code displayed on your app or device.</p>{}
<form method="post" action="/devicelogin">
<label for="user-code">Code</label>
<input id="user-code" name="user_code" autocomplete="off" autocapitalize="characters" spellcheck="false" autofocus>
<button type="submit">Next</button>
</form>"#,
            error_paragraph(error)
        ),
    )
}

fn credentials_form(user_code: &str, app: &str, error: Option<&str>) -> String {
    page(
        "Sign in",
        &format!(
            r#"<p>Sign in to continue to {}.</p>{}
<form method="post" action="/devicelogin/signin">
<input type="hidden" name="user_code" value="{}">
<label for="username">Email or phone</label>
<input id="username" name="username" type="email" autocomplete="username" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button>
</form>"#,
            escape(app),
            error_paragraph(error),
            escape(user_code)
        ),
    )
}

fn consent_form(user_code: &str, ticket: &str, app: &str, username: &str) -> String {
    page(
        &format!("Are you trying to sign in to {}?", escape(app)),
        &format!(
            r#"<p>Signed in as {}. Only continue if you downloaded the app from a store or website that you trust.</p>
<form method="post" action="/devicelogin/consent">
<input type="hidden" name="user_code" value="{}">
<input type="hidden" name="ticket" value="{}">
<button type="submit" name="action" value="cancel">Cancel</button>
<button type="submit" name="action" value="continue">Continue</button>
</form>"#,
            escape(username),
            escape(user_code),
            escape(ticket)
        ),
    )
}

pub(crate) fn error_paragraph(error: Option<&str>) -> String {
    error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default()
}

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - tenantlink sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:28em;margin:3em auto}}label{{display:block;margin-top:1em;font-weight:bold}}input,button{{display:block;margin:.3em 0 .5em;padding:.4em;width:100%;box-sizing:border-box}}.error{{color:#a00}}</style>
</head><body><p>tenantlink sandbox tenant</p><h1>{title}</h1>
{body}
</body></html>"#
    )
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
