use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use base64::Engine as _;
use serde_json::{Value, json};
use tenantlink_clock::Clock;
use tenantlink_entra::signer::{hex_upper, thumbprints_of};
use tenantlink_jose::{Algorithm, UnverifiedJws, b64url};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Notify;

use super::certs::rsa_public_key;

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const CLIENT_ID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
pub const APP_OBJECT_ID: &str = "99999999-8888-7777-6666-555555555555";

/// A fault the next request gets instead of its normal answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Let the request through untouched.
    Pass,
    Status {
        status: u16,
        retry_after: Option<u64>,
        body: Value,
    },
    /// Any answer: a body that need not be JSON, headers as given (an HTTP-date `Retry-After`).
    Raw {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Runs the request, then replaces the answer with this status: a lost response.
    ApplyThenStatus(u16),
    /// Never answers: for timeouts.
    Hang,
}

type KeyMutation = Box<dyn FnOnce(&mut Vec<Value>) + Send>;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub client_request_id: Option<String>,
    pub form: HashMap<String, String>,
}

pub struct ServerState {
    pub base: String,
    clock: Arc<dyn Clock>,
    pub keys: Mutex<Vec<Value>>,
    faults: Mutex<VecDeque<Fault>>,
    device_script: Mutex<VecDeque<&'static str>>,
    after_get: Mutex<VecDeque<Option<KeyMutation>>>,
    after_patch: Mutex<Option<KeyMutation>>,
    pub log: Mutex<Vec<Recorded>>,
    pub token_issued: AtomicUsize,
    pub last_assertion: Mutex<Option<UnverifiedJws>>,
    pub last_proof: Mutex<Option<(String, UnverifiedJws)>>,
    pub expires_in: Mutex<i64>,
    /// Authorization codes issued by [`FakeEntra::issue_code`]: code → (challenge, nonce, used).
    auth_codes: Mutex<HashMap<String, (String, String, bool)>>,
    gate: Mutex<Option<Arc<Gate>>>,
}

/// Holds token responses until released, announcing each arrival.
pub struct Gate {
    pub arrived: Notify,
    pub release: Notify,
}

#[derive(Clone)]
pub struct FakeEntra {
    pub state: Arc<ServerState>,
}

