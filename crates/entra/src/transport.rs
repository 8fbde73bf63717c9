//! HTTP for Entra and Graph: TLS with the platform roots plus an optional extra CA file,
//! connect and total timeouts, retries with exponential backoff and jitter on 429, 503, 504 and
//! connection failures (honouring `Retry-After`), and a `client-request-id` on every call that is
//! logged with the outcome. Bodies are never logged: they carry assertions, tokens and keys.
//! Bodies are read with a size cap ([`TransportConfig::max_response_bytes`]), so a broken or
//! hostile endpoint cannot make the service buffer an unbounded answer.
//!
//! Writes are retried only when the failure proves the request was not processed (a refused
//! connection, a 429, a 503 with `Retry-After`). Anything else returns [`TransportError::WriteOutcomeUnknown`] so that the
//! caller can read the resource and decide.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::observe::{CallRecord, SharedCallObserver, aadsts_code, route_of};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use tenantlink_clock::{SharedSleeper, TokioSleeper};
use uuid::Uuid;

/// Spreads retry delays so that many clients throttled together do not retry together.
pub trait Jitter: Send + Sync + Debug {
    fn apply(&self, delay: Duration) -> Duration;
}

/// "Equal jitter": a uniformly random delay between half and all of the computed backoff.
#[derive(Debug, Default, Clone, Copy)]
pub struct EqualJitter;

impl Jitter for EqualJitter {
    fn apply(&self, delay: Duration) -> Duration {
        let mut byte = [0u8; 2];
        // A failed RNG read only loses the jitter, not correctness.
        let random = match aws_lc_rs::rand::fill(&mut byte) {
            Ok(()) => f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX),
            Err(_) => 1.0,
        };
        delay / 2 + delay.mul_f64(random / 2.0)
    }
}

/// No jitter: deterministic delays, for tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoJitter;

impl Jitter for NoJitter {
    fn apply(&self, delay: Duration) -> Duration {
        delay
    }
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the throttling error is returned.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Backoff before retry number `retry` (0-based): base × 2^retry, capped.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(16));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    pub retry: RetryPolicy,
    pub extra_ca_file: Option<PathBuf>,
    /// Largest response body read; a longer one is refused with
    /// [`TransportError::ResponseTooLarge`].
    pub max_response_bytes: usize,
}

/// Default cap of a response body: Entra's answers are a few kilobytes, Graph's pages of
/// mailbox items a few megabytes.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            extra_ca_file: None,
            max_response_bytes: MAX_RESPONSE_BYTES,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot read the extra CA file {path}: {detail}")]
    CaFile { path: PathBuf, detail: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("{method} {url} timed out after {attempts} attempt(s)")]
    Timeout {
        method: Method,
        url: String,
        attempts: u32,
    },
    #[error("cannot connect to {url} after {attempts} attempt(s): {detail}")]
    Connect {
        url: String,
        attempts: u32,
        detail: String,
    },
    #[error(
        "{method} {url} failed and it is unknown whether the server applied it (client-request-id {client_request_id}): {detail}"
    )]
    WriteOutcomeUnknown {
        method: Method,
        url: String,
        client_request_id: Uuid,
        detail: String,
    },
    #[error(
        "{method} {url} answered with a body larger than {limit} bytes (client-request-id {client_request_id}); tenantlink does not read it"
    )]
    ResponseTooLarge {
        method: Method,
        url: String,
        limit: usize,
        client_request_id: Uuid,
    },
    #[error("{method} {url} failed: {detail}")]
    Http {
        method: Method,
        url: String,
        detail: String,
    },
}

impl TransportError {
    /// What the error means, in one plain-language sentence.
    pub fn summary(&self) -> &'static str {
        match self {
            Self::CaFile { .. } | Self::Client(_) => {
                "The trusted CA file configured for this organization cannot be used."
            }
            _ => "tenantlink could not reach Entra ID or Microsoft Graph.",
        }
    }
}

/// Whether a request may be repeated after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads, token requests and polls: repeating them is harmless.
    Safe,
    /// Graph writes: repeated only when the failure proves they were not processed.
    Write,
}

#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    /// Form fields. Values may be secrets (assertions, device codes); they are never logged.
    Form(Vec<(&'static str, String)>),
    Json(serde_json::Value),
}

/// One logical HTTP call.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: Method,
    pub url: url::Url,
    pub bearer: Option<&'a str>,
    pub body: Body,
    pub idempotency: Idempotency,
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub client_request_id: Uuid,
}

#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
    retry: RetryPolicy,
    sleeper: SharedSleeper,
    jitter: Arc<dyn Jitter>,
    max_response_bytes: usize,
    /// Told of every logical call (metrics); none by default.
    observer: Option<SharedCallObserver>,
}

