//! Graph's keyCredential resource: validating what clients send, rendering what is stored.

use super::GraphError;
use crate::keys::{CertificateKey, hex_upper};
use crate::tenants::{ParsedKey, StoredKeyCredential, Tenant};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// A keyCredential as a client sends it (PATCH element or addKey's `keyCredential`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyCredentialInput {
    #[serde(default)]
    pub key_id: Option<Uuid>,
    #[serde(default)]
    pub custom_key_identifier: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub start_date_time: Option<String>,
    #[serde(default)]
    pub end_date_time: Option<String>,
    #[serde(rename = "type", default)]
    pub key_type: Option<String>,
    #[serde(default)]
    pub usage: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
}

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::BadRequest(message.into())
}

impl KeyCredentialInput {
    /// Checks type, usage and key, fills Graph's defaults. `existing` supplies the stored key
    /// when a client round-trips an entry without its `key` (Graph hides it unless `$select`ed).
    pub(crate) fn into_stored(
        self,
        existing: &[StoredKeyCredential],
        tenant: &Tenant,
        now: OffsetDateTime,
    ) -> Result<StoredKeyCredential, GraphError> {
        if let (None, Some(key_id)) = (&self.key, self.key_id)
            && let Some(kept) = existing.iter().find(|k| k.key_id == key_id)
        {
            return Ok(kept.clone());
        }
        match self.key_type.as_deref() {
            Some("AsymmetricX509Cert") => {}
            _ => {
                return Err(bad(
                    "The value for the property \"type\" in one of your credentials is invalid. Acceptable values are AsymmetricX509Cert, Symmetric.",
                ));
            }
        }
        match self.usage.as_deref() {
            Some("Verify") => {}
            Some("Sign") => {
                return Err(bad(
                    "Key credential of type 'AsymmetricX509Cert' must have usage 'Verify'.",
                ));
            }
            _ => {
                return Err(bad(
                    "The value for the property \"usage\" in one of your credentials is invalid. Acceptable values are Sign, Verify.",
                ));
            }
        }
        let key = self
            .key
            .ok_or_else(|| bad("The property 'key' is required for a new key credential."))?;
        let certificate = CertificateKey::from_base64(&key)
            .map_err(|_| bad("Invalid certificate: Key value is invalid certificate"))?;
        let parse_date =
            |value: &Option<String>, name: &str| -> Result<Option<OffsetDateTime>, GraphError> {
                value
                    .as_deref()
                    .map(|v| {
                        OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                        bad(format!(
                            "Invalid value for property '{name}': '{v}' is not a DateTimeOffset."
                        ))
                    })
                    })
                    .transpose()
            };
        let start =
            parse_date(&self.start_date_time, "startDateTime")?.unwrap_or(certificate.not_before);
        let end = parse_date(&self.end_date_time, "endDateTime")?.unwrap_or(certificate.not_after);
        if end <= start {
            return Err(bad(
                "Key credential end date must be later than its start date.",
            ));
        }
        if end > certificate.not_after || start < certificate.not_before {
            return Err(bad(
                "Key credential start and end dates must lie within the certificate's validity period.",
            ));
        }
        // The policy's `asymmetricKeyLifetime` restriction measures the keyCredential's own
        // window, which defaults to the certificate's validity.
        if let Some(max_days) = tenant.max_certificate_lifetime_days
            && end - start > time::Duration::days(i64::from(max_days))
        {
            return Err(GraphError::LifetimePolicy { max_days });
        }
        Ok(StoredKeyCredential {
            key_id: self.key_id.unwrap_or_else(Uuid::new_v4),
            custom_key_identifier: Some(
                self.custom_key_identifier
                    .unwrap_or_else(|| hex_upper(&certificate.sha1)),
            ),
            display_name: Some(
                self.display_name
                    .unwrap_or_else(|| certificate.subject.clone()),
            ),
            start,
            end,
            key_type: "AsymmetricX509Cert".to_owned(),
            usage: "Verify".to_owned(),
            key,
            attached_at: existing
                .iter()
                .find(|k| k.key_id == self.key_id.unwrap_or_default())
                .map_or(now, |k| k.attached_at),
            parsed: ParsedKey::with(certificate),
        })
    }
}

/// Graph renders `key` only when the caller `$select`ed keyCredentials on a single object.
pub(crate) fn render(credential: &StoredKeyCredential, reveal_key: bool) -> Value {
    json!({
        "customKeyIdentifier": credential.custom_key_identifier,
        "displayName": credential.display_name,
        "endDateTime": graph_date(credential.end),
        "key": reveal_key.then(|| credential.key.clone()),
        "keyId": credential.key_id.to_string(),
        "startDateTime": graph_date(credential.start),
        "type": credential.key_type,
        "usage": credential.usage,
    })
}

pub(crate) fn graph_date(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}