impl FakeEntra {
    pub async fn start(clock: Arc<dyn Clock>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ServerState {
            base,
            clock,
            keys: Mutex::default(),
            faults: Mutex::default(),
            device_script: Mutex::default(),
            after_get: Mutex::default(),
            after_patch: Mutex::default(),
            log: Mutex::default(),
            token_issued: AtomicUsize::new(0),
            last_assertion: Mutex::default(),
            last_proof: Mutex::default(),
            expires_in: Mutex::new(3599),
            auth_codes: Mutex::default(),
            gate: Mutex::default(),
        });
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/devicecode", post(devicecode))
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/v1.0/{*rest}", any(graph))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                faults_and_log,
            ))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { state }
    }

    pub fn base(&self) -> &str {
        &self.state.base
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/{TENANT}/oauth2/v2.0/token", self.state.base)
    }

    pub fn push_fault(&self, fault: Fault) {
        self.state.faults.lock().unwrap().push_back(fault);
    }

    /// Lets the next `n` requests through, then answers one with `fault`.
    pub fn pass_then_fault(&self, n: usize, fault: Fault) {
        let mut faults = self.state.faults.lock().unwrap();
        faults.extend(std::iter::repeat_n(Fault::Pass, n));
        faults.push_back(fault);
    }

    /// A one-time code as `/authorize` would hand out for `code_challenge` and `nonce`.
    pub fn issue_code(&self, challenge: &str, nonce: &str) -> String {
        let code = format!("CODE-{}", uuid::Uuid::new_v4());
        self.state.auth_codes.lock().unwrap().insert(
            code.clone(),
            (challenge.to_owned(), nonce.to_owned(), false),
        );
        code
    }

    pub fn script_device(&self, steps: &[&'static str]) {
        self.state.device_script.lock().unwrap().extend(steps);
    }

    /// Registers a certificate on the app as Graph would store it.
    pub fn register_key(&self, der: &[u8], start: OffsetDateTime, end: OffsetDateTime) -> String {
        let key_id = uuid::Uuid::new_v4().to_string();
        self.state
            .keys
            .lock()
            .unwrap()
            .push(key_json(der, &key_id, start, end));
        key_id
    }

    /// Runs `mutation` on the key list right after the n-th following GET has been answered
    /// (0 = the next one): another writer acting between our read and our write.
    pub fn after_get(&self, n: usize, mutation: impl FnOnce(&mut Vec<Value>) + Send + 'static) {
        let mut queue = self.state.after_get.lock().unwrap();
        queue.clear();
        for _ in 0..n {
            queue.push_back(None);
        }
        queue.push_back(Some(Box::new(mutation)));
    }

    /// Adds `key` to the list after one more GET (queued behind earlier ones).
    pub fn state_after_every_get(&self, key: Value) {
        self.state
            .after_get
            .lock()
            .unwrap()
            .push_back(Some(Box::new(move |keys: &mut Vec<Value>| keys.push(key))));
    }

    pub fn after_patch(&self, mutation: impl FnOnce(&mut Vec<Value>) + Send + 'static) {
        *self.state.after_patch.lock().unwrap() = Some(Box::new(mutation));
    }

    pub fn key_ids(&self) -> Vec<String> {
        self.state
            .keys
            .lock()
            .unwrap()
            .iter()
            .map(|k| k["keyId"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn gate_tokens(&self) -> Arc<Gate> {
        let gate = Arc::new(Gate {
            arrived: Notify::new(),
            release: Notify::new(),
        });
        *self.state.gate.lock().unwrap() = Some(gate.clone());
        gate
    }

    pub fn ungate_tokens(&self) {
        self.state.gate.lock().unwrap().take();
    }

    pub fn requests(&self, path_contains: &str) -> Vec<Recorded> {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.contains(path_contains))
            .cloned()
            .collect()
    }
}

pub fn key_json(der: &[u8], key_id: &str, start: OffsetDateTime, end: OffsetDateTime) -> Value {
    json!({
        "customKeyIdentifier": hex_upper(&thumbprints_of(der).0),
        "displayName": "CN=test",
        "endDateTime": end.format(&Rfc3339).unwrap(),
        "key": base64::engine::general_purpose::STANDARD.encode(der),
        "keyId": key_id,
        "startDateTime": start.format(&Rfc3339).unwrap(),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    })
}

async fn faults_and_log(
    State(state): State<Arc<ServerState>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let form: HashMap<String, String> = url::form_urlencoded::parse(&bytes).into_owned().collect();
    state.log.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        client_request_id: parts
            .headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        form,
    });
    let fault = state.faults.lock().unwrap().pop_front();
    match fault {
        Some(Fault::Hang) => std::future::pending().await,
        Some(Fault::ApplyThenStatus(status)) => {
            let _applied = next
                .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await;
            StatusCode::from_u16(status).unwrap().into_response()
        }
        Some(Fault::Pass) | None => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Some(Fault::Raw {
            status,
            headers,
            body,
        }) => {
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }
        Some(Fault::Status {
            status,
            retry_after,
            body,
        }) => {
            let mut response =
                (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.to_string().parse().unwrap());
            }
            response
        }
    }
}

pub fn entra_error(status: u16, error: &str, code: u64, text: &str) -> Response {
    let trace = uuid::Uuid::new_v4();
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {trace}\r\nTimestamp: 2026-11-27 09:00:00Z"),
        "error_codes": [code],
        "timestamp": "2026-11-27 09:00:00Z",
        "trace_id": trace.to_string(),
        "correlation_id": trace.to_string(),
    });
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn unsigned_jwt(claims: Value) -> String {
    format!(
        "{}.{}.c2ln",
        b64url(br#"{"typ":"JWT","alg":"RS256"}"#),
        b64url(claims.to_string().as_bytes())
    )
}

async fn devicecode(Path(_tenant): Path<String>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return entra_error(400, "unauthorized_client", 700016, "Application not found.");
    }
    axum::Json(json!({
        "user_code": "BPPVYQZMA",
        "device_code": "DEVICE-CODE-SECRET",
        "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": 900,
        "interval": 5,
        "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code BPPVYQZMA to authenticate.",
    }))
    .into_response()
}

async fn token(State(state): State<Arc<ServerState>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    match form.get("grant_type").map(String::as_str) {
        Some("urn:ietf:params:oauth:grant-type:device_code") => device_poll(&state, &form),
        Some("authorization_code") => redeem_code(&state, &form),
        Some("client_credentials") => {
            let gate = state.gate.lock().unwrap().clone();
            if let Some(gate) = gate {
                gate.arrived.notify_one();
                gate.release.notified().await;
            }
            client_credentials(&state, &form)
        }
        _ => entra_error(400, "unsupported_grant_type", 70003, "unsupported grant"),
    }
}

