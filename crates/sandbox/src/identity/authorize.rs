//! `GET /{tenant}/oauth2/v2.0/authorize` (authorization code flow with PKCE) and its sign-in
//! page, posted to `/{tenant}/login`: user name, password, Accept or Cancel. Accept redirects to
//! the client's `redirect_uri` with `code` and `state`; Cancel with `error=access_denied`
//! (AADSTS65004). Errors before the client and its redirect URI are known are shown as a page,
//! never redirected (a redirect to an unchecked URI would be an open redirector).
//!
//! Lenient where Entra is strict and the sandbox has nothing to check against: any absolute
//! `http`/`https` redirect URI is accepted (applications in the sandbox register none).

use super::authorization::{AuthorizationRequest, ChallengeMethod, ResponseMode};
use super::error::{AadError, ErrorContext};
use super::scopes::parse_delegated;
use super::{TenantScope, find_application, resolve_tenant};
use crate::pages::{error_paragraph, escape, page};
use crate::requestlog::Outcome;
use crate::secrets::verify_password;
use crate::state::{SharedState, lock};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

pub(crate) async fn authorize(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let context = ErrorContext::new(state.now(), &state.base_url, &headers);
    match begin(&state, &tenant, &params) {
        Ok(Begun::SignIn { ticket, request }) => Html(sign_in_form(
            &tenant,
            &ticket,
            &request.client_name,
            request.login_hint.as_deref().unwrap_or_default(),
            None,
        ))
        .into_response(),
        Ok(Begun::Refused { request, error }) => redirect_error(&request, &error, &context),
        Err(error) => error_page(&error, &context),
    }
}

enum Begun {
    SignIn {
        ticket: String,
        request: AuthorizationRequest,
    },
    /// The client and redirect URI checked out; the rest of the request did not.
    Refused {
        request: AuthorizationRequest,
        error: AadError,
    },
}

fn begin(
    state: &SharedState,
    tenant: &str,
    params: &HashMap<String, String>,
) -> Result<Begun, AadError> {
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let client_id = get("client_id").ok_or(AadError::MissingParameter("client_id"))?;
    let (scope, client, client_name) = state.read(|d| {
        let scope = resolve_tenant(d, tenant).ok_or_else(|| AadError::TenantNotFound {
            tenant: tenant.to_owned(),
            discovery: false,
        })?;
        let (_, app) =
            find_application(d, scope, client_id).ok_or_else(|| AadError::ApplicationNotFound {
                app_id: client_id.to_owned(),
                tenant: tenant.to_owned(),
            })?;
        Ok::<_, AadError>((scope, app.app_id, app.display_name.clone()))
    })?;
    let redirect_uri = get("redirect_uri").ok_or(AadError::MissingParameter("redirect_uri"))?;
    if !(redirect_uri.starts_with("https://") || redirect_uri.starts_with("http://"))
        || redirect_uri.contains('#')
    {
        return Err(AadError::InvalidRedirectUri {
            redirect_uri: redirect_uri.to_owned(),
            app_id: client.to_string(),
        });
    }
    let response_mode = match get("response_mode") {
        Some("form_post") => ResponseMode::FormPost,
        Some("fragment") => ResponseMode::Fragment,
        _ => ResponseMode::Query,
    };
    let mut request = AuthorizationRequest {
        tenant: scope,
        client_id: client,
        client_name,
        redirect_uri: redirect_uri.to_owned(),
        scopes: Default::default(),
        state: get("state").map(str::to_owned),
        nonce: get("nonce").map(str::to_owned),
        challenge: None,
        response_mode,
        login_hint: get("login_hint").map(str::to_owned),
    };
    let checked = (|| {
        match get("response_type") {
            Some("code") => {}
            Some(_) => return Err(AadError::UnsupportedResponseType),
            None => return Err(AadError::MissingParameter("response_type")),
        }
        let scope_text = get("scope").ok_or(AadError::MissingParameter("scope"))?;
        let scopes = parse_delegated(scope_text, tenant)?;
        let challenge = match get("code_challenge") {
            Some(challenge) => {
                let method = ChallengeMethod::parse(get("code_challenge_method"))
                    .ok_or(AadError::InvalidChallengeMethod)?;
                Some((challenge.to_owned(), method))
            }
            None => None,
        };
        if get("prompt") == Some("none") {
            // The sandbox keeps no browser session, so a silent request never finds a user.
            return Err(AadError::LoginRequired);
        }
        Ok((scopes, challenge))
    })();
    match checked {
        Ok((scopes, challenge)) => {
            request.scopes = scopes;
            request.challenge = challenge;
            let ticket = lock(&state.authorizations).begin(request.clone(), state.now());
            Ok(Begun::SignIn { ticket, request })
        }
        Err(error) => Ok(Begun::Refused { request, error }),
    }
}

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    ticket: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    action: String,
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm")
            .field("username", &self.username)
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

