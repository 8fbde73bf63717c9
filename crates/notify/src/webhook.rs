//! Webhook delivery: one signed POST per attempt.
//!
//! Redirects are never followed. The signature covers the body, not the URL, so following a
//! redirect would hand a signed notice to whichever host the receiver names — and a receiver that
//! moved should have its endpoint changed by an administrator, who sees the 3xx and its
//! `Location` in the delivery log. A 3xx is therefore a failed attempt like any other non-2xx.

use crate::cause;
use crate::destination::is_loopback_host;
use crate::signature::sign;
use std::time::Duration;
use tenantlink_service::SecretString;
use tenantlink_service::notices::{SendError, WebhookMessage};

/// How long one attempt may take, connecting included. A receiver is expected to answer at once
/// and do its work later (Standard Webhooks' advice); the dispatcher retries a slow one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends signed webhook requests. Cheap to clone (one connection pool).
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    timeout: Duration,
}

impl WebhookSender {
    /// A sender whose attempts end after [`DEFAULT_TIMEOUT`].
    pub fn new() -> Result<Self, String> {
        Self::with_timeout(DEFAULT_TIMEOUT)
    }

    pub fn with_timeout(timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("tenantlink/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the webhook HTTP client: {e}"))?;
        Ok(Self { client, timeout })
    }

    /// POSTs `message` to `url`, signed with `secret`; `Ok(status)` for a 2xx answer.
    pub async fn send(
        &self,
        url: &str,
        secret: &SecretString,
        message: &WebhookMessage,
    ) -> Result<u16, SendError> {
        let url = check_webhook_url(url).map_err(failure)?;
        let timestamp = message.timestamp.unix_timestamp();
        let signature = sign(secret.expose(), &message.id, timestamp, &message.body)
            .map_err(|e| failure(e.to_string()))?;
        let response = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.body.clone())
            .send()
            .await
            .map_err(|e| self.describe(&url, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let message = if status.is_redirection() {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or("nowhere");
            format!(
                "the endpoint answered HTTP {status} redirecting to {location}; redirects are not followed, so set the endpoint's URL to where it should deliver"
            )
        } else {
            format!("the endpoint answered HTTP {status}")
        };
        Err(SendError {
            status_code: Some(status.as_u16()),
            message,
        })
    }

    /// What went wrong before an answer, in a sentence: timeout, refused connection, TLS, other.
    fn describe(&self, url: &url::Url, error: &reqwest::Error) -> SendError {
        let target = match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => url.to_string(),
        };
        let causes = cause::describe(error);
        let message = if error.is_timeout() {
            format!(
                "no answer from {target} within {} s (timeout)",
                self.timeout.as_secs()
            )
        } else if cause::is_connection_refused(error) {
            format!("connection refused by {target}")
        } else if cause::is_tls(error) {
            format!("TLS with {target} failed: {causes}")
        } else if error.is_connect() {
            format!("cannot connect to {target}: {causes}")
        } else {
            format!("the request to {target} failed: {causes}")
        };
        failure(message)
    }
}

/// The URL a webhook may be sent to: HTTPS, or HTTP to a loopback host. The service checks the
/// same rule when an endpoint is created; this is the last check before a connection.
pub fn check_webhook_url(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("the webhook URL is not a URL ({e})"))?;
    let host = parsed.host_str().unwrap_or("");
    match parsed.scheme() {
        "https" if !host.is_empty() => Ok(parsed),
        "http" if is_loopback_host(host) => Ok(parsed),
        "http" => Err(format!(
            "refused to send to http://{host}: a webhook URL must be HTTPS unless its host is this machine (localhost, 127.0.0.0/8, ::1)"
        )),
        other => Err(format!(
            "refused to send to a {other}: URL: a webhook URL must be HTTPS"
        )),
    }
}

fn failure(message: impl Into<String>) -> SendError {
    SendError {
        status_code: None,
        message: message.into(),
    }
}
