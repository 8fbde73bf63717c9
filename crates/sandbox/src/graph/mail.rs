//! Mail under `/users/{id}`: the messages list (`$top`/`$skip` paging with `@odata.nextLink`) and
//! the inbox delta query, whose rounds end in an `@odata.deltaLink` that later returns exactly the
//! messages added or changed since (see [`crate::mailbox`] for where they come from).
//!
//! Tokens are opaque to clients, as Graph's are: a delta link carries the mailbox sequence
//! number it was issued at (`$deltatoken=s{N}`), a next link the window, offset and page size
//! (`$skiptoken=a.{upto}.{offset}.{size}` for a first round, `d.{since}.{upto}.{offset}.{size}`
//! for a later one). Purely numeric tokens from older sandboxes still work: a numeric delta token
//! means "everything generated was seen", a numeric skip token an offset into a first round.

use super::{GraphError, GraphRequest, apply_select, selected};
use crate::mailbox::{Message, Page, Window};
use axum::Json;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

const DEFAULT_PAGE: usize = 10;
const MAX_PAGE: usize = 1000;

/// A message as Graph renders it.
pub(crate) fn render(message: &Message) -> Value {
    let date = |at: time::OffsetDateTime| at.format(&Rfc3339).unwrap_or_default();
    let mut value = json!({
        "id": message.id,
        "subject": message.subject,
        "bodyPreview": message.body_preview,
        "receivedDateTime": date(message.received),
        "sentDateTime": date(message.received),
        "hasAttachments": message.has_attachments,
        "isRead": message.is_read,
        "importance": message.importance,
        "from": {"emailAddress": {"name": message.sender_name, "address": message.sender_address}},
        "body": {"contentType": "text", "content": message.body},
    });
    if let Some(modified) = message.last_modified {
        value["lastModifiedDateTime"] = Value::String(date(modified));
    }
    value
}

/// Page size from `$top` or `Prefer: odata.maxpagesize=N`.
fn page_size(request: &GraphRequest<'_>, headers: &HeaderMap) -> Result<usize, GraphError> {
    if let Some(top) = request.query.get("$top") {
        return top
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                GraphError::BadRequest(format!(
                    "Invalid value '{top}' for $top: expected 1..={MAX_PAGE}."
                ))
            });
    }
    let preferred = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            p.trim()
                .strip_prefix("odata.maxpagesize=")
                .and_then(|n| n.parse::<usize>().ok())
        });
    Ok(preferred.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE))
}

