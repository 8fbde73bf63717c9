//! App-only tokens with a certificate (client credentials grant) and their cache.
//!
//! The cache is keyed by (tenant, client, scope, certificate SHA-1 thumbprint): a new certificate
//! means new entries, and the entries of the previous certificate are dropped when the first
//! request with the new one arrives. Tokens are refreshed ahead of expiry; concurrent callers for
//! one entry share a single assertion and token request (single flight).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use reqwest::Method;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use tenantlink_clock::SharedClock;
use tenantlink_jose::UnverifiedJws;

use crate::assertion::{AssertionOptions, client_assertion};
use crate::durations::{MAX_TOKEN_LIFETIME, checked_after};
use crate::endpoints::{Endpoints, TenantId};
use crate::error::{EntraError, Error};
use crate::observe::CacheLookup;
use crate::retry_after::retry_after_from;
use crate::signer::SigningCertificate;
use crate::transport::{Body, Idempotency, Request, Transport};
use tenantlink_secret::SecretString;

/// Refresh this long before expiry (or at half the lifetime for short-lived tokens).
pub const REFRESH_AHEAD: Duration = Duration::minutes(5);

/// An access token and when it stops working.
#[derive(Debug)]
pub struct AppToken {
    pub access_token: SecretString,
    pub expires_at: OffsetDateTime,
    /// When the cache fetches a replacement.
    pub refresh_at: OffsetDateTime,
}

impl AppToken {
    /// The `roles` claim of the access token (application permissions), read without
    /// verification: for display only, the token was received over TLS from the token endpoint.
    pub fn roles(&self) -> Vec<String> {
        self.readable_roles().unwrap_or_default()
    }

    /// [`AppToken::roles`], or `None` when the token is not a readable JWT (Entra may issue
    /// opaque tokens): empty means a readable token without application permissions.
    pub fn readable_roles(&self) -> Option<Vec<String>> {
        let claims = token_claims(self.access_token.expose())?;
        Some(
            claims
                .get("roles")
                .cloned()
                .and_then(|roles| serde_json::from_value(roles).ok())
                .unwrap_or_default(),
        )
    }
}

/// The unverified claims of a JWT access or id token; `None` for opaque tokens.
pub(crate) fn token_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    UnverifiedJws::parse(token).ok().map(|jws| jws.claims)
}

/// One app-only token request.
#[derive(Debug, Clone, Copy)]
pub struct AppTokenRequest<'a> {
    pub tenant: &'a TenantId,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub assertion: AssertionOptions,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    tenant: String,
    client_id: String,
    scope: String,
    thumbprint: [u8; 20],
}

impl CacheKey {
    pub fn new(tenant: &str, client_id: &str, scope: &str, thumbprint: [u8; 20]) -> Self {
        Self {
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            thumbprint,
        }
    }

    fn same_principal(&self, other: &Self) -> bool {
        self.tenant == other.tenant
            && self.client_id == other.client_id
            && self.scope == other.scope
    }
}

#[derive(Debug, Default)]
struct Slot {
    current: RwLock<Option<Arc<AppToken>>>,
    /// Held while one caller fetches; the others wait and then read its result.
    fetching: tokio::sync::Mutex<()>,
}

impl Slot {
    fn fresh(&self, now: OffsetDateTime) -> Option<Arc<AppToken>> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        current.as_ref().filter(|t| now < t.refresh_at).cloned()
    }

    fn still_valid(&self, now: OffsetDateTime) -> Option<Arc<AppToken>> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        current.as_ref().filter(|t| now < t.expires_at).cloned()
    }
}

/// The app-token cache. Shared by every job of the process.
#[derive(Debug, Default)]
pub struct TokenCache {
    slots: RwLock<HashMap<CacheKey, Arc<Slot>>>,
}

impl TokenCache {
    /// A cached token that does not need refreshing yet.
    pub fn get_fresh(&self, key: &CacheKey, now: OffsetDateTime) -> Option<Arc<AppToken>> {
        let slots = self.slots.read().unwrap_or_else(|p| p.into_inner());
        slots.get(key)?.fresh(now)
    }

    /// Puts a token in the cache (what a fetch does; also for warm starts and benchmarks).
    pub fn store(&self, key: &CacheKey, token: AppToken) -> Arc<AppToken> {
        let token = Arc::new(token);
        *self
            .slot(key)
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        token
    }

    /// Forgets the tokens of this principal (e.g. after Entra rejected one).
    pub fn invalidate(&self, tenant: &str, client_id: &str) {
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        slots.retain(|k, _| !(k.tenant == tenant && k.client_id == client_id));
    }

    pub fn len(&self) -> usize {
        self.slots.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of `key`, created if needed; creating it drops the slots of the same principal
    /// with another certificate, whose tokens belong to a credential no longer in use.
    fn slot(&self, key: &CacheKey) -> Arc<Slot> {
        if let Some(slot) = self
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
        {
            return slot.clone();
        }
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        slots.retain(|k, _| k == key || !k.same_principal(key));
        slots.entry(key.clone()).or_default().clone()
    }
}

/// Gets app-only tokens with a certificate, through the cache.
#[derive(Debug, Clone)]
pub struct TokenClient {
    transport: Transport,
    endpoints: Endpoints,
    clock: SharedClock,
    cache: Arc<TokenCache>,
}

impl TokenClient {
    pub fn new(transport: Transport, endpoints: Endpoints, clock: SharedClock) -> Self {
        Self {
            transport,
            endpoints,
            clock,
            cache: Arc::default(),
        }
    }

    pub fn cache(&self) -> &Arc<TokenCache> {
        &self.cache
    }

