//! What the rotation scenarios (issue #12) share: the service started with a short renewal check,
//! the renewal policy changed through the API, Rotate now followed to its outcome, the audit log
//! and the sandbox's view of the backup application (its keys, the Graph key changes, the
//! request log) read through the control API, and waiting on any of it with a deadline.

use super::{Server, Session};
use crate::sandbox_process;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::future::Future;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Lifetime of the certificates in the rotation scenarios: short, so that a few clock steps
/// cross several of them.
pub const LIFETIME_DAYS: i64 = 30;

/// The overlap grace of the service's default (`overlap_grace_hours` = 72).
pub const OVERLAP_GRACE: time::Duration = time::Duration::hours(72);

/// The environment of a service whose renewal scheduler looks every five seconds (the least
/// serve allows), whose backup scheduler looks every second, and whose new certificates live
/// [`LIFETIME_DAYS`].
pub fn rotation_env() -> Vec<(String, String)> {
    [
        ("TENANTLINK_RENEWAL_CHECK_EVERY_SECONDS", "5".to_owned()),
        ("TENANTLINK_BACKUP_POLL_SECONDS", "1".to_owned()),
        ("TENANTLINK_VALIDITY_DAYS", LIFETIME_DAYS.to_string()),
        // Shorter than the lifetime, as the configuration requires.
        ("TENANTLINK_EXPIRING_SOON_DAYS", "7".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

pub fn time_of(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        value
            .as_str()
            .unwrap_or_else(|| panic!("a time, got {value}")),
        &Rfc3339,
    )
    .unwrap_or_else(|e| panic!("RFC 3339 {value}: {e}"))
}

/// Polls `probe` until it yields `Some`, at most `within`; panics with `what` and the last
/// value `describe` gives otherwise. Each poll is short; nothing sleeps for an assumed duration.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match probe().await {
            Ok(found) => return found,
            Err(last) => assert!(
                Instant::now() < deadline,
                "{what} did not happen within {within:?}; last seen: {last}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn patch(session: &Session, path: &str, body: Value) -> (StatusCode, Value) {
    let response = session
        .client
        .patch(format!("{}{path}", session.base))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .json(&body)
        .send()
        .await
        .expect("PATCH");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Changes the organization's renewal policy; the answer must be 200.
pub async fn set_renewal_policy(admin: &Session, organization: &str, policy: Value) -> Value {
    let (status, changed) = patch(
        admin,
        &format!("/api/v1/organizations/{organization}"),
        json!({ "renewal_policy": policy }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    changed
}

/// Lifetime [`LIFETIME_DAYS`] and no jitter: renewal exactly at two thirds.
pub async fn short_lived_policy(admin: &Session, organization: &str) -> Value {
    set_renewal_policy(
        admin,
        organization,
        json!({"lifetime_days": LIFETIME_DAYS, "jitter_seconds": 0}),
    )
    .await
}

/// `POST /api/v1/organizations/{id}/rotate`: status and body.
pub async fn rotate_now(admin: &Session, organization: &str) -> (StatusCode, Value) {
    admin
        .post(
            &format!("/api/v1/organizations/{organization}/rotate"),
            json!({}),
        )
        .await
}

/// Rotate now, answered 202 with a rotate operation; returns the operation's id.
pub async fn start_rotation(admin: &Session, organization: &str) -> String {
    let (status, operation) = rotate_now(admin, organization).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{operation}");
    assert_eq!(operation["kind"], "rotate", "{operation}");
    operation["id"].as_str().expect("operation id").to_owned()
}

/// Follows an operation until it has finished (succeeded, failed or cancelled).
pub async fn finished_operation(admin: &Session, operation: &str) -> Value {
    admin
        .wait_for(operation, |op| {
            matches!(
                op["step"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            )
        })
        .await
}

/// The organization's rotate operations, as the API lists them.
pub async fn rotations(admin: &Session, organization: &str) -> Vec<Value> {
    let (status, list) = admin
        .get(&format!("/api/v1/organizations/{organization}/operations"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .expect("operations")
        .iter()
        .filter(|o| o["kind"] == "rotate")
        .cloned()
        .collect()
}

/// The audit entries with this action, oldest first.
pub async fn audited(session: &Session, action: &str) -> Vec<Value> {
    let (status, audit) = session.get("/api/v1/audit?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let mut entries: Vec<Value> = audit
        .as_array()
        .expect("audit entries")
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect();
    entries.reverse();
    entries
}

/// The upper-case thumbprints an audit entry names.
pub fn thumbprints_of(entry: &Value) -> Vec<String> {
    entry["thumbprints"]
        .as_array()
        .expect("thumbprints")
        .iter()
        .map(|t| t.as_str().expect("thumbprint").to_ascii_uppercase())
        .collect()
}

/// The certificate resource (`GET …/certificate`).
pub async fn certificate(admin: &Session, organization: &str) -> Value {
    super::scenario::certificate_page(admin, organization).await
}

/// The active certificate's SHA-1 thumbprint.
pub async fn active_thumbprint(admin: &Session, organization: &str) -> String {
    let page = certificate(admin, organization).await;
    page["active"]["sha1_thumbprint"]
        .as_str()
        .unwrap_or_else(|| panic!("an active certificate: {page}"))
        .to_owned()
}

/// The app-only check of the active certificate (`POST …/check`) succeeds: the organization
/// signs in.
pub async fn assert_signs_in(admin: &Session, organization: &str) {
    let (status, checked) = admin
        .post(
            &format!("/api/v1/organizations/{organization}/check"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked["state"], "valid", "{checked}");
}

/// The sandbox as seen from its control API (GET and DELETE besides the POSTs of
/// `sandbox_process`), for the sandbox embedded in the server or a standalone one.
pub struct SandboxView<'a> {
    pub info: &'a Value,
}

impl<'a> SandboxView<'a> {
    pub fn of(server: &'a Server) -> Self {
        Self {
            info: &server.sandbox,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!(
            "{}{path}",
            sandbox_process::text(self.info, "/control_base")
        );
        let mut request = sandbox_process::client(self.info).request(method, url);
        if let Some(secret) = self.info["control_secret"].as_str() {
            request = request.bearer_auth(secret);
        }
        request
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("control GET");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "control GET {path}: {status} {body}");
        body
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        sandbox_process::control(self.info, path, body).await
    }

    /// Adds a fault (`/_sandbox/faults`).
    pub async fn fault(&self, fault: Value) {
        self.post("/faults", fault).await;
    }

    pub async fn clear_faults(&self) {
        let response = self
            .request(reqwest::Method::DELETE, "/faults")
            .send()
            .await
            .expect("control DELETE faults");
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// Moves the sandbox's (and so the embedded service's) clock; returns the new now.
    pub async fn advance(&self, by: time::Duration) -> OffsetDateTime {
        let moved = self
            .post(
                "/clock",
                json!({ "advance_seconds": by.whole_seconds() as f64 }),
            )
            .await;
        time_of(&moved["now"])
    }

    pub async fn now(&self) -> OffsetDateTime {
        time_of(&self.get("/clock").await["now"])
    }

    /// The backup application (`GET /_sandbox/applications/{object id}`): its keys with their
    /// thumbprints and the Graph key changes since the sandbox started.
    pub async fn application(&self, object_id: &str) -> Value {
        self.get(&format!("/applications/{object_id}")).await
    }

    pub async fn backup_application(&self) -> Value {
        let object_id = sandbox_process::text(self.info, "/backup_app/object_id");
        self.application(&object_id).await
    }

    /// The requests the sandbox served since its start or the last [`SandboxView::clear_requests`].
    pub async fn requests(&self) -> Vec<Value> {
        self.get("/requests").await["requests"]
            .as_array()
            .expect("requests")
            .clone()
    }

    pub async fn clear_requests(&self) {
        let response = self
            .request(reqwest::Method::DELETE, "/requests")
            .send()
            .await
            .expect("control DELETE requests");
        assert!(response.status().is_success(), "{}", response.status());
    }
}

/// Upper-case thumbprints of an application's keys (as `GET /_sandbox/applications/{id}` gives
/// them, computed from each key's certificate).
pub fn key_thumbprints(application: &Value) -> Vec<String> {
    application["key_credentials"]
        .as_array()
        .expect("key_credentials")
        .iter()
        .filter_map(|k| k["thumbprint"].as_str().map(str::to_ascii_uppercase))
        .collect()
}

/// Requests of this method whose path ends with `suffix` (query names dropped first).
pub fn count_requests(requests: &[Value], method: &str, suffix: &str) -> usize {
    requests
        .iter()
        .filter(|r| {
            r["method"] == method
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.split('?').next().unwrap_or(p).ends_with(suffix))
        })
        .count()
}

/// Requests to Graph's applications (any method), the calls rotation makes.
pub fn application_requests(requests: &[Value]) -> Vec<&Value> {
    requests
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/v1.0/applications"))
        })
        .collect()
}

/// No request the sandbox served was refused with AADSTS700027 (an expired or unknown key).
pub fn assert_no_expired_key(requests: &[Value]) {
    let refused: Vec<&Value> = requests
        .iter()
        .filter(|r| r["outcome"].as_str().is_some_and(|o| o.contains("700027")))
        .collect();
    assert!(refused.is_empty(), "AADSTS700027 seen: {refused:?}");
}
