//! The calls of a zero-touch rotation against the in-process sandbox tenant, all app-only with a
//! certificate (no delegated sign-in after the first attach): the token, the read of the
//! application with `$select=keyCredentials`, addKey proven by the active certificate,
//! removeKey proven by the new one — and the sandbox's refusals as typed Graph errors.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::{RecordingSleeper, START, TestCert};
use tenantlink_clock::{OffsetClock, SharedClock};
use tenantlink_entra::{
    AppToken, AppTokenRequest, AssertionOptions, DeviceFlowClient, Endpoints, Error, GraphClient,
    GraphErrorKind, KeyCredential, NoJitter, PolicyRestriction, RetryPolicy, SigningCertificate,
    TenantId, TokenClient, Transport, TransportConfig, graph_codes,
};
use tenantlink_sandbox::{RunningSandbox, SandboxConfig};

struct Tenant {
    sandbox: RunningSandbox,
    transport: Transport,
    endpoints: Endpoints,
    clock: SharedClock,
    control: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Tenant {
    /// The sandbox on its clock set to START; a transport that gives the first answer back (so
    /// a fault is seen as it was set) and never sleeps.
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(OffsetClock::system());
        clock.set(START);
        let mut config = SandboxConfig::ephemeral(dir.path().join("sandbox"));
        config.clock = clock.clone();
        let sandbox = tenantlink_sandbox::start(config).await.unwrap();
        let info = sandbox.info().clone();
        let transport = Transport::with_timing(
            &TransportConfig {
                extra_ca_file: Some(info.ca_file.clone()),
                retry: RetryPolicy {
                    max_retries: 0,
                    ..RetryPolicy::default()
                },
                ..TransportConfig::default()
            },
            Arc::new(RecordingSleeper::new()),
            Arc::new(NoJitter),
        )
        .unwrap();
        let endpoints = Endpoints::explicit(&info.authority, &info.authority)
            .unwrap()
            .with_extra_ca_file(&info.ca_file);
        let ca = std::fs::read(&info.ca_file).unwrap();
        let control = reqwest::Client::builder()
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
            .build()
            .unwrap();
        Self {
            sandbox,
            transport,
            endpoints,
            clock,
            control,
            _dir: dir,
        }
    }

    fn app_id(&self) -> String {
        self.sandbox.info().backup_app.app_id.clone()
    }

    fn object_id(&self) -> String {
        self.sandbox.info().backup_app.object_id.clone()
    }

    fn graph(&self) -> GraphClient {
        GraphClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.clock.clone(),
        )
    }

    async fn control(&self, path: &str, body: serde_json::Value) {
        let base = self.sandbox.info().control_base.clone().unwrap();
        let response = self
            .control
            .post(format!("{base}/{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "control {path}");
    }

    /// The first certificate, attached as an administrator does it (device sign-in, then
    /// read–merge–write); everything after this is app-only.
    async fn attach_first(&self) -> TestCert {
        let cert = TestCert::generate(
            "first",
            START - time::Duration::days(1),
            time::Duration::days(365),
        );
        let flow = DeviceFlowClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.clock.clone(),
        );
        let info = self.sandbox.info();
        let tenant = TenantId::parse(&info.tenant_id).unwrap();
        let code = flow
            .start(
                &tenant,
                &info.public_client_id,
                &["https://graph.microsoft.com/Application.ReadWrite.All".to_owned()],
            )
            .await
            .unwrap();
        self.control(
            "device/approve",
            json!({"user_code": code.user_code, "username": format!("admin@{}", info.tenant_domain)}),
        )
        .await;
        let admin = flow.wait(&code, std::future::pending()).await.unwrap();
        self.graph()
            .attach_certificate(admin.access_token.expose(), &self.app_id(), &entry(&cert))
            .await
            .unwrap();
        cert
    }

    /// An app-only token with `signer`, through the cache keyed by its thumbprint.
    async fn app_token(&self, tokens: &TokenClient, signer: &SigningCertificate) -> Arc<AppToken> {
        let tenant = TenantId::parse(&self.sandbox.info().tenant_id).unwrap();
        tokens
            .app_token(
                AppTokenRequest {
                    tenant: &tenant,
                    client_id: &self.app_id(),
                    scope: "https://graph.microsoft.com/.default",
                    assertion: AssertionOptions::default(),
                },
                signer,
            )
            .await
            .unwrap()
    }

    fn tokens(&self) -> TokenClient {
        TokenClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.clock.clone(),
        )
    }
}

fn entry(cert: &TestCert) -> KeyCredential {
    KeyCredential::for_certificate(
        &cert.der,
        "tenantlink test",
        cert.not_before,
        cert.not_after,
    )
}

