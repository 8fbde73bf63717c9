//! Device authorization grant (RFC 8628) the way Entra ID runs it: `/devicecode` hands out a user
//! code, then the token endpoint is polled every `interval` seconds until the administrator has
//! signed in at the verification page, declined, or the code expired.

use std::future::Future;
use std::time::Duration as StdDuration;

use reqwest::Method;
use serde::Deserialize;
use time::OffsetDateTime;

use tenantlink_clock::SharedClock;

use crate::durations::{
    MAX_DEVICE_CODE_LIFETIME, MAX_POLL_INTERVAL, MAX_TOKEN_LIFETIME, checked_after, slowed_down,
    within,
};
use crate::endpoints::{Endpoints, TenantId};
use crate::error::{AadstsKind, DeviceFlowError, EntraError, Error};
use crate::token::{post_token_form, token_claims};
use crate::transport::{Body, Idempotency, Request, Transport};
use tenantlink_secret::SecretString;

/// What `slow_down` adds to the polling interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: StdDuration = StdDuration::from_secs(5);

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A started device sign-in: show `message` (or the code and URI) to the administrator.
#[derive(Debug)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_uri: String,
    /// Entra's ready-made instruction ("To sign in, use a web browser to open the page …").
    pub message: String,
    pub expires_at: OffsetDateTime,
    pub interval: StdDuration,
    device_code: SecretString,
    tenant: TenantId,
    client_id: String,
}

/// Who completed the sign-in, from the id token (or access token) claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignedInAccount {
    /// `preferred_username` / `upn`.
    pub user_principal_name: Option<String>,
    /// `oid`: the user's object id in the tenant.
    pub object_id: Option<String>,
    /// `tid`: the tenant the user signed in to.
    pub tenant_id: Option<String>,
}

/// The result of a completed device sign-in.
#[derive(Debug)]
pub struct DelegatedSignIn {
    pub access_token: SecretString,
    pub expires_at: OffsetDateTime,
    pub scope: Option<String>,
    pub account: SignedInAccount,
}

#[derive(Debug, Clone)]
pub struct DeviceFlowClient {
    transport: Transport,
    endpoints: Endpoints,
    clock: SharedClock,
}

#[derive(Deserialize)]
struct DeviceCodeResponse {
    device_code: String,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default = "default_expires_in")]
    expires_in: serde_json::Value,
    #[serde(default = "default_interval")]
    interval: serde_json::Value,
}

fn default_expires_in() -> serde_json::Value {
    900.into()
}

fn default_interval() -> serde_json::Value {
    5.into()
}

impl DeviceFlowClient {
    pub fn new(transport: Transport, endpoints: Endpoints, clock: SharedClock) -> Self {
        Self {
            transport,
            endpoints,
            clock,
        }
    }

    /// Starts a sign-in. `openid profile` are added so that the id token names the user;
    /// `offline_access` is not: a delegated token must not outlive the operation.
    pub async fn start(
        &self,
        tenant: &TenantId,
        client_id: &str,
        scopes: &[String],
    ) -> Result<DeviceCode, Error> {
        let mut all_scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        for extra in ["openid", "profile"] {
            if !all_scopes.contains(&extra) {
                all_scopes.push(extra);
            }
        }
        let response = self
            .transport
            .send(&Request {
                method: Method::POST,
                url: self.endpoints.device_code_endpoint(tenant),
                bearer: None,
                body: Body::Form(vec![
                    ("client_id", client_id.to_owned()),
                    ("scope", all_scopes.join(" ")),
                ]),
                idempotency: Idempotency::Safe,
            })
            .await?;
        if !response.status.is_success() {
            return Err(
                match EntraError::parse(response.status.as_u16(), &response.body) {
                    Some(e) => e.into(),
                    None => Error::UnexpectedResponse {
                        service: "Entra ID",
                        context: "device code request",
                        detail: format!("HTTP {}", response.status),
                    },
                },
            );
        }
        let body: DeviceCodeResponse =
            serde_json::from_slice(&response.body).map_err(|e| Error::UnexpectedResponse {
                service: "Entra ID",
                context: "device code response",
                detail: e.to_string(),
            })?;
        let context = "device code response";
        let expires_in = seconds(&body.expires_in).unwrap_or(900);
        let expires_at = checked_after(
            self.clock.now(),
            i64::try_from(expires_in).unwrap_or(i64::MAX),
            MAX_DEVICE_CODE_LIFETIME,
            "expires_in",
            context,
        )?;
        let interval = seconds(&body.interval).filter(|s| *s > 0).unwrap_or(5);
        let interval = within(interval, MAX_POLL_INTERVAL, "interval", context)?;
        let message = body.message.unwrap_or_else(|| {
            format!(
                "To sign in, use a web browser to open the page {} and enter the code {} to authenticate.",
                body.verification_uri, body.user_code
            )
        });
        Ok(DeviceCode {
            user_code: body.user_code,
            verification_uri: body.verification_uri,
            message,
            expires_at,
            interval,
            device_code: SecretString::new(body.device_code),
            tenant: tenant.clone(),
            client_id: client_id.to_owned(),
        })
    }

