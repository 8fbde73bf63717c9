//! The notices API of `tenantlink serve` over HTTP (issue #13): webhook endpoints with their
//! secret shown once, refused URLs and event types, enable/disable/delete, a test event to a
//! receiver in this process whose Standard Webhooks signature verifies with the reference
//! algorithm (HMAC-SHA256 of `id.timestamp.body`), the delivery log, the notice settings and
//! an organization's recipients with their refusals, roles, the audit log and the OpenAPI
//! document. On SQLite and PostgreSQL.

mod openssl_support;
mod sandbox_process;
mod serve_support;

use aws_lc_rs::hmac;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use serve_support::{ADMIN_PASSWORD, Backend, Deployment, Session, log_in};
use tokio::sync::mpsc;

on_both_backends!(the_administrator_manages_webhooks_and_notice_settings);

/// What the receiver got: the three Standard Webhooks headers and the raw body.
#[derive(Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

/// A webhook receiver on 127.0.0.1: `/hook` answers 204, `/broken` answers 500. Returns its
/// base URL and what it received.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    async fn take(
        State(tx): State<mpsc::UnboundedSender<Received>>,
        headers: HeaderMap,
        body: Bytes,
    ) {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let _ = tx.send(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: body.to_vec(),
        });
    }
    let app = Router::new()
        .route(
            "/hook",
            post(|state, headers, body| async move {
                take(state, headers, body).await;
                AxumStatus::NO_CONTENT
            }),
        )
        .route(
            "/broken",
            post(|| async { AxumStatus::INTERNAL_SERVER_ERROR }),
        )
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), rx)
}

/// The Standard Webhooks reference check: some `v1,<base64>` of the header equals the
/// HMAC-SHA256, keyed with the base64 after `whsec_`, of `{id}.{timestamp}.{body}`.
fn signature_verifies(secret: &str, received: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 key");
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let mut signed = format!("{}.{}.", received.id, received.timestamp).into_bytes();
    signed.extend_from_slice(&received.body);
    received.signature.split(' ').any(|candidate| {
        candidate
            .strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|tag| hmac::verify(&key, &signed, &tag).is_ok())
    })
}

