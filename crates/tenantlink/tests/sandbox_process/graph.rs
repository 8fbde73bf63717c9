//! The test acting as a tenant administrator in a sandbox's Microsoft Graph, outside tenantlink:
//! a delegated token from its own device sign-in (approved through the control API), then reading
//! and writing the backup application's keyCredentials like the Entra admin center would.

use super::{approve, client, text};
use serde_json::{Value, json};

pub struct GraphAdmin {
    client: reqwest::Client,
    graph_base: String,
    object_id: String,
    /// The delegated tokens the sandbox issued to this sign-in: secrets a scan looks for.
    pub access_token: String,
    pub refresh_token: String,
}

impl GraphAdmin {
    /// Signs in as the administrator of the sandbox described by `info` (its sandbox.json)
    /// through the device flow of its public client: one poll, right after the approval, so
    /// nothing waits for the polling interval.
    pub async fn sign_in(info: &Value) -> Self {
        let client = client(info);
        let token_base = format!(
            "{}/{}/oauth2/v2.0",
            text(info, "/authority"),
            text(info, "/tenant_id")
        );
        let client_id = text(info, "/public_client_id");
        let code: Value = client
            .post(format!("{token_base}/devicecode"))
            .form(&[
                ("client_id", client_id.as_str()),
                (
                    "scope",
                    "https://graph.microsoft.com/Application.ReadWrite.All offline_access",
                ),
            ])
            .send()
            .await
            .expect("devicecode")
            .json()
            .await
            .expect("devicecode JSON");
        approve(info, code["user_code"].as_str().expect("user_code")).await;
        let response = client
            .post(format!("{token_base}/token"))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", client_id.as_str()),
                (
                    "device_code",
                    code["device_code"].as_str().expect("device_code"),
                ),
            ])
            .send()
            .await
            .expect("token");
        assert!(
            response.status().is_success(),
            "device token: {}",
            response.status()
        );
        let token: Value = response.json().await.expect("token JSON");
        Self {
            client,
            graph_base: text(info, "/graph_base"),
            object_id: text(info, "/backup_app/object_id"),
            access_token: token["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh_token: token["refresh_token"]
                .as_str()
                .expect("refresh_token (offline_access)")
                .to_owned(),
        }
    }

    /// The backup application's keyCredentials, with their `key`s (Graph reveals them only when
    /// `keyCredentials` is `$select`ed).
    pub async fn key_credentials(&self) -> Vec<Value> {
        let response = self
            .client
            .get(format!(
                "{}/applications/{}?$select=id,keyCredentials",
                self.graph_base, self.object_id
            ))
            .bearer_auth(&self.access_token)
            .send()
            .await
            .expect("GET application");
        assert!(
            response.status().is_success(),
            "GET application: {}",
            response.status()
        );
        let app: Value = response.json().await.expect("application JSON");
        app["keyCredentials"]
            .as_array()
            .expect("keyCredentials")
            .clone()
    }

    /// Upper-case SHA-1 thumbprints of the application's certificates, sorted.
    pub async fn thumbprints(&self) -> Vec<String> {
        let mut thumbprints: Vec<String> = self
            .key_credentials()
            .await
            .iter()
            .map(|k| {
                k["customKeyIdentifier"]
                    .as_str()
                    .expect("customKeyIdentifier")
                    .to_ascii_uppercase()
            })
            .collect();
        thumbprints.sort();
        thumbprints
    }

    /// Read–merge–write: every existing key is sent back unchanged, the new certificate (its DER
    /// in standard base64, as Graph's `key` takes it) added.
    pub async fn attach(&self, key_base64: &str, display_name: &str) {
        let mut keys = self.key_credentials().await;
        keys.push(json!({
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "key": key_base64,
            "displayName": display_name,
        }));
        self.put_key_credentials(keys).await;
    }

    /// Replaces the application's whole keyCredentials collection with `keys` (Graph's PATCH has
    /// no "add one": a caller that keeps the others sends them back).
    pub async fn put_key_credentials(&self, keys: Vec<Value>) {
        let response = self
            .client
            .patch(format!(
                "{}/applications/{}",
                self.graph_base, self.object_id
            ))
            .bearer_auth(&self.access_token)
            .json(&json!({ "keyCredentials": keys }))
            .send()
            .await
            .expect("PATCH application");
        let status = response.status();
        assert_eq!(
            status,
            reqwest::StatusCode::NO_CONTENT,
            "PATCH keyCredentials: {}",
            response.text().await.unwrap_or_default()
        );
    }
}