/// Redeems a code like Entra: once only (AADSTS54005), with the verifier of its challenge
/// (AADSTS501481); the id token carries the nonce given to `/authorize`.
fn redeem_code(state: &ServerState, form: &HashMap<String, String>) -> Response {
    let code = form.get("code").cloned().unwrap_or_default();
    let mut codes = state.auth_codes.lock().unwrap();
    let Some((challenge, nonce, used)) = codes.get_mut(&code) else {
        return entra_error(
            400,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity.",
        );
    };
    if *used {
        return entra_error(
            400,
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
        );
    }
    *used = true;
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if tenantlink_entra::code_challenge(&verifier) != *challenge {
        return entra_error(
            400,
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        );
    }
    let who = json!({"preferred_username": "admin@contoso.onmicrosoft.com", "oid": "0f0f0f0f-1111-2222-3333-444444444444", "tid": TENANT, "nonce": nonce});
    axum::Json(json!({
        "token_type": "Bearer",
        "scope": "Application.ReadWrite.All openid profile",
        "expires_in": 3599,
        "access_token": unsigned_jwt(json!({"upn": "admin@contoso.onmicrosoft.com"})),
        "id_token": unsigned_jwt(who),
    }))
    .into_response()
}

fn device_poll(state: &ServerState, form: &HashMap<String, String>) -> Response {
    if form.get("device_code").map(String::as_str) != Some("DEVICE-CODE-SECRET") {
        return entra_error(
            400,
            "bad_verification_code",
            70018,
            "Verification code invalid.",
        );
    }
    let step = state
        .device_script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or("authorization_pending");
    match step {
        "ok" => {
            let who = json!({"preferred_username": "admin@contoso.onmicrosoft.com", "upn": "admin@contoso.onmicrosoft.com", "oid": "0f0f0f0f-1111-2222-3333-444444444444", "tid": TENANT});
            axum::Json(json!({
                "token_type": "Bearer",
                "scope": "Application.ReadWrite.All openid profile",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": unsigned_jwt(who.clone()),
                "id_token": unsigned_jwt(who),
            }))
            .into_response()
        }
        "authorization_pending" => entra_error(
            400,
            step,
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        ),
        "slow_down" => entra_error(400, step, 70016, "Slow down."),
        "authorization_declined" => entra_error(400, step, 70000, "The user declined the sign-in."),
        "expired_token" => entra_error(
            400,
            step,
            70020,
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        ),
        "bad_verification_code" => entra_error(400, step, 70018, "Verification code invalid."),
        other => panic!("unknown device script step {other}"),
    }
}

