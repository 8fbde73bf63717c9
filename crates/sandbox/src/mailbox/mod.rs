//! Mailboxes: every user's generated sample messages ([`sample`]) plus what the control API added
//! or changed. Every addition or change takes the next number of one sandbox-wide sequence, so a
//! delta round is simply "the messages whose change number lies in (since, upto]", and a delta
//! link only has to carry `upto`. Persistence lives in [`store`].

pub(crate) mod sample;
pub(crate) mod store;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// Graph's `bodyPreview` is the start of the body, at most this many characters.
const PREVIEW_CHARS: usize = 255;

/// One message, with the properties the sandbox serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Message {
    pub id: String,
    pub subject: String,
    pub body_preview: String,
    pub body: String,
    pub sender_name: String,
    pub sender_address: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received: OffsetDateTime,
    pub has_attachments: bool,
    pub is_read: bool,
    pub importance: String,
    /// Sandbox time of the last addition or change; generated messages have none.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_modified: Option<OffsetDateTime>,
}

/// A message added through the control API.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub subject: String,
    pub body: String,
    pub sender_name: String,
    pub sender_address: String,
    /// Defaults to the sandbox's now.
    pub received: Option<OffsetDateTime>,
}

/// A change to an existing message: only the given properties change.
#[derive(Debug, Clone, Default)]
pub(crate) struct MessageChange {
    pub subject: Option<String>,
    pub body: Option<String>,
    pub sender_name: Option<String>,
    pub sender_address: Option<String>,
    pub is_read: Option<bool>,
}

impl MessageChange {
    pub(crate) fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.body.is_none()
            && self.sender_name.is_none()
            && self.sender_address.is_none()
            && self.is_read.is_none()
    }
}

/// A stored message: added through the control API, or a changed copy of a generated one.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The generated message this entry replaces; `None` for an added message.
    #[serde(default)]
    replaces_sample: Option<usize>,
    /// Sequence number of the addition (0 for generated messages, which always existed).
    created: u64,
    /// Sequence number of the latest addition or change.
    changed: u64,
    message: Message,
}

/// Which messages a listing or delta page covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Window {
    /// Every message that existed at sequence `upto`: newest added first, then the generated
    /// ones. Pinning `upto` keeps offsets stable while a client pages through.
    All { upto: u64 },
    /// Messages added or changed after `since`, up to and including `upto`, oldest change first.
    Since { since: u64, upto: u64 },
}

impl Window {
    pub(crate) fn upto(self) -> u64 {
        match self {
            Self::All { upto } | Self::Since { upto, .. } => upto,
        }
    }
}

/// One page of a window.
#[derive(Debug)]
pub(crate) struct Page {
    pub messages: Vec<Message>,
    /// How many messages the whole window holds.
    pub total: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Mailboxes {
    /// The number of the latest addition or change, sandbox-wide.
    sequence: u64,
    /// Per user object id: added messages and changed copies of generated ones.
    users: BTreeMap<Uuid, Vec<Entry>>,
}

impl Mailboxes {
    pub(crate) fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Adds a message to `user`'s inbox and returns it as stored.
    pub(crate) fn add(&mut self, user: Uuid, new: NewMessage, now: OffsetDateTime) -> Message {
        self.sequence += 1;
        let message = Message {
            id: sample::message_id(&format!("{user}/added/{}", self.sequence)),
            body_preview: preview(&new.body),
            subject: new.subject,
            body: new.body,
            sender_name: new.sender_name,
            sender_address: new.sender_address,
            received: new.received.unwrap_or(now),
            has_attachments: false,
            is_read: false,
            importance: "normal".to_owned(),
            last_modified: Some(now),
        };
        self.users.entry(user).or_default().push(Entry {
            replaces_sample: None,
            created: self.sequence,
            changed: self.sequence,
            message: message.clone(),
        });
        message
    }

    /// Changes the message with this id, stored or generated, in any of `users`' mailboxes.
    /// Returns the mailbox owner and the changed message; `None` when no such message exists.
    pub(crate) fn change(
        &mut self,
        users: impl IntoIterator<Item = Uuid>,
        id: &str,
        change: &MessageChange,
        now: OffsetDateTime,
    ) -> Option<(Uuid, Message)> {
        let stored_owner = self
            .users
            .iter()
            .find(|(_, entries)| entries.iter().any(|e| e.message.id == id))
            .map(|(user, _)| *user);
        let owner = match stored_owner {
            Some(user) => user,
            None => {
                let (user, index) = users
                    .into_iter()
                    .find_map(|user| sample::sample_index(user, id).map(|i| (user, i)))?;
                self.users.entry(user).or_default().push(Entry {
                    replaces_sample: Some(index),
                    created: 0,
                    changed: 0,
                    message: sample::sample(user, index),
                });
                user
            }
        };
        let sequence = self.sequence + 1;
        let entry = self
            .users
            .get_mut(&owner)?
            .iter_mut()
            .find(|e| e.message.id == id)?;
        apply(&mut entry.message, change, now);
        entry.changed = sequence;
        let message = entry.message.clone();
        self.sequence = sequence;
        Some((owner, message))
    }

    /// Messages `skip..skip + size` of `user`'s window.
    pub(crate) fn page(&self, user: Uuid, window: Window, skip: usize, size: usize) -> Page {
        let entries = self.users.get(&user).map(Vec::as_slice).unwrap_or(&[]);
        match window {
            Window::All { upto } => {
                let mut added: Vec<&Entry> = entries
                    .iter()
                    .filter(|e| e.replaces_sample.is_none() && e.created <= upto)
                    .collect();
                added.sort_by(|a, b| {
                    (b.message.received, b.created).cmp(&(a.message.received, a.created))
                });
                let total = added.len() + sample::MESSAGES_PER_MAILBOX;
                let end = skip.saturating_add(size).min(total);
                let messages = (skip.min(end)..end)
                    .map(|position| match added.get(position) {
                        Some(entry) => entry.message.clone(),
                        None => generated(user, entries, position - added.len()),
                    })
                    .collect();
                Page { messages, total }
            }
            Window::Since { since, upto } => {
                let mut changed: Vec<&Entry> = entries
                    .iter()
                    .filter(|e| e.changed > since && e.changed <= upto)
                    .collect();
                changed.sort_by_key(|e| e.changed);
                let total = changed.len();
                let messages = changed
                    .into_iter()
                    .skip(skip)
                    .take(size)
                    .map(|e| e.message.clone())
                    .collect();
                Page { messages, total }
            }
        }
    }
}

/// Generated message `index`, or its changed copy.
fn generated(user: Uuid, entries: &[Entry], index: usize) -> Message {
    entries
        .iter()
        .find(|e| e.replaces_sample == Some(index))
        .map_or_else(|| sample::sample(user, index), |e| e.message.clone())
}

fn apply(message: &mut Message, change: &MessageChange, now: OffsetDateTime) {
    if let Some(subject) = &change.subject {
        message.subject.clone_from(subject);
    }
    if let Some(body) = &change.body {
        message.body.clone_from(body);
        message.body_preview = preview(body);
    }
    if let Some(name) = &change.sender_name {
        message.sender_name.clone_from(name);
    }
    if let Some(address) = &change.sender_address {
        message.sender_address.clone_from(address);
    }
    if let Some(is_read) = change.is_read {
        message.is_read = is_read;
    }
    message.last_modified = Some(now);
}

/// The body's text with runs of whitespace folded, cut at Graph's preview length.
fn preview(body: &str) -> String {
    body.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(PREVIEW_CHARS)
        .collect()
}