fn graph_error(err: Error) -> tenantlink_entra::GraphError {
    match err {
        Error::Graph(g) => *g,
        other => panic!("expected a Graph error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_rotation_adds_reads_and_removes_keys_app_only() {
    let t = Tenant::start().await;
    let first = t.attach_first().await;
    let tokens = t.tokens();
    let graph = t.graph();
    let token = t.app_token(&tokens, &first.signer()).await;

    let app = graph
        .application_by_app_id(token.access_token.expose(), &t.app_id())
        .await
        .unwrap();
    assert_eq!(app.id, t.object_id());
    let first_key = app
        .key_for_certificate(&first.der)
        .expect("the key is revealed with $select=keyCredentials")
        .clone();

    let next = TestCert::generate("next", START, time::Duration::days(180));
    let added = graph
        .add_key(
            token.access_token.expose(),
            &app.id,
            &entry(&next),
            &first.signer(),
        )
        .await
        .unwrap();
    assert_eq!(added.sha1_hex(), None, "addKey's answer carries no `key`");
    let added_id = added.key_id.clone().expect("Graph assigns the key id");

    let by_object_id = graph
        .application_by_object_id(token.access_token.expose(), &app.id)
        .await
        .unwrap();
    let listed = by_object_id
        .key_for_certificate(&next.der)
        .expect("the new key is listed, matched by the thumbprint of its `key`");
    assert_eq!(listed.key_id.as_deref(), Some(added_id.as_str()));
    assert_eq!(listed.sha1_hex(), Some(next.signer().sha1_hex()));
    assert!(
        by_object_id.key_for_certificate(&first.der).is_some(),
        "old key kept"
    );

    // The new key works on its own (a token of its own), then proves the old key's removal.
    let new_token = t.app_token(&tokens, &next.signer()).await;
    graph
        .remove_key(
            new_token.access_token.expose(),
            &app.id,
            first_key.key_id.as_deref().unwrap(),
            &next.signer(),
        )
        .await
        .unwrap();
    let after = graph
        .application_by_app_id(new_token.access_token.expose(), &t.app_id())
        .await
        .unwrap();
    let ids: Vec<_> = after
        .key_credentials
        .iter()
        .map(|k| k.key_id.clone())
        .collect();
    assert_eq!(ids, vec![Some(added_id)]);
}

#[tokio::test]
async fn a_proof_by_a_certificate_the_application_lacks_is_refused_in_graphs_words() {
    let t = Tenant::start().await;
    let first = t.attach_first().await;
    let token = t.app_token(&t.tokens(), &first.signer()).await;
    let stranger = TestCert::generate(
        "stranger",
        START - time::Duration::days(1),
        time::Duration::days(30),
    );
    let next = TestCert::generate("next", START, time::Duration::days(180));
    let g = graph_error(
        t.graph()
            .add_key(
                token.access_token.expose(),
                &t.object_id(),
                &entry(&next),
                &stranger.signer(),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(g.http_status, 401);
    assert_eq!(g.code, graph_codes::AUTHENTICATION_MISSING_OR_MALFORMED);
    assert_eq!(g.kind, GraphErrorKind::MissingOrMalformedToken);
    assert_eq!(g.message, "Access Token missing or malformed.");
    assert!(g.request_id.is_some());
}

#[tokio::test]
async fn a_throttled_add_key_carries_graphs_retry_after() {
    let t = Tenant::start().await;
    let first = t.attach_first().await;
    let token = t.app_token(&t.tokens(), &first.signer()).await;
    t.control(
        "faults",
        json!({"route": "/v1.0/applications/*/addKey", "kind": "status", "status": 429, "retry_after_seconds": 45, "count": 1}),
    )
    .await;
    let next = TestCert::generate("next", START, time::Duration::days(180));
    let g = graph_error(
        t.graph()
            .add_key(
                token.access_token.expose(),
                &t.object_id(),
                &entry(&next),
                &first.signer(),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(g.kind, GraphErrorKind::Throttled);
    assert_eq!(g.code, "TooManyRequests");
    assert_eq!(g.retry_after, Some(Duration::from_secs(45)));
}

#[tokio::test]
async fn the_tenants_lifetime_policy_is_a_policy_refusal_with_graphs_message() {
    let t = Tenant::start().await;
    let first = t.attach_first().await;
    let token = t.app_token(&t.tokens(), &first.signer()).await;
    t.control(
        "tenant/policy",
        json!({"max_certificate_lifetime_days": 90}),
    )
    .await;
    let long = TestCert::generate("long", START, time::Duration::days(365));
    let g = graph_error(
        t.graph()
            .add_key(
                token.access_token.expose(),
                &t.object_id(),
                &entry(&long),
                &first.signer(),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(g.http_status, 400);
    // The code Graph sends for an app-management-policy lifetime refusal.
    assert_eq!(g.code, "CredentialInvalidLifetimeAsPerAppPolicy");
    assert_eq!(g.kind, GraphErrorKind::CredentialPolicyViolation);
    assert_eq!(g.policy_restriction(), Some(PolicyRestriction::KeyLifetime));
    assert!(g.message.contains("at most 90 days"), "{}", g.message);
}