fn client_credentials(state: &ServerState, form: &HashMap<String, String>) -> Response {
    let now = state.clock.now();
    let Some(assertion) = form.get("client_assertion") else {
        return entra_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    };
    let jws = match UnverifiedJws::parse(assertion) {
        Ok(jws) => jws,
        Err(_) => {
            return entra_error(
                400,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed.",
            );
        }
    };
    let Some(alg) = jws
        .algorithm()
        .filter(|a| matches!(a, Algorithm::RS256 | Algorithm::PS256))
    else {
        return entra_error(
            401,
            "invalid_client",
            5002738,
            "Invalid JWT token. 'HS256' is not a supported signature algorithm.",
        );
    };
    let endpoint = format!("{}/{TENANT}/oauth2/v2.0/token", state.base);
    if jws.claim_str("aud") != Some(endpoint.as_str())
        || jws.claim_str("iss") != Some(CLIENT_ID)
        || jws.claim_str("sub") != Some(CLIENT_ID)
        || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
    {
        return entra_error(
            401,
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        );
    }
    let t = now.unix_timestamp() as f64;
    let (nbf, exp) = (
        jws.claim_date("nbf").unwrap_or(0.0),
        jws.claim_date("exp").unwrap_or(0.0),
    );
    if !(nbf <= t && t < exp) {
        return entra_error(
            401,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        );
    }
    type Digest = fn(&[u8]) -> Vec<u8>;
    let (sent, digest_of): (Vec<u8>, Digest) = if let Some(x5t) = jws.header_str("x5t") {
        (
            tenantlink_jose::b64url_decode_lenient(x5t).unwrap(),
            |der| thumbprints_of(der).0.to_vec(),
        )
    } else if let Some(x5t) = jws.header_str("x5t#S256") {
        (
            tenantlink_jose::b64url_decode_lenient(x5t).unwrap(),
            |der| thumbprints_of(der).1.to_vec(),
        )
    } else {
        return entra_error(
            401,
            "invalid_client",
            5002723,
            "Invalid JWT token. No certificate SHA-1 thumbprint, certificate SHA-256 thumbprint, nor keyId specified in token header.",
        );
    };
    let sent_hex = hex_upper(&sent);
    let keys = state.keys.lock().unwrap().clone();
    let found = keys.iter().find_map(|k| {
        let der = base64::engine::general_purpose::STANDARD
            .decode(k["key"].as_str()?)
            .ok()?;
        (digest_of(&der) == sent).then_some((der, k.clone()))
    });
    let Some((der, key)) = found else {
        return entra_error(
            401,
            "invalid_client",
            700027,
            &format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{sent_hex}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{CLIENT_ID}'.]"
            ),
        );
    };
    let start = OffsetDateTime::parse(key["startDateTime"].as_str().unwrap(), &Rfc3339).unwrap();
    let end = OffsetDateTime::parse(key["endDateTime"].as_str().unwrap(), &Rfc3339).unwrap();
    let fmt = time::macros::format_description!("[month]/[day]/[year] [hour]:[minute]:[second]");
    let window = format!(
        "Found key 'Start={}, End={}'",
        start.format(fmt).unwrap(),
        end.format(fmt).unwrap()
    );
    if !(start <= now && now <= end) {
        return entra_error(
            401,
            "invalid_client",
            700027,
            &format!(
                "The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: '{sent_hex}', {window}, Please visit the Azure Portal]"
            ),
        );
    }
    if jws.verify_rsa(alg, &rsa_public_key(&der)).is_err() {
        return entra_error(
            401,
            "invalid_client",
            700027,
            &format!(
                "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{sent_hex}', {window}]"
            ),
        );
    }
    *state.last_assertion.lock().unwrap() = Some(jws);
    let n = state.token_issued.fetch_add(1, Ordering::SeqCst) + 1;
    let expires_in = *state.expires_in.lock().unwrap();
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": unsigned_jwt(json!({"roles": ["Application.ReadWrite.OwnedBy"], "n": n, "appid": CLIENT_ID, "tid": TENANT})),
    }))
    .into_response()
}

fn graph_error(status: u16, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message, "innerError": {"date": "2026-11-27T09:00:00", "request-id": uuid::Uuid::new_v4().to_string(), "client-request-id": uuid::Uuid::new_v4().to_string()}}});
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

