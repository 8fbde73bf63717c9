//! Server-rendered portal pages. Forms post back with the session's CSRF token; everything works
//! without JavaScript except the copy button and the live sign-in status.

mod account;
mod assertion_profile;
mod audit;
mod banner;
mod certificate;
mod connect;
mod layout;
mod login;
mod notice_recipients;
mod notices;
mod oauth_callback;
mod operation;

pub(crate) use operation::read_import_fields;
mod fleet;
mod organization;
mod organizations;
mod policies;
mod policy_form;
mod renewal;
mod renewal_policy;
mod runs;
mod tokens;
mod users;
mod webhook;

use crate::AppState;
use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/organizations") }))
        .route(
            "/login",
            get(login::form)
                .post(login::submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    login::LOGIN_BODY_LIMIT,
                )),
        )
        .route("/logout", post(login::logout))
        .route(
            "/organizations",
            get(organizations::list).post(organizations::add),
        )
        .route(
            "/organizations/connect",
            get(connect::form).post(connect::start),
        )
        .route("/organizations/{id}", get(organization::page))
        .route("/organizations/{id}/reconnect", post(connect::reconnect))
        .route(
            "/organizations/{id}/assertion_profile",
            post(assertion_profile::change),
        )
        .route(
            "/organizations/{id}/settings/system",
            get(certificate::page),
        )
        .route(
            "/organizations/{id}/certificate/generate",
            post(certificate::start_generate),
        )
        .route(
            "/organizations/{id}/certificate/upload",
            post(certificate::start_upload),
        )
        .route(
            "/organizations/{id}/certificate/rotate",
            post(certificate::rotate_now),
        )
        .route(
            "/organizations/{id}/renewal_policy",
            post(renewal_policy::change),
        )
        .route(
            "/organizations/{id}/check",
            post(certificate::check_connection),
        )
        .route("/certificates/{id}/cer", get(certificate::download_cer))
        .route("/operations/{id}", get(operation::page))
        .route("/operations/{id}/generate", post(operation::generate))
        .route("/operations/{id}/connect", post(operation::connect))
        .route("/operations/{id}/import", post(operation::import))
        .route("/operations/{id}/cancel", post(operation::cancel))
        .route(
            "/operations/{id}/browser_sign_in",
            post(oauth_callback::start),
        )
        .route("/oauth/callback", get(oauth_callback::callback))
        .route("/operations/{id}/abandon", post(operation::abandon))
        .route("/audit", get(audit::page))
        .route("/notices", get(notices::page))
        .route("/notices/settings", post(notices::save_settings))
        .route("/notices/webhooks", post(notices::add_webhook))
        .route("/notices/webhooks/{id}", get(webhook::page))
        .route("/notices/webhooks/{id}/test", post(webhook::test_event))
        .route("/notices/webhooks/{id}/enable", post(webhook::enable))
        .route("/notices/webhooks/{id}/disable", post(webhook::disable))
        .route("/notices/webhooks/{id}/delete", post(webhook::delete))
        .route(
            "/organizations/{id}/notice_recipients",
            post(notice_recipients::change),
        )
        .route(
            "/organizations/{id}/policies/new",
            get(policy_form::new_form),
        )
        .route("/organizations/{id}/policies", post(policy_form::create))
        .route("/policies/{id}", get(policies::page))
        .route(
            "/policies/{id}/edit",
            get(policy_form::edit_form).post(policy_form::update),
        )
        .route("/policies/{id}/run", post(policies::run_now))
        .route("/policies/{id}/enable", post(policies::enable))
        .route("/policies/{id}/disable", post(policies::disable))
        .route("/policies/{id}/delete", post(policies::delete))
        .route("/runs/{id}", get(runs::page))
        .route("/users", get(users::page).post(users::add))
        .route("/users/{id}/role", post(users::change_role))
        .route("/users/{id}/disable", post(users::disable))
        .route("/users/{id}/enable", post(users::enable))
        .route("/users/{id}/password", post(users::reset_password))
        .route("/users/{id}/sessions/end", post(users::end_sessions))
        .route("/tokens", get(tokens::page).post(tokens::issue))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route(
            "/account/password",
            get(account::form).post(account::change),
        )
}