fn offset(request: &GraphRequest<'_>, name: &str) -> Result<usize, GraphError> {
    request
        .query
        .get(name)
        .map(|v| {
            v.parse::<usize>()
                .map_err(|_| GraphError::BadRequest(format!("Invalid {name} '{v}'.")))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

fn mailbox_owner(request: &GraphRequest<'_>, reference: &str) -> Result<Uuid, GraphError> {
    let user = request.state.read(|d| {
        d.tenant_by_id(request.caller.tenant)
            .and_then(|t| t.user(reference))
            .map(|u| u.id)
            .ok_or_else(|| GraphError::NotFound(reference.to_owned()))
    })?;
    if !request.caller.can_read_mail_of(user) {
        return Err(GraphError::Forbidden);
    }
    Ok(user)
}

pub(crate) fn messages(
    request: &GraphRequest<'_>,
    reference: &str,
) -> Result<Response, GraphError> {
    let user = mailbox_owner(request, reference)?;
    let size = page_size(request, request.headers)?;
    let skip = offset(request, "$skip")?;
    let select = selected(request.query);
    let page = request.state.read_mail(|m| {
        let window = Window::All { upto: m.sequence() };
        m.page(user, window, skip, size)
    });
    let end = skip.saturating_add(page.messages.len());
    let value: Vec<Value> = page
        .messages
        .iter()
        .map(|m| apply_select(render(m), select.as_deref()))
        .collect();
    let base = format!("{}/users/{reference}/messages", request.graph_base());
    let mut body = json!({
        "@odata.context": format!("{}/$metadata#users('{reference}')/messages", request.graph_base()),
        "value": value,
    });
    if end < page.total {
        let mut next = format!("{base}?$top={size}&$skip={end}");
        if let Some(select) = request.query.get("$select") {
            next.push_str(&format!("&$select={select}"));
        }
        body["@odata.nextLink"] = Value::String(next);
    }
    Ok(Json(body).into_response())
}

/// Where a delta request stands: which window, from which offset, how many per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DeltaPosition {
    window: Window,
    offset: usize,
    size: usize,
}

impl DeltaPosition {
    fn skip_token(self) -> String {
        match self.window {
            Window::All { upto } => format!("a.{upto}.{}.{}", self.offset, self.size),
            Window::Since { since, upto } => {
                format!("d.{since}.{upto}.{}.{}", self.offset, self.size)
            }
        }
    }
}

fn delta_position(request: &GraphRequest<'_>, current: u64) -> Result<DeltaPosition, GraphError> {
    let size = page_size(request, request.headers)?;
    if let Some(token) = request.query.get("$skiptoken") {
        return parse_skip_token(token, size, current)
            .ok_or_else(|| GraphError::BadRequest(format!("Invalid $skiptoken '{token}'.")));
    }
    if let Some(token) = request.query.get("$deltatoken") {
        let since = parse_delta_token(token)
            .filter(|since| *since <= current)
            .ok_or_else(|| GraphError::BadRequest(format!("Invalid $deltatoken '{token}'.")))?;
        return Ok(DeltaPosition {
            window: Window::Since {
                since,
                upto: current,
            },
            offset: 0,
            size,
        });
    }
    Ok(DeltaPosition {
        window: Window::All { upto: current },
        offset: 0,
        size,
    })
}

fn parse_delta_token(token: &str) -> Option<u64> {
    match token.strip_prefix('s') {
        Some(sequence) => sequence.parse().ok(),
        // An older sandbox's token: the generated mailbox, which has sequence 0, was seen.
        None => token.parse::<u64>().ok().map(|_| 0),
    }
}

fn parse_skip_token(token: &str, requested_size: usize, current: u64) -> Option<DeltaPosition> {
    let parts: Vec<&str> = token.split('.').collect();
    let number = |s: &str| s.parse::<u64>().ok();
    let (window, offset, size) = match parts.as_slice() {
        // An older sandbox's token: an offset into a first round.
        [offset] => (
            Window::All { upto: current },
            number(offset)?,
            requested_size as u64,
        ),
        ["a", upto, offset, size] => (
            Window::All {
                upto: number(upto)?,
            },
            number(offset)?,
            number(size)?,
        ),
        ["d", since, upto, offset, size] => (
            Window::Since {
                since: number(since)?,
                upto: number(upto)?,
            },
            number(offset)?,
            number(size)?,
        ),
        _ => return None,
    };
    let size = usize::try_from(size)
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n))?;
    (window.upto() <= current).then_some(DeltaPosition {
        window,
        offset: usize::try_from(offset).ok()?,
        size,
    })
}

pub(crate) fn delta(request: &GraphRequest<'_>, reference: &str) -> Result<Response, GraphError> {
    let user = mailbox_owner(request, reference)?;
    let (position, page): (DeltaPosition, Page) = request.state.read_mail(|m| {
        let position = delta_position(request, m.sequence())?;
        let page = m.page(user, position.window, position.offset, position.size);
        Ok::<_, GraphError>((position, page))
    })?;
    let base = format!(
        "{}/users/{reference}/mailFolders/inbox/messages/delta",
        request.graph_base()
    );
    let value: Vec<Value> = page.messages.iter().map(render).collect();
    let end = position.offset.saturating_add(page.messages.len());
    let mut body = json!({
        "@odata.context": format!("{}/$metadata#Collection(message)", request.graph_base()),
        "value": value,
    });
    if end < page.total {
        let next = DeltaPosition {
            offset: end,
            ..position
        };
        body["@odata.nextLink"] = Value::String(format!("{base}?$skiptoken={}", next.skip_token()));
    } else {
        body["@odata.deltaLink"] =
            Value::String(format!("{base}?$deltatoken=s{}", position.window.upto()));
    }
    Ok(Json(body).into_response())
}
