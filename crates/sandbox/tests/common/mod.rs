//! Test fixture: a sandbox on an ephemeral port with a temporary state directory, an HTTPS client
//! that trusts its CA, and helpers to obtain tokens and attach certificates the way clients do.
#![allow(dead_code)]

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256, RsaKeySize};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use tenantlink_clock::Clock;
use tenantlink_jose::{Algorithm, RsaSigningKey, b64url};
use tenantlink_sandbox::{RunningSandbox, SandboxConfig, SandboxInfo};
use time::{Duration, OffsetDateTime};

pub struct Fixture {
    pub sandbox: RunningSandbox,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::start_in(dir, None).await
    }

    pub async fn start_in(dir: tempfile::TempDir, config_file: Option<PathBuf>) -> Self {
        let mut config = SandboxConfig::ephemeral(dir.path().join("state"));
        config.config_file = config_file;
        let sandbox = tenantlink_sandbox::start(config)
            .await
            .expect("sandbox starts");
        let http = client_trusting(&sandbox.info().ca_file);
        Self { sandbox, http, dir }
    }

    /// Stops the sandbox and starts another on the same state directory.
    pub async fn restart(self) -> Self {
        let Fixture { sandbox, dir, .. } = self;
        sandbox.shutdown().await;
        Self::start_in(dir, None).await
    }

    pub fn info(&self) -> &SandboxInfo {
        self.sandbox.info()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.info().authority)
    }

    pub fn token_url(&self) -> String {
        self.url(&format!("/{}/oauth2/v2.0/token", self.info().tenant_id))
    }

    pub fn now(&self) -> OffsetDateTime {
        self.sandbox.clock().now()
    }

    pub fn password_of(&self, username: &str) -> String {
        self.info()
            .users
            .iter()
            .find(|u| u.username == username)
            .map(|u| u.password.clone())
            .expect("published user")
    }

    pub fn admin(&self) -> String {
        format!("admin@{}", self.info().tenant_domain)
    }

    pub fn plain_user(&self) -> String {
        format!("user@{}", self.info().tenant_domain)
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(url)
            .form(form)
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn control(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(&format!("/_sandbox{path}")))
            .json(&body)
            .send()
            .await
            .expect("control request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET /_sandbox{path}`: status and JSON body.
    pub async fn control_get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(&format!("/_sandbox{path}")))
            .send()
            .await
            .expect("control request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn start_device_flow(&self, scope: &str) -> Value {
        let url = self.url(&format!(
            "/{}/oauth2/v2.0/devicecode",
            self.info().tenant_id
        ));
        let (status, body) = self
            .post_form(
                &url,
                &[
                    ("client_id", &self.info().public_client_id),
                    ("scope", scope),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn poll_device(&self, device_code: &str) -> (StatusCode, Value) {
        self.post_form(
            &self.token_url(),
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", &self.info().public_client_id),
                ("device_code", device_code),
            ],
        )
        .await
    }

    /// A delegated Graph token for `username`, through the device flow approved by the control API.
    pub async fn delegated_token(&self, username: &str) -> String {
        let flow = self
            .start_device_flow("https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/Mail.Read offline_access openid profile")
            .await;
        let user_code = flow["user_code"].as_str().expect("user_code");
        let (status, body) = self
            .control(
                "/device/approve",
                json!({"user_code": user_code, "username": username}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = self
            .poll_device(flow["device_code"].as_str().expect("device_code"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn graph(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.info().graph_base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("graph request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Replaces the backup app's keyCredentials through Graph PATCH as the administrator.
    pub async fn attach(&self, certificates: &[&TestCertificate]) {
        let token = self.delegated_token(&self.admin()).await;
        let keys: Vec<Value> = certificates
            .iter()
            .map(|c| json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": c.graph_key()}))
            .collect();
        let path = format!("/applications/{}", self.info().backup_app.object_id);
        let (status, body) = self
            .graph(
                reqwest::Method::PATCH,
                &path,
                &token,
                Some(json!({"keyCredentials": keys})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }

    pub async fn advance_clock(&self, seconds: i64) {
        let (status, body) = self
            .control("/clock", json!({"advance_seconds": seconds}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Client-credentials request for the backup app with this assertion.
    pub async fn client_credentials(&self, assertion: &str) -> (StatusCode, Value) {
        self.post_form(
            &self.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &self.info().backup_app.app_id),
                ("scope", "https://graph.microsoft.com/.default"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion),
            ],
        )
        .await
    }

    /// The standard RS256 + x5t assertion for the backup app, aimed at this sandbox.
    pub fn assertion(&self, certificate: &TestCertificate) -> String {
        certificate.assertion(
            &self.info().backup_app.app_id,
            &self.token_url(),
            self.now(),
            AssertionStyle::default(),
        )
    }
}

pub fn client_trusting(ca_file: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca_file).expect("ca.pem");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA parses"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub struct TestCertificate {
    pub der: Vec<u8>,
    pub key: RsaSigningKey,
}

#[derive(Debug, Clone)]
pub struct AssertionStyle {
    pub alg: Algorithm,
    /// `x5t#S256` instead of `x5t`.
    pub sha256: bool,
    /// Keep '=' padding on the thumbprint (MSAL Python does).
    pub padded_thumbprint: bool,
    /// Dates as floats (MSAL Python) or strings (MSAL.NET) instead of integers.
    pub dates: DateStyle,
    pub with_nbf: bool,
    pub x5c: Option<Value>,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub audience: Option<String>,
    pub lifetime: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DateStyle {
    Integer,
    Fractional,
    String,
}

impl Default for AssertionStyle {
    fn default() -> Self {
        Self {
            alg: Algorithm::RS256,
            sha256: false,
            padded_thumbprint: false,
            dates: DateStyle::Integer,
            with_nbf: true,
            x5c: None,
            issuer: None,
            subject: None,
            audience: None,
            lifetime: Duration::minutes(10),
        }
    }
}

impl TestCertificate {
    pub fn rsa(bits: RsaKeySize, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, bits).expect("RSA key");
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "sandbox test app");
        params.distinguished_name = name;
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.self_signed(&key).expect("certificate");
        Self {
            der: cert.der().to_vec(),
            key: RsaSigningKey::from_pkcs8_der(&key.serialize_der()).expect("signing key"),
        }
    }

    /// A 2048-bit certificate valid from yesterday for `days`.
    pub fn valid_for_days(now: OffsetDateTime, days: i64) -> Self {
        Self::rsa(
            RsaKeySize::_2048,
            now - Duration::days(1),
            now + Duration::days(days),
        )
    }

    pub fn graph_key(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }

    pub fn sha1(&self) -> Vec<u8> {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.der)
            .as_ref()
            .to_vec()
    }

    pub fn sha256(&self) -> Vec<u8> {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der)
            .as_ref()
            .to_vec()
    }

    pub fn sha1_hex(&self) -> String {
        self.sha1().iter().map(|b| format!("{b:02X}")).collect()
    }

    pub fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: OffsetDateTime,
        style: AssertionStyle,
    ) -> String {
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        let (name, digest) = if style.sha256 {
            ("x5t#S256", self.sha256())
        } else {
            ("x5t", self.sha1())
        };
        let mut thumbprint = b64url(&digest);
        if style.padded_thumbprint {
            while !thumbprint.len().is_multiple_of(4) {
                thumbprint.push('=');
            }
        }
        header.insert(name.into(), json!(thumbprint));
        if let Some(x5c) = style.x5c.clone() {
            header.insert("x5c".into(), x5c);
        }
        let date = |at: OffsetDateTime| -> Value {
            let seconds = at.unix_timestamp();
            match style.dates {
                DateStyle::Integer => json!(seconds),
                DateStyle::Fractional => json!(seconds as f64 + 0.4801066),
                DateStyle::String => json!(seconds.to_string()),
            }
        };
        let issuer = style.issuer.clone().unwrap_or_else(|| client_id.to_owned());
        let mut claims = json!({
            "aud": style.audience.clone().unwrap_or_else(|| audience.to_owned()),
            "iss": issuer,
            "sub": style.subject.clone().unwrap_or_else(|| client_id.to_owned()),
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": date(now),
            "exp": date(now + style.lifetime),
        });
        if style.with_nbf {
            claims["nbf"] = date(now);
        }
        tenantlink_jose::sign(header, &claims, style.alg, &self.key).expect("sign assertion")
    }

    /// An addKey/removeKey proof: aud 00000002-…, iss = the application's object id.
    pub fn proof(&self, object_id: &str, now: OffsetDateTime) -> String {
        self.proof_for(object_id, now, "00000002-0000-0000-c000-000000000000")
    }

    /// A proof with another `aud` (Graph's docs name two).
    pub fn proof_for(&self, object_id: &str, now: OffsetDateTime, audience: &str) -> String {
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        header.insert("x5t".into(), json!(b64url(&self.sha1())));
        let claims = json!({
            "aud": audience,
            "iss": object_id,
            "nbf": now.unix_timestamp(),
            "exp": (now + Duration::minutes(10)).unix_timestamp(),
        });
        tenantlink_jose::sign(header, &claims, Algorithm::RS256, &self.key).expect("sign proof")
    }
}

/// The AADSTS number and the text before the first CRLF of an Entra error body.
pub fn aadsts(body: &Value) -> (u64, String) {
    let code = body["error_codes"][0].as_u64().expect("error_codes");
    let description = body["error_description"]
        .as_str()
        .expect("error_description");
    let first_line = description
        .split("\r\n")
        .next()
        .unwrap_or_default()
        .to_owned();
    (code, first_line)
}
