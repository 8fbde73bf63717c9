//! Microsoft Graph operations on the backup app registration's certificate credentials.
//!
//! `keyCredentials` is replaced wholesale by PATCH, and careless writes are how administrators of
//! comparable tools lost working keys. So attaching a certificate reads the list, checks it
//! again right before writing (a concurrent change restarts the merge), writes the whole list
//! with every existing entry kept, and reads it back to prove old and new keys are present.
//! Keys are matched to certificates by thumbprints computed from `key`, never by
//! `customKeyIdentifier`, whose content varies between tools.

use std::collections::BTreeSet;

use base64::Engine as _;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use tenantlink_clock::SharedClock;

use crate::endpoints::Endpoints;
use crate::error::{Error, GraphError, KeyUpdateError};
use crate::proof::{ProofAudience, proof_of_possession};
use crate::retry_after::retry_after_from;
use crate::signer::{SigningCertificate, hex_upper, thumbprints_of};
use crate::transport::{Body, Idempotency, Request, Response, Transport, TransportError};

/// How many times a concurrent change restarts the merge before giving up.
pub const MAX_MERGE_ATTEMPTS: u32 = 3;

const SELECT: &str = "id,appId,displayName,keyCredentials";

/// An app registration with its certificate credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The object id (what `addKey` proofs name as `iss`).
    pub id: String,
    pub app_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
}

impl Application {
    /// The entry whose `key` is this certificate.
    pub fn key_for_certificate(&self, certificate_der: &[u8]) -> Option<&KeyCredential> {
        let (sha1, _) = thumbprints_of(certificate_der);
        self.key_credentials
            .iter()
            .find(|k| k.sha1_thumbprint() == Some(sha1))
    }

    /// Identity of the list for change detection: key ids and certificate thumbprints.
    fn fingerprint(&self) -> BTreeSet<(Option<String>, Option<[u8; 20]>)> {
        self.key_credentials
            .iter()
            .map(|k| (k.key_id.clone(), k.sha1_thumbprint()))
            .collect()
    }
}

/// One `keyCredential`. Fields Graph sends that this type does not name are kept and written
/// back unchanged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    /// Standard base64 of the certificate DER; present only with `$select=keyCredentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_key_identifier: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl KeyCredential {
    /// The certificate DER from `key`.
    pub fn certificate_der(&self) -> Option<Vec<u8>> {
        let key = self.key.as_deref()?;
        base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .ok()
    }

    pub fn sha1_thumbprint(&self) -> Option<[u8; 20]> {
        self.certificate_der().map(|der| thumbprints_of(&der).0)
    }

    pub fn sha256_thumbprint(&self) -> Option<[u8; 32]> {
        self.certificate_der().map(|der| thumbprints_of(&der).1)
    }

    /// Upper-case hex SHA-1 computed from `key` (what the portal shows as the thumbprint).
    pub fn sha1_hex(&self) -> Option<String> {
        self.sha1_thumbprint().map(|t| hex_upper(&t))
    }

    pub fn start(&self) -> Option<OffsetDateTime> {
        parse_date(self.start_date_time.as_deref())
    }

    pub fn end(&self) -> Option<OffsetDateTime> {
        parse_date(self.end_date_time.as_deref())
    }

    /// A new `AsymmetricX509Cert`/`Verify` entry for a certificate. `customKeyIdentifier` is left
    /// out so that Graph sets it to the thumbprint.
    pub fn for_certificate(
        certificate_der: &[u8],
        display_name: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Self {
        Self {
            key_id: None,
            key_type: Some("AsymmetricX509Cert".into()),
            usage: Some("Verify".into()),
            key: Some(base64::engine::general_purpose::STANDARD.encode(certificate_der)),
            display_name: Some(display_name.to_owned()),
            start_date_time: not_before.format(&Rfc3339).ok(),
            end_date_time: not_after.format(&Rfc3339).ok(),
            custom_key_identifier: None,
            other: Map::new(),
        }
    }

    /// The entry as it goes back into a PATCH: read-only OData annotations removed.
    fn for_patch(&self) -> Self {
        let mut entry = self.clone();
        entry.other.retain(|name, _| !name.starts_with('@'));
        entry
    }
}

