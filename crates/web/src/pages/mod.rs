//! Server-rendered portal pages. Forms post back with the session's CSRF token; everything works
//! without JavaScript except the copy button and the live sign-in status.

mod audit;
mod certificate;
mod layout;
mod login;
mod operation;

pub(crate) use operation::read_import_fields;
mod organizations;

use crate::AppState;
use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/organizations") }))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route(
            "/organizations",
            get(organizations::list).post(organizations::add),
        )
        .route("/organizations/{id}", get(organizations::open))
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
        .route("/certificates/{id}/cer", get(certificate::download_cer))
        .route("/operations/{id}", get(operation::page))
        .route("/operations/{id}/generate", post(operation::generate))
        .route("/operations/{id}/import", post(operation::import))
        .route("/operations/{id}/cancel", post(operation::cancel))
        .route("/audit", get(audit::page))
}