/// `POST /{tenant}/login`: the sign-in page's answer.
pub(crate) async fn sign_in(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let context = ErrorContext::new(state.now(), &state.base_url, &headers);
    let now = state.now();
    let Some(request) = lock(&state.authorizations)
        .pending(&form.ticket, now)
        .cloned()
    else {
        return outcome(
            (
                StatusCode::BAD_REQUEST,
                Html(page(
                    "Sign-in session ended",
                    "<p>This sign-in page has expired or was already used. Go back to the application and sign in again.</p>",
                )),
            )
                .into_response(),
            "unknown_ticket",
        );
    };
    if form.action != "accept" {
        lock(&state.authorizations).finish(&form.ticket);
        return redirect_error(&request, &AadError::UserDeclinedConsent, &context);
    }
    let checked = state.read(|d| {
        let user = d
            .tenants
            .iter()
            .filter(|t| match request.tenant {
                TenantScope::Specific(id) => t.id == id,
                TenantScope::Any => true,
            })
            .find_map(|t| t.user_by_upn(form.username.trim()).map(|u| (t, u)));
        let Some((tenant_entry, user)) = user else {
            return Err(SignInRefusal::Retry(
                "This username may be incorrect or the account doesn't exist in this organization.",
            ));
        };
        if !verify_password(&form.password, &user.password_hash) {
            return Err(SignInRefusal::Retry(
                "Your account or password is incorrect.",
            ));
        }
        let (_, client) = find_application(
            d,
            TenantScope::Specific(tenant_entry.id),
            &request.client_id.to_string(),
        )
        .ok_or(SignInRefusal::Redirect(AadError::InvalidAuthorizationCode))?;
        if let Some(missing) = request
            .scopes
            .graph
            .iter()
            .find(|p| !client.delegated_permissions.contains(p))
        {
            tracing::debug!(permission = %missing, "delegated permission not consented");
            return Err(SignInRefusal::Redirect(AadError::ConsentRequired {
                app_id: client.app_id.to_string(),
                app_name: client.display_name.clone(),
            }));
        }
        Ok::<(Uuid, Uuid), SignInRefusal>((tenant_entry.id, user.id))
    });
    match checked {
        Ok((tenant_id, user_id)) => {
            let mut flows = lock(&state.authorizations);
            flows.finish(&form.ticket);
            let code = flows.issue(request.clone(), tenant_id, user_id, now);
            drop(flows);
            let mut fields = vec![("code", code)];
            if let Some(s) = &request.state {
                fields.push(("state", s.clone()));
            }
            fields.push(("session_state", Uuid::new_v4().to_string()));
            outcome(respond(&request, &fields), "code_issued")
        }
        Err(SignInRefusal::Retry(message)) => outcome(
            (
                StatusCode::BAD_REQUEST,
                Html(sign_in_form(
                    &tenant,
                    &form.ticket,
                    &request.client_name,
                    &form.username,
                    Some(message),
                )),
            )
                .into_response(),
            "wrong_credentials",
        ),
        Err(SignInRefusal::Redirect(error)) => {
            lock(&state.authorizations).finish(&form.ticket);
            redirect_error(&request, &error, &context)
        }
    }
}