fn parse_date(value: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value?, &Rfc3339).ok()
}

/// What attaching a certificate did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachOutcome {
    pub application_object_id: String,
    /// The new entry's key id as Graph assigned it.
    pub key_id: Option<String>,
    /// How many existing entries were kept.
    pub kept: usize,
    /// Concurrent changes detected before writing and merged.
    pub concurrent_changes_merged: u32,
    /// The certificate was already attached; nothing was written.
    pub already_attached: bool,
}

#[derive(Debug, Clone)]
pub struct GraphClient {
    transport: Transport,
    endpoints: Endpoints,
    clock: SharedClock,
    /// The `aud` of addKey/removeKey proofs (documented differently across versions).
    proof_audience: ProofAudience,
}

impl GraphClient {
    pub fn new(transport: Transport, endpoints: Endpoints, clock: SharedClock) -> Self {
        Self {
            transport,
            endpoints,
            clock,
            proof_audience: ProofAudience::default(),
        }
    }

    /// Sends addKey/removeKey proofs with this `aud` (default [`ProofAudience::AzureAdGraph`]).
    pub fn with_proof_audience(mut self, audience: ProofAudience) -> Self {
        self.proof_audience = audience;
        self
    }

    pub fn proof_audience(&self) -> ProofAudience {
        self.proof_audience
    }

    pub(crate) fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// `GET /applications(appId='…')?$select=…keyCredentials` (so that `key` is returned).
    pub async fn application_by_app_id(
        &self,
        token: &str,
        app_id: &str,
    ) -> Result<Application, Error> {
        self.read_application(token, &format!("applications(appId='{}')", quote(app_id)))
            .await
    }

    /// `GET /applications/{object id}?$select=…keyCredentials`.
    pub async fn application_by_object_id(
        &self,
        token: &str,
        object_id: &str,
    ) -> Result<Application, Error> {
        self.read_application(token, &format!("applications/{}", quote(object_id)))
            .await
    }

    /// Attaches a certificate with read → merge → write → verify (see the module doc).
    pub async fn attach_certificate(
        &self,
        token: &str,
        app_id: &str,
        new_key: &KeyCredential,
    ) -> Result<AttachOutcome, Error> {
        let new_der = new_key.certificate_der().ok_or(Error::UnexpectedResponse {
            service: "tenantlink",
            context: "new key credential",
            detail: "the new key has no certificate in `key`".into(),
        })?;
        let path = format!("applications(appId='{}')", quote(app_id));
        let mut current = self.read_application(token, &path).await?;
        let mut merged_changes = 0;
        for _ in 0..MAX_MERGE_ATTEMPTS {
            if let Some(existing) = current.key_for_certificate(&new_der) {
                return Ok(AttachOutcome {
                    application_object_id: current.id.clone(),
                    key_id: existing.key_id.clone(),
                    kept: current.key_credentials.len() - 1,
                    concurrent_changes_merged: merged_changes,
                    already_attached: true,
                });
            }
            // Re-read right before writing: narrows the window in which another writer's
            // change would be overwritten by our full-list PATCH.
            let recheck = self.read_application(token, &path).await?;
            if recheck.fingerprint() != current.fingerprint() {
                tracing::warn!(
                    app_id,
                    "keyCredentials changed while preparing the write; merging again"
                );
                merged_changes += 1;
                current = recheck;
                continue;
            }
            let mut list: Vec<KeyCredential> = current
                .key_credentials
                .iter()
                .map(KeyCredential::for_patch)
                .collect();
            list.push(new_key.clone());
            let object_path = format!("applications/{}", quote(&current.id));
            self.write_key_list(token, &object_path, &list, &current, &new_der)
                .await?;
            let after = self.read_application(token, &object_path).await?;
            verify_kept(&current, &after, &new_der)?;
            return Ok(AttachOutcome {
                application_object_id: after.id.clone(),
                key_id: after
                    .key_for_certificate(&new_der)
                    .and_then(|k| k.key_id.clone()),
                kept: current.key_credentials.len(),
                concurrent_changes_merged: merged_changes,
                already_attached: false,
            });
        }
        Err(KeyUpdateError::KeepsChanging {
            attempts: MAX_MERGE_ATTEMPTS,
        }
        .into())
    }