    /// A token from the cache, or a fresh one. When a refresh fails while the cached token is
    /// still valid, the cached token is returned and the failure logged.
    pub async fn app_token(
        &self,
        request: AppTokenRequest<'_>,
        signer: &SigningCertificate,
    ) -> Result<Arc<AppToken>, Error> {
        let key = CacheKey::new(
            request.tenant.as_str(),
            request.client_id,
            request.scope,
            *signer.sha1(),
        );
        if let Some(token) = self.cache.get_fresh(&key, self.clock.now()) {
            self.observe_cache(CacheLookup::Hit);
            return Ok(token);
        }
        let slot = self.cache.slot(&key);
        let _single_flight = slot.fetching.lock().await;
        let now = self.clock.now();
        // Another caller fetched it while this one waited: still a hit, no request was made.
        if let Some(token) = slot.fresh(now) {
            self.observe_cache(CacheLookup::Hit);
            return Ok(token);
        }
        self.observe_cache(CacheLookup::Miss);
        match self.fetch(request, signer).await {
            Ok(token) => {
                let token = Arc::new(token);
                *slot.current.write().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
                Ok(token)
            }
            Err(error) => match slot.still_valid(now) {
                Some(token) => {
                    tracing::warn!(tenant = %request.tenant, client_id = request.client_id, %error,
                        "token refresh failed; using the cached token until it expires");
                    Ok(token)
                }
                None => Err(error),
            },
        }
    }

    fn observe_cache(&self, lookup: CacheLookup) {
        if let Some(observer) = self.transport.observer() {
            observer.token_cache(lookup);
        }
    }

    /// A new token, bypassing the cache (used to prove a new certificate works).
    pub async fn fetch(
        &self,
        request: AppTokenRequest<'_>,
        signer: &SigningCertificate,
    ) -> Result<AppToken, Error> {
        let token_endpoint = self.endpoints.token_endpoint(request.tenant);
        let assertion = client_assertion(
            signer,
            request.client_id,
            token_endpoint.as_str(),
            request.assertion,
            self.clock.now(),
        )?;
        let form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", request.client_id.to_owned()),
            ("scope", request.scope.to_owned()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ),
            ("client_assertion", assertion.expose().to_owned()),
        ];
        let response = post_token_form(&self.transport, token_endpoint, form, &self.clock).await?;
        app_token_from(response, self.clock.now())
    }
}

/// A successful token endpoint response.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    #[serde(deserialize_with = "int_or_string")]
    pub expires_in: i64,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub refresh_in: Option<i64>,
    pub id_token: Option<String>,
    pub scope: Option<String>,
}

fn app_token_from(response: TokenResponse, now: OffsetDateTime) -> Result<AppToken, Error> {
    let expires_at = checked_after(
        now,
        response.expires_in,
        MAX_TOKEN_LIFETIME,
        "expires_in",
        "token response",
    )?;
    let lifetime = expires_at - now;
    let refresh_at = match response.refresh_in {
        // Refreshing later than the token expires makes no sense: an absurd `refresh_in` is
        // capped at the lifetime rather than refused.
        Some(seconds) if seconds > 0 => now + Duration::seconds(seconds).min(lifetime),
        _ => expires_at - REFRESH_AHEAD.min(lifetime / 2),
    };
    Ok(AppToken {
        access_token: SecretString::new(response.access_token),
        expires_at,
        refresh_at,
    })
}

/// POSTs a form to a token endpoint and reads either a token or Entra's error body (with the
/// `Retry-After` of a throttled or unavailable answer, resolved on `clock`).
pub(crate) async fn post_token_form(
    transport: &Transport,
    url: url::Url,
    form: Vec<(&'static str, String)>,
    clock: &SharedClock,
) -> Result<TokenResponse, Error> {
    send_token_form(transport, url, form, clock, Idempotency::Safe).await
}

/// [`post_token_form`] for a single-use grant (an authorization code): repeated only when the
/// failure proves Entra never processed it.
pub(crate) async fn post_token_form_once(
    transport: &Transport,
    url: url::Url,
    form: Vec<(&'static str, String)>,
    clock: &SharedClock,
) -> Result<TokenResponse, Error> {
    send_token_form(transport, url, form, clock, Idempotency::Write).await
}

async fn send_token_form(
    transport: &Transport,
    url: url::Url,
    form: Vec<(&'static str, String)>,
    clock: &SharedClock,
    idempotency: Idempotency,
) -> Result<TokenResponse, Error> {
    let response = transport
        .send(&Request {
            method: Method::POST,
            url,
            bearer: None,
            body: Body::Form(form),
            idempotency,
        })
        .await?;
    if response.status.is_success() {
        return serde_json::from_slice(&response.body).map_err(|e| Error::UnexpectedResponse {
            service: "Entra ID",
            context: "token response",
            detail: e.to_string(),
        });
    }
    match EntraError::parse(response.status.as_u16(), &response.body) {
        Some(error) => Err(error
            .with_retry_after(retry_after_from(&response.headers, clock.now()))
            .into()),
        None => Err(Error::UnexpectedResponse {
            service: "Entra ID",
            context: "token endpoint error",
            detail: format!(
                "HTTP {} without an OAuth error body (client-request-id {})",
                response.status, response.client_request_id
            ),
        }),
    }
}

/// Entra v2.0 sends integers; v1 and some proxies send numeric strings (MSAL accepts both).
fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    opt_int_or_string(d)?.ok_or_else(|| serde::de::Error::custom("missing number"))
}

fn opt_int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde_json::Value;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a number"))),
        Some(other) => Err(serde::de::Error::custom(format!("{other} is not a number"))),
    }
}