    /// Polls until the sign-in completes, fails, expires, or `cancel` resolves.
    pub async fn wait(
        &self,
        code: &DeviceCode,
        cancel: impl Future<Output = ()>,
    ) -> Result<DelegatedSignIn, Error> {
        tokio::select! {
            biased;
            () = cancel => Err(DeviceFlowError::Cancelled.into()),
            result = self.poll_until_done(code) => result,
        }
    }

    async fn poll_until_done(&self, code: &DeviceCode) -> Result<DelegatedSignIn, Error> {
        let mut interval = code.interval;
        loop {
            self.transport.sleeper().sleep(interval).await;
            if self.clock.now() >= code.expires_at {
                return Err(DeviceFlowError::ExpiredLocally {
                    expired_at: code.expires_at,
                }
                .into());
            }
            let form = vec![
                ("grant_type", DEVICE_CODE_GRANT.to_owned()),
                ("client_id", code.client_id.clone()),
                ("device_code", code.device_code.expose().to_owned()),
            ];
            let url = self.endpoints.token_endpoint(&code.tenant);
            match post_token_form(&self.transport, url, form, &self.clock).await {
                Ok(token) => {
                    let account = account_from(token.id_token.as_deref(), &token.access_token);
                    let expires_at = checked_after(
                        self.clock.now(),
                        token.expires_in,
                        MAX_TOKEN_LIFETIME,
                        "expires_in",
                        "token response",
                    )?;
                    return Ok(DelegatedSignIn {
                        expires_at,
                        scope: token.scope,
                        account,
                        access_token: SecretString::new(token.access_token),
                    });
                }
                Err(Error::Entra(e)) => match e.kind {
                    AadstsKind::AuthorizationPending => {
                        tracing::debug!(user_code = %code.user_code, "device sign-in pending")
                    }
                    AadstsKind::SlowDown => interval = slowed_down(interval, SLOW_DOWN_STEP),
                    AadstsKind::AuthorizationDeclined => {
                        return Err(DeviceFlowError::Declined(e).into());
                    }
                    AadstsKind::DeviceCodeExpired => {
                        return Err(DeviceFlowError::Expired(e).into());
                    }
                    AadstsKind::BadVerificationCode => {
                        return Err(DeviceFlowError::BadVerificationCode(e).into());
                    }
                    _ => return Err(Error::Entra(e)),
                },
                Err(other) => return Err(other),
            }
        }
    }
}

fn seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads who signed in from the id token, falling back to the access token's claims.
pub(crate) fn account_from(id_token: Option<&str>, access_token: &str) -> SignedInAccount {
    let id_claims = id_token.and_then(token_claims).unwrap_or_default();
    let access_claims = token_claims(access_token).unwrap_or_default();
    let pick = |names: &[&str]| {
        [&id_claims, &access_claims].iter().find_map(|claims| {
            names
                .iter()
                .find_map(|n| claims.get(*n).and_then(|v| v.as_str()).map(str::to_owned))
        })
    };
    SignedInAccount {
        user_principal_name: pick(&["preferred_username", "upn", "unique_name", "email"]),
        object_id: pick(&["oid"]),
        tenant_id: pick(&["tid"]),
    }
}
