//! The directory's rotation calls against the in-process sandbox tenant: app-only read, addKey
//! proven by the active certificate, removeKey proven by the new one, and the sandbox's refusals
//! (throttling with Retry-After, a refused proof, the tenant's lifetime policy) as the service's
//! kinds with Graph's codes.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tenantlink_certificate::{Credential, GenerateOptions, generate};
use tenantlink_clock::{Clock, OffsetClock, RecordingSleeper, SharedClock};
use tenantlink_directory::EntraDirectory;
use tenantlink_entra::{
    DeviceFlowClient, Endpoints, GraphClient, KeyCredential, NoJitter, RetryPolicy, TenantId,
    Transport, TransportConfig,
};
use tenantlink_sandbox::{RunningSandbox, SandboxConfig};
use tenantlink_service::{Cloud, Directory, DirectoryErrorKind, Organization, fakes};

struct Tenant {
    sandbox: RunningSandbox,
    clock: Arc<OffsetClock>,
    transport: Transport,
    endpoints: Endpoints,
    control: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Tenant {
    /// The sandbox, and a transport that gives the first answer back (a fault is seen as set)
    /// and records its waits instead of sleeping.
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(OffsetClock::system());
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
            clock,
            transport,
            endpoints,
            control,
            _dir: dir,
        }
    }

    fn shared_clock(&self) -> SharedClock {
        self.clock.clone()
    }

    fn directory(&self) -> EntraDirectory {
        EntraDirectory::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.shared_clock(),
            Some(self.sandbox.info().public_client_id.clone()),
        )
    }

    /// The sandbox's backup application as an organization; its object id stored or not.
    fn organization(&self, object_id_stored: bool) -> Organization {
        let info = self.sandbox.info();
        Organization {
            cloud: Cloud::Sandbox,
            tenant: info.tenant_id.clone(),
            app_id: info.backup_app.app_id.clone(),
            app_object_id: object_id_stored.then(|| info.backup_app.object_id.clone()),
            ..fakes::organization()
        }
    }

    fn credential(&self, days: u32) -> Credential {
        generate(
            &GenerateOptions {
                subject_cn: "tenantlink rotation test".into(),
                validity_days: days,
                ..GenerateOptions::default()
            },
            self.clock.now(),
        )
        .unwrap()
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
    /// read–merge–write); every call after this is app-only.
    async fn attach_first(&self) -> Credential {
        let credential = self.credential(365);
        let info = self.sandbox.info();
        let flow = DeviceFlowClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.shared_clock(),
        );
        let code = flow
            .start(
                &TenantId::parse(&info.tenant_id).unwrap(),
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
        let certificate = credential.certificate();
        GraphClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.shared_clock(),
        )
        .attach_certificate(
            admin.access_token.expose(),
            &info.backup_app.app_id,
            &KeyCredential::for_certificate(
                certificate.der(),
                "first",
                certificate.not_before(),
                certificate.not_after(),
            ),
        )
        .await
        .unwrap();
        credential
    }
}

fn sha1(credential: &Credential) -> String {
    credential.certificate().thumbprints().sha1_hex()
}