/// A JSON request with the session cookie and the CSRF header; the body, if any, as JSON.
async fn send(
    session: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = session
        .client
        .request(method, format!("{}{path}", session.base))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A refusal: the status, a problem naming the field, and its detail.
fn assert_problem(status: StatusCode, problem: &Value, expected: StatusCode, field: &str) {
    assert_eq!(status, expected, "{problem}");
    assert!(problem["type"].as_str().unwrap().starts_with("/problems/"));
    assert_eq!(problem["field"], field, "{problem}");
    assert!(!problem["detail"].as_str().unwrap().is_empty(), "{problem}");
}

async fn webhooks(session: &Session) -> Vec<Value> {
    let (status, list) = session.get("/api/v1/webhooks").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["webhooks"].as_array().unwrap().clone()
}

async fn the_administrator_manages_webhooks_and_notice_settings(backend: Backend) {
    let Some(deployment) = Deployment::new(backend) else {
        return;
    };
    let server = deployment.start();
    let admin = log_in(&server.base, "admin", ADMIN_PASSWORD).await.unwrap();
    let (base_url, mut received) = receiver().await;

    // Refused: plain HTTP to another host, an unknown event type, a misspelt field. Nothing
    // is created.
    let (status, problem) = admin
        .post(
            "/api/v1/webhooks",
            json!({"url": "http://example.com/hook", "description": "plain"}),
        )
        .await;
    assert_problem(status, &problem, StatusCode::UNPROCESSABLE_ENTITY, "url");
    assert!(problem["detail"].as_str().unwrap().contains("https://"));
    let (status, problem) = admin
        .post(
            "/api/v1/webhooks",
            json!({"url": format!("{base_url}/hook"), "event_types": ["certificate.expire"]}),
        )
        .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "event_types",
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("certificate.expiring")
    );
    let (status, problem) = admin
        .post(
            "/api/v1/webhooks",
            json!({"url": format!("{base_url}/hook"), "event_type": ["rotation.failed"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("event_type"));
    assert!(webhooks(&admin).await.is_empty());

    // Created: the secret once; the listed types as asked, or every type but the test event.
    let (status, created) = admin
        .post(
            "/api/v1/webhooks",
            json!({
                "url": format!("{base_url}/hook"),
                "description": "on-call",
                "event_types": ["rotation.failed", "certificate.expiring"],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{created}"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["event_types"],
        json!(["certificate.expiring", "rotation.failed"])
    );
    assert_eq!(created["enabled"], true);
    assert_eq!(created["failing_since"], Value::Null);
    assert_eq!(created["consecutive_failures"], 0);
    assert_eq!(created["created_by"], "admin");
    assert_eq!(created["description"], "on-call");
    let (status, all) = admin
        .post(
            "/api/v1/webhooks",
            json!({"url": format!("{base_url}/broken")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{all}");
    let broken = all["id"].as_str().unwrap().to_owned();
    let types = all["event_types"].as_array().unwrap();
    assert!(types.len() >= 9, "{all}");
    assert!(!types.contains(&json!("tenantlink.test")), "{all}");

    // Never again: not in the list, not in a read.
    let listed = webhooks(&admin).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], id.as_str());
    let (_, text) = admin.get_text("/api/v1/webhooks").await;
    assert!(
        !text.contains(&secret) && !text.contains("secret"),
        "{text}"
    );
    let (status, read) = admin.get(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(read.get("secret").is_none(), "{read}");
    assert_eq!(read["url"], format!("{base_url}/hook"));

    // A test event arrives signed: the reference algorithm verifies it with the secret, and
    // not with another one.
    let (status, delivery) = admin
        .post(&format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{delivery}");
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["last_status_code"], 204);
    assert_eq!(delivery["channel"], "webhook");
    assert_eq!(delivery["event_type"], "tenantlink.test");
    let got = received
        .try_recv()
        .expect("the test event reached the receiver");
    assert_eq!(got.id, delivery["notice_id"].as_str().unwrap());
    assert!(got.timestamp.parse::<i64>().is_ok(), "{got:?}");
    assert!(signature_verifies(&secret, &got), "{got:?}");
    let other = format!("whsec_{}", STANDARD.encode([7u8; 32]));
    assert!(!signature_verifies(&other, &got));
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["type"], "tenantlink.test");
    assert!(
        body["timestamp"].is_string() && body["data"]["reason"].is_string(),
        "{body}"
    );

    // The delivery log and the notices list show it; no body, no secret.
    let (status, log) = admin
        .get(&format!("/api/v1/webhooks/{id}/deliveries"))
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let log = log["deliveries"].as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], delivery["id"]);
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["last_status_code"], 204);
    assert!(log[0]["delivered_at"].is_string());
    let (_, notices) = admin.get("/api/v1/notices").await;
    assert_eq!(
        notices["notices"][0]["id"], delivery["notice_id"],
        "{notices}"
    );
    assert_eq!(notices["notices"][0]["event_type"], "tenantlink.test");

    // An endpoint answering 500: the test delivery is failed with that code.
    let (status, failed) = admin
        .post(&format!("/api/v1/webhooks/{broken}/test"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["last_status_code"], 500);
    assert!(failed["last_error"].is_string(), "{failed}");

    // Disable, refused test while disabled, enable, delete.
    let (status, off) = admin
        .post(&format!("/api/v1/webhooks/{id}/disable"), json!({}))
        .await;
    assert_eq!((status, &off["enabled"]), (StatusCode::OK, &json!(false)));
    let (status, problem) = admin
        .post(&format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(received.try_recv().is_err());
    let (status, on) = admin
        .post(&format!("/api/v1/webhooks/{id}/enable"), json!({}))
        .await;
    assert_eq!((status, &on["enabled"]), (StatusCode::OK, &json!(true)));
    let (status, _) = send(
        &admin,
        Method::DELETE,
        &format!("/api/v1/webhooks/{broken}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        admin.get(&format!("/api/v1/webhooks/{broken}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(webhooks(&admin).await.len(), 1);

    // Settings: defaults, a round trip (stored sorted), and refusals that change nothing.
    let (status, defaults) = admin.get("/api/v1/notices/settings").await;
    assert_eq!(status, StatusCode::OK, "{defaults}");
    assert_eq!(defaults["expiry_thresholds_days"], json!([30, 14, 7, 1]));
    let wanted = json!({
        "expiry_thresholds_days": [7, 30, 14],
        "default_recipients": ["ops@example.com"],
        "email_mode": "daily_digest",
        "digest_hour_utc": 6,
        "email_event_types": ["certificate.expiring", "rotation.needs_administrator"],
    });
    let (status, stored) = send(
        &admin,
        Method::PUT,
        "/api/v1/notices/settings",
        Some(wanted.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["expiry_thresholds_days"], json!([30, 14, 7]));
    assert_eq!(stored["email_mode"], "daily_digest");
    assert_eq!(stored["digest_hour_utc"], 6);
    assert_eq!(stored["default_recipients"], json!(["ops@example.com"]));
    assert_eq!(admin.get("/api/v1/notices/settings").await.1, stored);
    for (field, value, expected_field) in [
        (
            "expiry_thresholds_days",
            json!([30, 0]),
            "expiry_thresholds_days",
        ),
        (
            "expiry_thresholds_days",
            json!([366]),
            "expiry_thresholds_days",
        ),
        (
            "expiry_thresholds_days",
            json!([-1]),
            "expiry_thresholds_days",
        ),
        (
            "default_recipients",
            json!(["ops at example.com"]),
            "default_recipients",
        ),
        ("digest_hour_utc", json!(24), "digest_hour_utc"),
        ("email_mode", json!("weekly"), "email_mode"),
        (
            "email_event_types",
            json!(["backup.failed"]),
            "email_event_types",
        ),
    ] {
        let mut bad = wanted.clone();
        bad[field] = value;
        let (status, problem) =
            send(&admin, Method::PUT, "/api/v1/notices/settings", Some(bad)).await;
        assert_problem(
            status,
            &problem,
            StatusCode::UNPROCESSABLE_ENTITY,
            expected_field,
        );
    }
    let not_json = admin
        .client
        .put(format!("{}/api/v1/notices/settings", admin.base))
        .header("cookie", &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        not_json.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(admin.get("/api/v1/notices/settings").await.1, stored);

    // An organization's own recipients: duplicates dropped, a bad address refused unchanged.
    let org = admin.first_organization().await;
    let path = format!("/api/v1/organizations/{org}/notice_recipients");
    assert_eq!(admin.get(&path).await.1, json!({"recipients": []}));
    let (status, set) = send(
        &admin,
        Method::PUT,
        &path,
        Some(json!({"recipients": ["IT@contoso.example", "it@contoso.example"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set, json!({"recipients": ["IT@contoso.example"]}));
    let (status, problem) = send(
        &admin,
        Method::PUT,
        &path,
        Some(json!({"recipients": ["it@contoso.example; boss@contoso.example"]})),
    )
    .await;
    assert_problem(
        status,
        &problem,
        StatusCode::UNPROCESSABLE_ENTITY,
        "recipients",
    );
    assert_eq!(admin.get(&path).await.1, set);
    let unknown = format!(
        "/api/v1/organizations/{}/notice_recipients",
        uuid::Uuid::new_v4()
    );
    assert_eq!(admin.get(&unknown).await.0, StatusCode::NOT_FOUND);

    // A non-administrator reads but changes nothing: 403 problems.
    let (status, user) = admin
        .post(
            "/api/v1/users",
            json!({"username": "ops", "password": "ops-password-123", "role": "operator"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let ops = log_in(&server.base, "ops", "ops-password-123")
        .await
        .unwrap();
    assert_eq!(webhooks(&ops).await.len(), 1);
    let refused = [
        (
            Method::POST,
            "/api/v1/webhooks".to_owned(),
            Some(json!({"url": format!("{base_url}/hook")})),
        ),
        (Method::POST, format!("/api/v1/webhooks/{id}/disable"), None),
        (Method::POST, format!("/api/v1/webhooks/{id}/test"), None),
        (Method::DELETE, format!("/api/v1/webhooks/{id}"), None),
        (
            Method::PUT,
            "/api/v1/notices/settings".to_owned(),
            Some(wanted.clone()),
        ),
        (Method::PUT, path.clone(), Some(json!({"recipients": []}))),
    ];
    for (method, route, body) in refused {
        let (status, problem) = send(&ops, method.clone(), &route, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {route}: {problem}");
        assert_eq!(problem["type"], "/problems/forbidden", "{problem}");
    }
    assert!(received.try_recv().is_err());
    let still = webhooks(&admin).await;
    assert_eq!((still.len(), &still[0]["enabled"]), (1, &json!(true)));
    assert_eq!(admin.get(&path).await.1, set);

    // Every change is in the audit log, and the secret is in none of it.
    let (_, audit) = admin.get("/api/v1/audit?limit=200").await;
    let audit_text = audit.to_string();
    assert!(!audit_text.contains(&secret[6..]), "{audit_text}");
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "admin")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "webhook_created",
        "webhook_tested",
        "webhook_disabled",
        "webhook_enabled",
        "webhook_deleted",
        "notice_settings_changed",
        "notice_recipients_changed",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| **a == "webhook_created").count(),
        2
    );

    // The OpenAPI document has the paths and the event payload's schema.
    let (_, openapi) = admin.get("/api/v1/openapi.json").await;
    for (path, method) in [
        ("/api/v1/webhooks", "post"),
        ("/api/v1/webhooks", "get"),
        ("/api/v1/webhooks/{id}", "delete"),
        ("/api/v1/webhooks/{id}/test", "post"),
        ("/api/v1/webhooks/{id}/deliveries", "get"),
        ("/api/v1/notices/settings", "put"),
        ("/api/v1/organizations/{id}/notice_recipients", "put"),
        ("/api/v1/notices", "get"),
    ] {
        assert!(
            openapi["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
    let schemas = &openapi["components"]["schemas"];
    let event = &schemas["WebhookEventDto"]["properties"];
    for property in ["type", "timestamp", "data"] {
        assert!(event[property].is_object(), "{property} in {event}");
    }
    for property in ["organization", "certificate", "days_left", "reason", "link"] {
        assert!(
            schemas["NoticeDataDto"]["properties"][property].is_object(),
            "{property}"
        );
    }
    let names = schemas["EventTypeName"]["enum"].as_array().unwrap();
    assert!(names.contains(&json!("certificate.expiring")), "{names:?}");
}
