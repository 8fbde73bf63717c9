//! From a Graph message to the index entry the store keeps: id, subject, sender, received time,
//! size and a content hash.
//!
//! The hash is SHA-256 over a canonical form of the message (object keys sorted, OData
//! annotations such as `@odata.etag` left out), so re-reading an unchanged message yields the
//! same hash whatever order Graph sent its properties in, and any change to what was backed up
//! yields another. The size is the length of that canonical form: Graph's v1.0 message has no
//! size property, and this is the number of bytes the backup holds for the message.

use aws_lc_rs::digest;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use tenantlink_service::{MailboxItem, OrganizationId};

/// What a delta entry is.
#[derive(Debug)]
pub enum DeltaEntry {
    Message(Box<MailboxItem>),
    /// `@removed`: deleted or moved out of the folder. The backup keeps its copy.
    Removed {
        message_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("a message in the delta response has no id")]
    MissingId,
    #[error("message {message_id} has no readable receivedDateTime ({value:?})")]
    BadReceivedTime { message_id: String, value: String },
}

pub fn delta_entry(
    organization: OrganizationId,
    user_id: &str,
    message: &Value,
) -> Result<DeltaEntry, ItemError> {
    let id = message
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or(ItemError::MissingId)?;
    if message.get("@removed").is_some() {
        return Ok(DeltaEntry::Removed {
            message_id: id.to_owned(),
        });
    }
    let received_text = message
        .get("receivedDateTime")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let received_at =
        OffsetDateTime::parse(received_text, &Rfc3339).map_err(|_| ItemError::BadReceivedTime {
            message_id: id.to_owned(),
            value: received_text.to_owned(),
        })?;
    let canonical = canonical_bytes(message);
    let hash = digest::digest(&digest::SHA256, &canonical);
    Ok(DeltaEntry::Message(Box::new(MailboxItem {
        organization_id: organization,
        user_id: user_id.to_owned(),
        message_id: id.to_owned(),
        subject: text_at(message, &["subject"]),
        sender: sender(message),
        received_at,
        size: i64::try_from(canonical.len()).unwrap_or(i64::MAX),
        content_hash: hash.as_ref().to_vec(),
    })))
}

/// `from` (who the message is from) or, failing that, `sender` (who sent it on their behalf).
fn sender(message: &Value) -> String {
    for field in ["from", "sender"] {
        let address = text_at(message, &[field, "emailAddress", "address"]);
        let name = text_at(message, &[field, "emailAddress", "name"]);
        match (name.is_empty(), address.is_empty()) {
            (false, false) => return format!("{name} <{address}>"),
            (true, false) => return address,
            (false, true) => return name,
            (true, true) => {}
        }
    }
    String::new()
}

fn text_at(value: &Value, path: &[&str]) -> String {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn canonical_bytes(message: &Value) -> Vec<u8> {
    let canonical = canonical(message);
    // Serialising a `Value` cannot fail: its keys are strings.
    serde_json::to_vec(&canonical).unwrap_or_default()
}

fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> =
                map.iter().filter(|(k, _)| !k.starts_with('@')).collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut sorted = Map::new();
            for (k, v) in entries {
                sorted.insert(k.clone(), canonical(v));
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn org() -> OrganizationId {
        "00000000-0000-4000-8000-000000000001".parse().unwrap()
    }

    #[test]
    fn message_fields_and_hash_ignore_property_order_and_annotations() {
        let a = json!({"id": "m1", "subject": "Hi", "receivedDateTime": "2026-01-15T09:00:00Z",
            "from": {"emailAddress": {"name": "Adele", "address": "adele@contoso.example"}},
            "@odata.etag": "W/\"1\"", "body": {"content": "x", "contentType": "text"}});
        let b = json!({"body": {"contentType": "text", "content": "x"}, "@odata.etag": "W/\"2\"",
            "from": {"emailAddress": {"address": "adele@contoso.example", "name": "Adele"}},
            "receivedDateTime": "2026-01-15T09:00:00Z", "subject": "Hi", "id": "m1"});
        let (DeltaEntry::Message(a), DeltaEntry::Message(b)) = (
            delta_entry(org(), "u", &a).unwrap(),
            delta_entry(org(), "u", &b).unwrap(),
        ) else {
            panic!("both are messages")
        };
        assert_eq!(a.content_hash, b.content_hash);
        assert_eq!(a.sender, "Adele <adele@contoso.example>");
        assert_eq!(a.subject, "Hi");
        assert_eq!(a.size, b.size);
        assert!(a.size > 0);
        let changed =
            json!({"id": "m1", "subject": "Hi!", "receivedDateTime": "2026-01-15T09:00:00Z"});
        let DeltaEntry::Message(c) = delta_entry(org(), "u", &changed).unwrap() else {
            panic!()
        };
        assert_ne!(c.content_hash, a.content_hash);
    }

    #[test]
    fn removed_entries_and_bad_messages_are_told_apart() {
        let removed = json!({"id": "m9", "@removed": {"reason": "deleted"}});
        assert!(matches!(
            delta_entry(org(), "u", &removed).unwrap(),
            DeltaEntry::Removed { message_id } if message_id == "m9"
        ));
        assert_eq!(
            delta_entry(org(), "u", &json!({"subject": "x"})).unwrap_err(),
            ItemError::MissingId
        );
        assert!(matches!(
            delta_entry(
                org(),
                "u",
                &json!({"id": "m", "receivedDateTime": "yesterday"})
            ),
            Err(ItemError::BadReceivedTime { .. })
        ));
    }
}
