//! Real parts for the backup tests: the in-process sandbox tenant over HTTPS (its clock shared
//! with the runner), a real store (SQLite in a temporary directory, or a fresh PostgreSQL
//! database), and the entra client with a sleeper that records waits instead of sleeping.
#![allow(dead_code)]

use std::sync::Arc;

use tenantlink_backup::{BackupRunner, GraphReader, RunnerConfig};
use tenantlink_certificate::{Credential, GenerateOptions, generate};
use tenantlink_clock::{Clock, OffsetClock, RecordingSleeper, SharedClock};
use tenantlink_entra::{
    DeviceFlowClient, Endpoints, GraphClient, KeyCredential, NoJitter, RetryPolicy,
    SigningCertificate, TenantId, TokenClient, Transport, TransportConfig,
};
use tenantlink_sandbox::{RunningSandbox, SandboxConfig, SandboxInfo};
use tenantlink_service::{
    BackupPolicy, BackupScope, MailboxItem, NewBackupPolicy, NewOrganization, Organization,
    Repository,
};
use tenantlink_store::{MasterKey, Store, StoreRepository};

#[allow(unused_imports)] // not every test binary needs both
use tenantlink_test_support::TestDatabase;

pub const RETRIES: u32 = 3;

pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct World {
    pub sandbox: RunningSandbox,
    pub clock: Arc<OffsetClock>,
    pub store: Store,
    /// The master key the store seals private keys with.
    pub master_key: Arc<MasterKey>,
    /// The service's repository over the store: organizations, certificates, connection state.
    pub repository: Arc<StoreRepository>,
    pub transport: Transport,
    pub endpoints: Endpoints,
    pub sleeper: Arc<RecordingSleeper>,
    pub runner: BackupRunner,
    pub organization: Organization,
    pub control: reqwest::Client,
    postgres: Option<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl World {
    pub async fn start(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(OffsetClock::system());
        let mut config = SandboxConfig::ephemeral(dir.path().join("sandbox"));
        config.clock = clock.clone();
        let sandbox = tenantlink_sandbox::start(config)
            .await
            .expect("start the sandbox");
        let info = sandbox.info().clone();
        let (store, postgres) = match backend {
            Backend::Sqlite => {
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("db.sqlite").display()
                );
                (Store::open(&url).await.expect("open SQLite"), None)
            }
            Backend::Postgres => {
                let database = TestDatabase::create();
                let store = Store::open(database.url()).await.expect("open PostgreSQL");
                (store, Some(database))
            }
        };
        let sleeper = Arc::new(RecordingSleeper::new());
        let transport = Transport::with_timing(
            &TransportConfig {
                extra_ca_file: Some(info.ca_file.clone()),
                retry: RetryPolicy {
                    max_retries: RETRIES,
                    ..RetryPolicy::default()
                },
                ..TransportConfig::default()
            },
            sleeper.clone(),
            Arc::new(NoJitter),
        )
        .expect("transport");
        let endpoints = Endpoints::explicit(&info.authority, &info.authority)
            .unwrap()
            .with_extra_ca_file(&info.ca_file);
        let shared: SharedClock = clock.clone();
        let master_key = Arc::new(MasterKey::generate().unwrap());
        let repository = Arc::new(StoreRepository::new(store.clone(), master_key.clone()));
        let runner = BackupRunner::new(
            Arc::new(store.clone()),
            repository.clone(),
            TokenClient::new(transport.clone(), endpoints.clone(), shared.clone()),
            GraphReader::new(transport.clone(), endpoints.clone()),
            shared.clone(),
            RunnerConfig::default(),
        );
        let created = store
            .create_organization(
                NewOrganization {
                    tenant: info.tenant_id.clone(),
                    cloud: tenantlink_service::Cloud::Sandbox,
                    app_id: info.backup_app.app_id.clone(),
                    name: "Sandbox".into(),
                },
                clock.now(),
            )
            .await
            .unwrap();
        store
            .set_app_object_id(created.id, &info.backup_app.object_id, clock.now())
            .await
            .unwrap();
        let organization = repository.organization(created.id).await.unwrap();
        let ca = std::fs::read(&info.ca_file).unwrap();
        let control = reqwest::Client::builder()
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
            .build()
            .unwrap();
        Self {
            sandbox,
            clock,
            store,
            master_key,
            repository,
            transport,
            endpoints,
            sleeper,
            runner,
            organization,
            control,
            postgres,
            _dir: dir,
        }
    }

    pub fn info(&self) -> &SandboxInfo {
        self.sandbox.info()
    }

    pub fn shared_clock(&self) -> SharedClock {
        self.clock.clone()
    }

    /// The organization as the service reads it now (its connection state, its active
    /// certificate).
    pub async fn organization_now(&self) -> Organization {
        self.repository
            .organization(self.organization.id)
            .await
            .unwrap()
    }

    pub async fn policy(&self, scope: BackupScope) -> BackupPolicy {
        self.store
            .create_policy(
                NewBackupPolicy {
                    organization_id: self.organization.id,
                    name: "Mailboxes".into(),
                    schedule: String::new(),
                    scope,
                    enabled: true,
                    next_due_at: None,
                },
                self.clock.now(),
            )
            .await
            .unwrap()
    }

    /// A new certificate valid for `days` from the sandbox's now, attached to the backup
    /// application the way an administrator does it: device sign-in, then read–merge–write.
    pub async fn attach_new_certificate(&self, days: u32) -> (Credential, SigningCertificate) {
        let credential = generate(
            &GenerateOptions {
                subject_cn: "tenantlink backup test".into(),
                validity_days: days,
                ..GenerateOptions::default()
            },
            self.clock.now(),
        )
        .expect("generate");
        let token = self.admin_token().await;
        let certificate = credential.certificate();
        let graph = GraphClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.shared_clock(),
        );
        graph
            .attach_certificate(
                &token,
                &self.info().backup_app.app_id,
                &KeyCredential::for_certificate(
                    certificate.der(),
                    "tenantlink test",
                    certificate.not_before(),
                    certificate.not_after(),
                ),
            )
            .await
            .expect("attach the certificate");
        let signer = signer_of(&credential);
        (credential, signer)
    }

    async fn admin_token(&self) -> String {
        let flow = DeviceFlowClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.shared_clock(),
        );
        let tenant = TenantId::parse(&self.info().tenant_id).unwrap();
        let code = flow
            .start(
                &tenant,
                &self.info().public_client_id,
                &["https://graph.microsoft.com/Application.ReadWrite.All".to_owned()],
            )
            .await
            .expect("device code");
        let admin = format!("admin@{}", self.info().tenant_domain);
        self.control_post(
            "device/approve",
            serde_json::json!({"user_code": code.user_code, "username": admin}),
        )
        .await;
        let signed_in = flow
            .wait(&code, std::future::pending())
            .await
            .expect("sign-in");
        signed_in.access_token.expose().to_owned()
    }

    pub async fn control_post(&self, path: &str, body: serde_json::Value) {
        let base = self.info().control_base.clone().expect("control API on");
        let response = self
            .control
            .post(format!("{base}/{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "control {path}: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Injects a fault on every mailbox delta request.
    pub async fn fault_on_mail(&self, effect: serde_json::Value, count: u32) {
        let mut fault = serde_json::json!({
            "route": "/v1.0/users/*/mailFolders/inbox/messages/delta",
            "count": count,
        });
        for (k, v) in effect.as_object().unwrap() {
            fault[k] = v.clone();
        }
        self.control_post("faults", fault).await;
    }

    /// Every user id of the tenant, read through Graph with the backup application's token.
    pub async fn user_ids(&self, signer: &SigningCertificate) -> Vec<String> {
        let token = self
            .runner
            .authenticate(&self.organization, signer)
            .await
            .expect("token");
        GraphReader::new(self.transport.clone(), self.endpoints.clone())
            .all_users(token.access_token.expose())
            .await
            .expect("users")
            .into_iter()
            .map(|u| u.id)
            .collect()
    }

    /// Every indexed message of the organization, per user.
    pub async fn items_per_user(
        &self,
        signer: &SigningCertificate,
    ) -> Vec<(String, Vec<MailboxItem>)> {
        let mut all = Vec::new();
        for user in self.user_ids(signer).await {
            let items = self
                .store
                .mailbox_items(self.organization.id, &user)
                .await
                .unwrap();
            all.push((user, items));
        }
        all
    }

    pub async fn shutdown(self) {
        self.store.close().await;
        drop(self.postgres);
        self.sandbox.shutdown().await;
    }
}

pub fn signer_of(credential: &Credential) -> SigningCertificate {
    let certificate = credential.certificate();
    SigningCertificate::from_parts(
        certificate.der().to_vec(),
        Vec::new(),
        credential.private_key().pkcs8_der(),
        certificate.not_before(),
        certificate.not_after(),
    )
    .expect("signing certificate")
}