    /// `POST /applications/{id}/addKey`, proven by a still-valid certificate of the app.
    /// Works app-only with no extra permission; the only path that needs no administrator.
    pub async fn add_key(
        &self,
        token: &str,
        application_object_id: &str,
        new_key: &KeyCredential,
        proof_signer: &SigningCertificate,
    ) -> Result<KeyCredential, Error> {
        let new_der = new_key.certificate_der().ok_or(Error::UnexpectedResponse {
            service: "tenantlink",
            context: "new key credential",
            detail: "the new key has no certificate in `key`".into(),
        })?;
        let path = format!("applications/{}/addKey", quote(application_object_id));
        let mut entry = Map::new();
        for (name, value) in [
            ("type", &new_key.key_type),
            ("usage", &new_key.usage),
            ("key", &new_key.key),
            ("displayName", &new_key.display_name),
        ] {
            if let Some(value) = value {
                entry.insert(name.into(), Value::String(value.clone()));
            }
        }
        for attempt in 0..2 {
            let proof = proof_of_possession(
                proof_signer,
                application_object_id,
                self.proof_audience,
                self.clock.now(),
            )?;
            let body = json!({
                "keyCredential": entry,
                "passwordCredential": null,
                "proof": proof.expose(),
            });
            match self
                .call(Method::POST, token, &path, Body::Json(body))
                .await
            {
                Ok(response) => return parse_json(&response, "addKey response"),
                Err(Error::Transport(TransportError::WriteOutcomeUnknown { .. }))
                    if attempt == 0 =>
                {
                    let app = self
                        .application_by_object_id(token, application_object_id)
                        .await?;
                    if let Some(added) = app.key_for_certificate(&new_der) {
                        return Ok(added.clone());
                    }
                    tracing::warn!(
                        application_object_id,
                        "addKey outcome unknown and the key is absent; retrying"
                    );
                }
                Err(other) => return Err(other),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// `POST /applications/{id}/removeKey`, proven by a still-valid certificate of the app.
    pub async fn remove_key(
        &self,
        token: &str,
        application_object_id: &str,
        key_id: &str,
        proof_signer: &SigningCertificate,
    ) -> Result<(), Error> {
        let path = format!("applications/{}/removeKey", quote(application_object_id));
        for attempt in 0..2 {
            let proof = proof_of_possession(
                proof_signer,
                application_object_id,
                self.proof_audience,
                self.clock.now(),
            )?;
            let body = json!({ "keyId": key_id, "proof": proof.expose() });
            match self
                .call(Method::POST, token, &path, Body::Json(body))
                .await
            {
                Ok(_) => return Ok(()),
                Err(Error::Transport(TransportError::WriteOutcomeUnknown { .. }))
                    if attempt == 0 =>
                {
                    let app = self
                        .application_by_object_id(token, application_object_id)
                        .await?;
                    let still_there = app
                        .key_credentials
                        .iter()
                        .any(|k| k.key_id.as_deref() == Some(key_id));
                    if !still_there {
                        return Ok(());
                    }
                }
                Err(other) => return Err(other),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    async fn read_application(&self, token: &str, path: &str) -> Result<Application, Error> {
        let mut url = self.endpoints.graph_url(path);
        url.query_pairs_mut().append_pair("$select", SELECT);
        let response = self.send(Method::GET, token, url, Body::Empty).await?;
        parse_json(&response, "application")
    }

    /// PATCHes the full list. If the outcome is unknown, a read decides: written (our new key
    /// is there) → done; untouched (the list is as we read it) → write again; otherwise stop.
    async fn write_key_list(
        &self,
        token: &str,
        object_path: &str,
        list: &[KeyCredential],
        read: &Application,
        new_der: &[u8],
    ) -> Result<(), Error> {
        let body = Body::Json(json!({ "keyCredentials": list }));
        for attempt in 0..2 {
            match self
                .call(Method::PATCH, token, object_path, body.clone())
                .await
            {
                Ok(_) => return Ok(()),
                Err(Error::Transport(TransportError::WriteOutcomeUnknown { .. }))
                    if attempt == 0 =>
                {
                    let now = self.read_application(token, object_path).await?;
                    if now.key_for_certificate(new_der).is_some() {
                        return Ok(());
                    }
                    if now.fingerprint() != read.fingerprint() {
                        return Err(KeyUpdateError::KeepsChanging { attempts: 1 }.into());
                    }
                    tracing::warn!(
                        object_path,
                        "PATCH outcome unknown and nothing changed; writing again"
                    );
                }
                Err(other) => return Err(other),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Body,
    ) -> Result<Response, Error> {
        let url = self.endpoints.graph_url(path);
        self.send(method, token, url, body).await
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        token: &str,
        url: url::Url,
        body: Body,
    ) -> Result<Response, Error> {
        let idempotency = if method == Method::GET {
            Idempotency::Safe
        } else {
            Idempotency::Write
        };
        let response = self
            .transport
            .send(&Request {
                method,
                url,
                bearer: Some(token),
                body,
                idempotency,
            })
            .await?;
        if response.status.is_success() {
            return Ok(response);
        }
        let status = response.status.as_u16();
        let retry_after = retry_after_from(&response.headers, self.clock.now());
        match GraphError::parse(status, &response.body) {
            Some(error) => Err(error.with_retry_after(retry_after).into()),
            // A throttling or unavailable answer from a gateway still says "later" (and maybe
            // when): keep it as data rather than as an unreadable response.
            None if status == 429 || (500..=599).contains(&status) => {
                Err(GraphError::without_body(
                    status,
                    response.client_request_id.to_string(),
                    retry_after,
                )
                .into())
            }
            None => Err(Error::UnexpectedResponse {
                service: "Microsoft Graph",
                context: "error response",
                detail: format!(
                    "HTTP {} without a Graph error body (client-request-id {})",
                    response.status, response.client_request_id
                ),
            }),
        }
    }
}

/// Every entry we read must still be there after the write, plus the new certificate.
fn verify_kept(before: &Application, after: &Application, new_der: &[u8]) -> Result<(), Error> {
    let mut missing: Vec<String> = before
        .key_credentials
        .iter()
        .filter(|old| {
            !after.key_credentials.iter().any(|k| {
                (old.key_id.is_some() && k.key_id == old.key_id)
                    || (old.sha1_thumbprint().is_some()
                        && k.sha1_thumbprint() == old.sha1_thumbprint())
            })
        })
        .map(|old| {
            old.key_id
                .clone()
                .or_else(|| old.sha1_hex())
                .unwrap_or_else(|| "?".into())
        })
        .collect();
    if after.key_for_certificate(new_der).is_none() {
        missing.push(format!(
            "new certificate {}",
            hex_upper(&thumbprints_of(new_der).0)
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(KeyUpdateError::VerificationFailed { missing }.into())
    }
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    response: &Response,
    context: &'static str,
) -> Result<T, Error> {
    serde_json::from_slice(&response.body).map_err(|e| Error::UnexpectedResponse {
        service: "Microsoft Graph",
        context,
        detail: e.to_string(),
    })
}

/// OData string literals double their single quotes; ids never need more than that.
pub(crate) fn quote(value: &str) -> String {
    value.replace('\'', "''")
}