async fn graph(
    State(state): State<Arc<ServerState>>,
    method: Method,
    headers: HeaderMap,
    Path(rest): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if !headers.contains_key("authorization") {
        return graph_error(401, "InvalidAuthenticationToken", "Access token is empty.");
    }
    let (app, action) = match rest.split_once('/') {
        Some((app, action)) => (app.to_owned(), Some(action.to_owned())),
        None => (rest.clone(), None),
    };
    let addressed = app == format!("applications(appId='{CLIENT_ID}')")
        || app == format!("applications/{APP_OBJECT_ID}")
        || (app == "applications"
            && action
                .as_deref()
                .map(|a| a.starts_with(APP_OBJECT_ID))
                .unwrap_or(false));
    if !addressed {
        return graph_error(
            404,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{app}' does not exist or one of its queried reference-property objects are not present."
            ),
        );
    }
    let action = action
        .map(|a| {
            a.trim_start_matches(APP_OBJECT_ID)
                .trim_start_matches('/')
                .to_owned()
        })
        .filter(|a| !a.is_empty());
    match (method, action.as_deref()) {
        (Method::GET, None) => {
            let with_key = query
                .get("$select")
                .map(|s| s.contains("keyCredentials"))
                .unwrap_or(false);
            let mut keys = state.keys.lock().unwrap().clone();
            if !with_key {
                for k in &mut keys {
                    k["key"] = Value::Null;
                }
            }
            let response = axum::Json(json!({"id": APP_OBJECT_ID, "appId": CLIENT_ID, "displayName": "Backup", "keyCredentials": keys})).into_response();
            let hook = state.after_get.lock().unwrap().pop_front().flatten();
            if let Some(mutation) = hook {
                mutation(&mut state.keys.lock().unwrap());
            }
            response
        }
        (Method::PATCH, None) => {
            let body: Value = serde_json::from_slice(&body).unwrap();
            let mut list = body["keyCredentials"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for k in &mut list {
                if k.get("keyId").is_none() {
                    k["keyId"] = Value::String(uuid::Uuid::new_v4().to_string());
                }
                if k.get("customKeyIdentifier").is_none() {
                    let der = base64::engine::general_purpose::STANDARD
                        .decode(k["key"].as_str().unwrap())
                        .unwrap();
                    k["customKeyIdentifier"] = Value::String(hex_upper(&thumbprints_of(&der).0));
                }
            }
            *state.keys.lock().unwrap() = list;
            if let Some(mutation) = state.after_patch.lock().unwrap().take() {
                mutation(&mut state.keys.lock().unwrap());
            }
            StatusCode::NO_CONTENT.into_response()
        }
        (Method::POST, Some(action @ ("addKey" | "removeKey"))) => {
            let body: Value = serde_json::from_slice(&body).unwrap();
            let proof = body["proof"].as_str().unwrap_or_default().to_owned();
            if let Err(reason) = verify_proof(&state, &proof) {
                eprintln!("proof rejected: {reason}");
                return graph_error(
                    401,
                    "Authentication_MissingOrMalformed",
                    "Access Token missing or malformed.",
                );
            }
            *state.last_proof.lock().unwrap() =
                Some((proof.clone(), UnverifiedJws::parse(&proof).unwrap()));
            if action == "addKey" {
                let mut entry = body["keyCredential"].clone();
                let der = base64::engine::general_purpose::STANDARD
                    .decode(entry["key"].as_str().unwrap())
                    .unwrap();
                let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
                let start =
                    OffsetDateTime::from_unix_timestamp(cert.validity().not_before.timestamp())
                        .unwrap();
                let end =
                    OffsetDateTime::from_unix_timestamp(cert.validity().not_after.timestamp())
                        .unwrap();
                let key_id = uuid::Uuid::new_v4().to_string();
                let stored = key_json(&der, &key_id, start, end);
                state.keys.lock().unwrap().push(stored.clone());
                entry["keyId"] = Value::String(key_id);
                entry["startDateTime"] = stored["startDateTime"].clone();
                entry["endDateTime"] = stored["endDateTime"].clone();
                axum::Json(entry).into_response()
            } else {
                let key_id = body["keyId"].as_str().unwrap_or_default();
                let mut keys = state.keys.lock().unwrap();
                let before = keys.len();
                keys.retain(|k| k["keyId"] != key_id);
                if keys.len() == before {
                    return graph_error(404, "Request_ResourceNotFound", "No such key.");
                }
                StatusCode::NO_CONTENT.into_response()
            }
        }
        _ => graph_error(405, "Request_BadRequest", "Unsupported."),
    }
}

/// Graph's proof rules: no padding, aud (either documented value), iss = object id, exp − nbf ≤ 10 min, signed by a
/// currently valid registered key.
fn verify_proof(state: &ServerState, proof: &str) -> Result<(), String> {
    let segments: Vec<&str> = proof.split('.').collect();
    if segments.len() != 3 || segments[..2].iter().any(|s| s.contains('=')) {
        return Err("padding or shape".into());
    }
    let jws = UnverifiedJws::parse(proof).map_err(|e| e.to_string())?;
    // Both documented audiences, as the sandbox accepts them (field lessons E).
    if !matches!(
        jws.claim_str("aud"),
        Some("00000002-0000-0000-c000-000000000000" | "00000003-0000-0000-c000-000000000000")
    ) {
        return Err("aud".into());
    }
    if jws.claim_str("iss") != Some(APP_OBJECT_ID) {
        return Err("iss".into());
    }
    let (nbf, exp) = (
        jws.claim_date("nbf").ok_or("nbf")?,
        jws.claim_date("exp").ok_or("exp")?,
    );
    if exp - nbf > 600.0 {
        return Err("lifetime".into());
    }
    let x5t = tenantlink_jose::b64url_decode_lenient(jws.header_str("x5t").ok_or("x5t")?)
        .map_err(|e| e.to_string())?;
    let now = state.clock.now();
    let keys = state.keys.lock().unwrap().clone();
    for k in keys {
        let der = base64::engine::general_purpose::STANDARD
            .decode(k["key"].as_str().unwrap())
            .unwrap();
        if thumbprints_of(&der).0.as_slice() == x5t.as_slice() {
            let end = OffsetDateTime::parse(k["endDateTime"].as_str().unwrap(), &Rfc3339).unwrap();
            if now > end {
                return Err("signing key expired".into());
            }
            let alg = jws.algorithm().ok_or("alg")?;
            return jws
                .verify_rsa(alg, &rsa_public_key(&der))
                .map_err(|e| e.to_string());
        }
    }
    Err("signing key not registered".into())
}
