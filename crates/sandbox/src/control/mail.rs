//! `POST /_sandbox/mail` adds a message to a user's inbox; `PATCH` (or `POST`)
//! `/_sandbox/mail/{id}` changes one, generated or added. Both show in Graph's messages list at
//! once and in the next delta round, and are persisted in `mailboxes.json`.

use super::{ControlError, parse};
use crate::SandboxError;
use crate::graph::render_message;
use crate::mailbox::{MessageChange, NewMessage};
use crate::state::SharedState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// `"ops@contoso.example"` or `{"name": "Ops", "address": "ops@contoso.example"}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Sender {
    Address(String),
    Named { name: String, address: String },
}

impl Sender {
    /// (display name, address), the address checked.
    fn parts(self) -> Result<(String, String), ControlError> {
        let (name, address) = match self {
            Self::Address(address) => (address.clone(), address),
            Self::Named { name, address } => (name, address),
        };
        let plausible = address
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !address.chars().any(char::is_whitespace);
        if !plausible {
            return Err(ControlError {
                status: StatusCode::BAD_REQUEST,
                kind: "invalid_sender",
                message: format!(
                    "'sender' must be an e-mail address like ops@contoso.example (or {{\"name\", \"address\"}}), got {address:?}"
                ),
            });
        }
        Ok((name, address))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddRequest {
    /// User principal name or object id.
    user: String,
    subject: String,
    sender: Sender,
    body: String,
    /// RFC 3339; defaults to the sandbox's now.
    #[serde(default)]
    received: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeRequest {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    sender: Option<Sender>,
    #[serde(default)]
    is_read: Option<bool>,
}

pub(super) async fn add(State(state): State<SharedState>, body: axum::body::Bytes) -> Response {
    match try_add(&state, &body) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

fn try_add(state: &SharedState, body: &[u8]) -> Result<Response, ControlError> {
    let request: AddRequest = parse(body)?;
    let (sender_name, sender_address) = request.sender.parts()?;
    let received = request
        .received
        .map(|text| {
            OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| ControlError {
                status: StatusCode::BAD_REQUEST,
                kind: "invalid_request",
                message: format!("'received' must be an RFC 3339 date-time, got {text:?}"),
            })
        })
        .transpose()?;
    let user = state
        .read(|d| {
            d.tenants
                .iter()
                .find_map(|t| t.user(&request.user).map(|u| u.id))
        })
        .ok_or_else(|| ControlError {
            status: StatusCode::BAD_REQUEST,
            kind: "unknown_user",
            message: format!(
                "no user {:?} in the sandbox directory (give a user principal name or object id)",
                request.user
            ),
        })?;
    let now = state.now();
    let new = NewMessage {
        subject: request.subject,
        body: request.body,
        sender_name,
        sender_address,
        received,
    };
    let message = state
        .update_mail(|m| Ok::<_, SandboxError>(m.add(user, new, now)))
        .map_err(storage_failure)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"user_id": user.to_string(), "message": render_message(&message)})),
    )
        .into_response())
}

pub(super) async fn change(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    match try_change(&state, &id, &body) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

/// Why a change did not happen: nothing is stored in either case.
enum ChangeFailure {
    UnknownMessage,
    Store(SandboxError),
}

impl From<SandboxError> for ChangeFailure {
    fn from(err: SandboxError) -> Self {
        Self::Store(err)
    }
}

fn try_change(state: &SharedState, id: &str, body: &[u8]) -> Result<Response, ControlError> {
    let request: ChangeRequest = parse(body)?;
    let (sender_name, sender_address) = match request.sender {
        Some(sender) => sender.parts().map(|(n, a)| (Some(n), Some(a)))?,
        None => (None, None),
    };
    let change = MessageChange {
        subject: request.subject,
        body: request.body,
        sender_name,
        sender_address,
        is_read: request.is_read,
    };
    if change.is_empty() {
        return Err(ControlError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request",
            message: "give at least one of 'subject', 'body', 'sender', 'is_read'".to_owned(),
        });
    }
    let users: Vec<Uuid> = state.read(|d| {
        d.tenants
            .iter()
            .flat_map(|t| t.users.iter().map(|u| u.id))
            .collect()
    });
    let now = state.now();
    let changed = state.update_mail(|m| {
        m.change(users, id, &change, now)
            .ok_or(ChangeFailure::UnknownMessage)
    });
    match changed {
        Ok((user, message)) => Ok(Json(
            json!({"user_id": user.to_string(), "message": render_message(&message)}),
        )
        .into_response()),
        Err(ChangeFailure::UnknownMessage) => Err(ControlError {
            status: StatusCode::NOT_FOUND,
            kind: "unknown_message",
            message: format!("no message with id {id:?} in any sandbox mailbox"),
        }),
        Err(ChangeFailure::Store(err)) => Err(storage_failure(err)),
    }
}

fn storage_failure(err: SandboxError) -> ControlError {
    tracing::error!(error = %err, "cannot persist the sandbox mailboxes");
    ControlError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        kind: "storage_failed",
        message: format!("the change was not made: {err}"),
    }
}
