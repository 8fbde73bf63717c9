use crate::error::classify;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use tenantlink_service::{Caller, Permission, ServiceError};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub struct Page<'a> {
    pub title: &'a str,
    pub caller: Option<&'a Caller>,
    /// Reload the page every N seconds when scripts are off (live status without JavaScript).
    pub refresh_without_js: Option<u32>,
}

pub fn render(page: Page<'_>, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " · tenantlink" }
                link rel="stylesheet" href="/static/style.css";
                @if let Some(seconds) = page.refresh_without_js {
                    noscript { meta http-equiv="refresh" content=(seconds); }
                }
                script src="/static/app.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "tenantlink" }
                    @if let Some(caller) = page.caller {
                        nav aria-label="Main menu" {
                            a href="/organizations" { "Organizations" }
                            a href="/notices" { "Notices" }
                            a href="/audit" { "Audit log" }
                            @if caller.may(Permission::ManageUsers) {
                                a href="/users" { "Users" }
                                a href="/tokens" { "API tokens" }
                            }
                        }
                        div.account {
                            span { (caller.name) " (" (caller.role.label()) ")" }
                            a href="/account/password" { "Change password" }
                            form method="post" action="/logout" {
                                (csrf_field(caller))
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    Html(markup.into_string())
}

pub fn csrf_field(caller: &Caller) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(caller.csrf_token.as_deref().unwrap_or_default());
    }
}

pub fn time_text(at: OffsetDateTime) -> String {
    let at = at.replace_millisecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

pub fn error_page(caller: Option<&Caller>, err: &ServiceError) -> Response {
    let classified = classify(err);
    let body = html! {
        h1 { (classified.title) }
        p.error role="alert" { (classified.detail) }
        p { a href="/organizations" { "Back to organizations" } }
    };
    (
        classified.status,
        render(
            Page {
                title: classified.title,
                caller,
                refresh_without_js: None,
            },
            body,
        ),
    )
        .into_response()
}

pub fn csrf_rejected(caller: &Caller) -> Response {
    let body = html! {
        h1 { "Form expired" }
        p.error role="alert" { "This form was not sent from a current tenantlink page. Go back, reload the page and try again." }
    };
    (
        StatusCode::FORBIDDEN,
        render(
            Page {
                title: "Form expired",
                caller: Some(caller),
                refresh_without_js: None,
            },
            body,
        ),
    )
        .into_response()
}

pub fn thumbprint(text: &str) -> Markup {
    html! { code.thumbprint { (text) } }
}