#[tokio::test]
async fn add_read_and_remove_a_key_app_only() {
    let t = Tenant::start().await;
    let active = t.attach_first().await;
    let directory = t.directory();
    // No stored object id: the directory reads it by appId.
    let organization = t.organization(false);

    let before = directory
        .application_app_only(&organization, &active)
        .await
        .unwrap();
    assert_eq!(before.object_id, t.sandbox.info().backup_app.object_id);
    let old_key = before
        .keys
        .iter()
        .find(|k| k.sha1_thumbprint == sha1(&active))
        .expect("the active key, by the thumbprint of its `key`")
        .clone();

    let next = t.credential(180);
    let added = directory
        .add_key(&organization, &active, next.certificate())
        .await
        .unwrap();
    assert_eq!(added.sha1_thumbprint, sha1(&next));
    assert!(!added.key_id.is_empty());
    assert_eq!(added.end, Some(next.certificate().not_after()));

    let after = directory
        .application_app_only(&organization, &active)
        .await
        .unwrap();
    let listed = after
        .keys
        .iter()
        .find(|k| k.sha1_thumbprint == sha1(&next))
        .expect("the new key is listed");
    assert_eq!(listed.key_id, added.key_id);
    assert_eq!(
        after.keys.len(),
        2,
        "the old key stays until its overlap ends"
    );

    // After activation the new certificate signs: it removes the old key.
    directory
        .remove_key(&t.organization(true), &next, &old_key.key_id)
        .await
        .unwrap();
    let last = directory
        .application_app_only(&organization, &next)
        .await
        .unwrap();
    let ids: Vec<_> = last.keys.iter().map(|k| k.key_id.clone()).collect();
    assert_eq!(ids, vec![added.key_id.clone()]);

    // Removing it again: the application no longer lists it, which is what was asked.
    directory
        .remove_key(&t.organization(true), &next, &old_key.key_id)
        .await
        .expect("an absent key counts as removed");
}

#[tokio::test]
async fn a_throttled_add_key_is_throttled_with_graphs_wait() {
    let t = Tenant::start().await;
    let active = t.attach_first().await;
    t.control(
        "faults",
        json!({"route": "/v1.0/applications/*/addKey", "kind": "status", "status": 429, "retry_after_seconds": 45, "count": 1}),
    )
    .await;
    let err = t
        .directory()
        .add_key(
            &t.organization(true),
            &active,
            t.credential(180).certificate(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, DirectoryErrorKind::Throttled);
    assert_eq!(err.code.as_deref(), Some("TooManyRequests"));
    assert_eq!(err.retry_after, Some(Duration::from_secs(45)));
    assert!(
        err.message
            .contains("Injected by the sandbox fault control.")
    );
}

#[tokio::test]
async fn a_proof_by_a_certificate_no_longer_on_the_application_is_proof_rejected() {
    let t = Tenant::start().await;
    let active = t.attach_first().await;
    let organization = t.organization(true);
    // Two services' worth of token caches: `first` keeps a token of the active certificate.
    let first = t.directory();
    let other = t.directory();
    let next = t.credential(180);
    first
        .add_key(&organization, &active, next.certificate())
        .await
        .unwrap();
    let active_key = first
        .application_app_only(&organization, &active)
        .await
        .unwrap()
        .keys
        .into_iter()
        .find(|k| k.sha1_thumbprint == sha1(&active))
        .unwrap();
    // Someone removes the active key; `first`'s cached token still works, its proof does not.
    other
        .remove_key(&organization, &next, &active_key.key_id)
        .await
        .unwrap();
    let err = first
        .add_key(&organization, &active, t.credential(90).certificate())
        .await
        .unwrap_err();
    assert_eq!(err.kind, DirectoryErrorKind::ProofRejected);
    assert_eq!(
        err.code.as_deref(),
        Some("Authentication_MissingOrMalformed")
    );
    assert!(err.message.contains("Access Token missing or malformed."));
    assert!(err.remediation.contains("no longer a valid key"));
}

#[tokio::test]
async fn the_tenants_lifetime_policy_is_a_policy_refusal_that_names_the_maximum() {
    let t = Tenant::start().await;
    let active = t.attach_first().await;
    t.control(
        "tenant/policy",
        json!({"max_certificate_lifetime_days": 90}),
    )
    .await;
    let err = t
        .directory()
        .add_key(
            &t.organization(true),
            &active,
            t.credential(365).certificate(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, DirectoryErrorKind::PolicyRejected);
    // The code Graph sends for an app-management-policy lifetime refusal.
    assert_eq!(
        err.code.as_deref(),
        Some("CredentialInvalidLifetimeAsPerAppPolicy")
    );
    assert!(err.message.contains("at most 90 days"), "{}", err.message);
    assert!(
        err.remediation.contains("renewal policy"),
        "{}",
        err.remediation
    );
    assert_eq!(err.retry_after, None);
}