enum SignInRefusal {
    /// Show the form again with this message.
    Retry(&'static str),
    /// End the flow with an error redirect.
    Redirect(AadError),
}

fn outcome(mut response: Response, what: &str) -> Response {
    response.extensions_mut().insert(Outcome(what.to_owned()));
    response
}

/// The `error` parameter of an error redirect: `/authorize` speaks of missing consent as
/// `consent_required` (OpenID Connect Core §3.1.2.6), the token endpoint as `invalid_grant`.
fn redirect_error_name(error: &AadError) -> &'static str {
    match error {
        AadError::ConsentRequired { .. } => "consent_required",
        other => other.oauth_error(),
    }
}

fn redirect_error(
    request: &AuthorizationRequest,
    error: &AadError,
    context: &ErrorContext,
) -> Response {
    let mut fields = vec![
        ("error", redirect_error_name(error).to_owned()),
        ("error_description", error.description(context)),
        ("error_codes", error.code().to_string()),
    ];
    if let Some(s) = &request.state {
        fields.push(("state", s.clone()));
    }
    outcome(
        respond(request, &fields),
        &format!("AADSTS{} {}", error.code(), redirect_error_name(error)),
    )
}

/// Delivers the answer the way `response_mode` asks: a 302 with the query or fragment, or an
/// auto-submitting HTML form (form_post).
fn respond(request: &AuthorizationRequest, fields: &[(&str, String)]) -> Response {
    let encoded = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    match request.response_mode {
        ResponseMode::FormPost => {
            let inputs: String = fields
                .iter()
                .map(|(k, v)| {
                    format!(
                        r#"<input type="hidden" name="{}" value="{}">"#,
                        escape(k),
                        escape(v)
                    )
                })
                .collect();
            let html = format!(
                r#"<!DOCTYPE html><html><head><title>Working...</title></head><body onload="document.forms[0].submit()"><form method="POST" name="hiddenform" action="{}">{inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript></form></body></html>"#,
                escape(&request.redirect_uri)
            );
            Html(html).into_response()
        }
        mode => {
            let separator = match mode {
                ResponseMode::Fragment => '#',
                _ if request.redirect_uri.contains('?') => '&',
                _ => '?',
            };
            let location = format!("{}{separator}{encoded}", request.redirect_uri);
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
    }
}

/// `application/x-www-form-urlencoded` for one value.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// An error that cannot be sent back to the client: Entra shows it on its own page.
fn error_page(error: &AadError, context: &ErrorContext) -> Response {
    let body = format!(
        r#"<p role="alert">{}</p><p>Error Code: {}</p><p>Correlation Id: {}</p>"#,
        escape(&format!("AADSTS{}: {error}", error.code())),
        error.code(),
        escape(&context.correlation_id)
    );
    outcome(
        (
            StatusCode::BAD_REQUEST,
            Html(page(
                "Sorry, but we're having trouble signing you in.",
                &body,
            )),
        )
            .into_response(),
        &format!("AADSTS{} {}", error.code(), error.oauth_error()),
    )
}

/// The sign-in page. Field names (`ticket`, `username`, `password`, `action` = `accept` |
/// `cancel`) are the form-post contract with scripted tests and must not change.
fn sign_in_form(
    tenant: &str,
    ticket: &str,
    app: &str,
    username: &str,
    error: Option<&str>,
) -> String {
    page(
        "Sign in",
        &format!(
            r#"<p>Sign in to continue to {}. It will be able to act on your behalf with the permissions it asked for.</p>{}
<form method="post" action="/{}/login">
<input type="hidden" name="ticket" value="{}">
<label for="username">Email or phone</label>
<input id="username" name="username" type="email" autocomplete="username" value="{}" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit" name="action" value="accept">Accept</button>
<button type="submit" name="action" value="cancel">Cancel</button>
</form>"#,
            escape(app),
            error_paragraph(error),
            escape(tenant),
            escape(ticket),
            escape(username)
        ),
    )
}