/// Why one attempt produced no response.
#[derive(Debug)]
enum AttemptError {
    Http(reqwest::Error),
    /// The body passed the cap; reading stopped there.
    TooLarge,
}

impl From<reqwest::Error> for AttemptError {
    fn from(error: reqwest::Error) -> Self {
        Self::Http(error)
    }
}

impl Transport {
    pub fn new(config: &TransportConfig) -> Result<Self, TransportError> {
        Self::with_timing(config, Arc::new(TokioSleeper), Arc::new(EqualJitter))
    }

    /// A transport whose waits and jitter are injected (tests, simulations).
    pub fn with_timing(
        config: &TransportConfig,
        sleeper: SharedSleeper,
        jitter: Arc<dyn Jitter>,
    ) -> Result<Self, TransportError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.total_timeout)
            .user_agent(concat!("tenantlink/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.extra_ca_file {
            builder = builder.tls_certs_merge(read_ca_file(path)?);
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Client(e.to_string()))?;
        Ok(Self {
            client,
            retry: config.retry.clone(),
            sleeper,
            jitter,
            max_response_bytes: config.max_response_bytes,
            observer: None,
        })
    }

    /// Reports every call (after its retries) and every token-cache lookup of the clients
    /// built on this transport to `observer`.
    pub fn with_observer(mut self, observer: SharedCallObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn observer(&self) -> Option<&SharedCallObserver> {
        self.observer.as_ref()
    }

    /// Waits between retries and between device-flow polls go through this one sleeper.
    pub fn sleeper(&self) -> &SharedSleeper {
        &self.sleeper
    }

    /// Sends `request`, retrying as the module documentation describes.
    pub async fn send(&self, request: &Request<'_>) -> Result<Response, TransportError> {
        let client_request_id = Uuid::new_v4();
        let started = Instant::now();
        let mut retry = 0u32;
        loop {
            let attempt = retry + 1;
            let outcome = self.attempt(request, client_request_id).await;
            let delay = match &outcome {
                Ok(response) => self.retry_delay_for_status(request, response, retry),
                Err(error) => self.retry_delay_for_error(request, error, retry),
            };
            match (&outcome, delay) {
                (Ok(response), _) => tracing::info!(
                    method = %request.method,
                    url = %request.url,
                    %client_request_id,
                    status = response.status.as_u16(),
                    attempt,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    retrying = delay.is_some(),
                    "http call"
                ),
                (Err(error), _) => tracing::warn!(
                    method = %request.method,
                    url = %request.url,
                    %client_request_id,
                    attempt,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    retrying = delay.is_some(),
                    error = %match error {
                        AttemptError::Http(error) => error.to_string(),
                        AttemptError::TooLarge => format!("body over {} bytes", self.max_response_bytes),
                    },
                    "http call failed"
                ),
            }
            match delay {
                Some(delay) => {
                    self.sleeper.sleep(delay).await;
                    retry += 1;
                }
                None => {
                    self.observe(request, &outcome, started.elapsed(), attempt);
                    return self.finish(request, outcome, client_request_id, attempt);
                }
            }
        }
    }

    async fn attempt(
        &self,
        request: &Request<'_>,
        client_request_id: Uuid,
    ) -> Result<Response, AttemptError> {
        let mut builder = self
            .client
            .request(request.method.clone(), request.url.clone())
            .header("client-request-id", client_request_id.to_string())
            .header("return-client-request-id", "true")
            .header("Accept", "application/json");
        if let Some(token) = request.bearer {
            builder = builder.bearer_auth(token);
        }
        builder = match &request.body {
            Body::Empty => builder,
            Body::Form(fields) => builder.form(fields),
            Body::Json(value) => builder.json(value),
        };
        let mut response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let limit = self.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(AttemptError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > limit {
                return Err(AttemptError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
            client_request_id,
        })
    }

    fn observe(
        &self,
        request: &Request<'_>,
        outcome: &Result<Response, AttemptError>,
        elapsed: Duration,
        attempts: u32,
    ) {
        let Some(observer) = &self.observer else {
            return;
        };
        let (service, endpoint) = route_of(&request.url);
        let outcome = match outcome {
            Ok(response) if response.status.is_success() => response.status.as_u16().to_string(),
            Ok(response) => {
                aadsts_code(&response.body).unwrap_or_else(|| response.status.as_u16().to_string())
            }
            Err(AttemptError::TooLarge) => "too_large".to_owned(),
            Err(AttemptError::Http(error)) if error.is_timeout() => "timeout".to_owned(),
            Err(AttemptError::Http(error)) if error.is_connect() => "connect".to_owned(),
            Err(AttemptError::Http(_)) => "error".to_owned(),
        };
        observer.call(&CallRecord {
            service,
            endpoint,
            outcome,
            elapsed,
            attempts,
        });
    }

    fn retry_delay_for_status(
        &self,
        request: &Request<'_>,
        response: &Response,
        retry: u32,
    ) -> Option<Duration> {
        if retry >= self.retry.max_retries {
            return None;
        }
        let retryable = refused_before_processing(response)
            || (matches!(response.status.as_u16(), 503 | 504)
                && request.idempotency == Idempotency::Safe);
        if !retryable {
            return None;
        }
        match retry_after(&response.headers) {
            Some(wait) if wait > self.retry.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(self.jitter.apply(self.retry.backoff(retry))),
        }
    }

    fn retry_delay_for_error(
        &self,
        request: &Request<'_>,
        error: &AttemptError,
        retry: u32,
    ) -> Option<Duration> {
        // An oversized answer would be oversized again.
        let AttemptError::Http(error) = error else {
            return None;
        };
        if retry >= self.retry.max_retries {
            return None;
        }
        // A connect failure means nothing reached the server; anything later is ambiguous.
        let retryable = error.is_connect()
            || (request.idempotency == Idempotency::Safe
                && (error.is_timeout() || error.is_request() || error.is_body()));
        retryable.then(|| self.jitter.apply(self.retry.backoff(retry)))
    }

    fn finish(
        &self,
        request: &Request<'_>,
        outcome: Result<Response, AttemptError>,
        client_request_id: Uuid,
        attempts: u32,
    ) -> Result<Response, TransportError> {
        let url = request.url.to_string();
        let outcome = match outcome {
            Err(AttemptError::TooLarge) => {
                return Err(TransportError::ResponseTooLarge {
                    method: request.method.clone(),
                    url,
                    limit: self.max_response_bytes,
                    client_request_id,
                });
            }
            Err(AttemptError::Http(error)) => Err(error),
            Ok(response) => Ok(response),
        };
        match outcome {
            Ok(response) => {
                let ambiguous_write_failure = request.idempotency == Idempotency::Write
                    && matches!(response.status.as_u16(), 502..=504)
                    && !refused_before_processing(&response);
                if ambiguous_write_failure {
                    return Err(TransportError::WriteOutcomeUnknown {
                        method: request.method.clone(),
                        url,
                        client_request_id,
                        detail: format!("HTTP {}", response.status),
                    });
                }
                Ok(response)
            }
            Err(e) if e.is_connect() => Err(TransportError::Connect {
                url,
                attempts,
                detail: error_chain(&e),
            }),
            Err(e) if request.idempotency == Idempotency::Write => {
                Err(TransportError::WriteOutcomeUnknown {
                    method: request.method.clone(),
                    url,
                    client_request_id,
                    detail: error_chain(&e),
                })
            }
            Err(e) if e.is_timeout() => Err(TransportError::Timeout {
                method: request.method.clone(),
                url,
                attempts,
            }),
            Err(e) => Err(TransportError::Http {
                method: request.method.clone(),
                url,
                detail: error_chain(&e),
            }),
        }
    }
}

/// A 429, or a 503 that says when to come back: the service refused the request without
/// processing it (RFC 9110 §15.6.4; Graph's throttling answers are either), so even a write may
/// be sent again and its error body is the answer. A 502, a 504 or a bare 503 may come from a
/// gateway after the service applied the write: its outcome is unknown.
fn refused_before_processing(response: &Response) -> bool {
    match response.status.as_u16() {
        429 => true,
        503 => response.headers.contains_key(RETRY_AFTER),
        _ => false,
    }
}

/// `Retry-After` in seconds, for the transport's own waits. (Entra and Graph send seconds; an
/// HTTP-date falls back to backoff here, since the transport has no clock to resolve it
/// against. The errors callers get resolve both forms: [`crate::retry_after`].)
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, TransportError> {
    let ca_error = |detail: String| TransportError::CaFile {
        path: path.to_owned(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(ca_error("no PEM certificate found in it".to_owned()));
    }
    Ok(certs)
}

fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let policy = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(60),
        };
        let delays: Vec<_> = (0..6).map(|r| policy.backoff(r).as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn equal_jitter_stays_between_half_and_full() {
        for _ in 0..100 {
            let d = EqualJitter.apply(Duration::from_millis(1000));
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn missing_ca_file_is_reported_with_its_path() {
        let config = TransportConfig {
            extra_ca_file: Some("/nonexistent/ca.pem".into()),
            ..TransportConfig::default()
        };
        let err = Transport::new(&config).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
