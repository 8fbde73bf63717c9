//! One scheduled round for a fleet of organizations against the in-process sandbox tenant:
//! the authentication phase cold (an app-only token per organization: one RSA signature and one
//! token request each), the same phase again within the tokens' lifetime (served by the cache:
//! no signature, no request), and the full round that backs up each organization's sample
//! mailbox into SQLite. Prints wall times, token requests seen by the sandbox, and the
//! process's resident memory (sandbox included, it runs in this process).
//!
//! Run: `cargo bench -p tenantlink-backup --bench fleet_round`
//! Knobs: `FLEET_ORGS` (default 10000), `FLEET_FULL_ROUND_ORGS` (default all), `FLEET_CONCURRENCY`
//! (default 64).
//!
//! Modelling: every organization is its own backup application (own app id, own certificate,
//! own token-cache entry and token) inside one sandbox tenant, registered by adding them to the
//! sandbox's state file before it starts (the sandbox has no bulk-registration API, and attaching
//! 10,000 keys through Graph would rewrite its state file 10,000 times). The certificates share
//! one RSA key (generating 10,000 keys would take ~10 minutes); each is a distinct certificate
//! with its own thumbprint, and each organization's key is parsed separately, as in production.

use std::sync::Arc;
use std::time::Instant;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256, SerialNumber};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use tenantlink_backup::{BackupRunner, GraphReader, RunnerConfig};
use tenantlink_clock::{Clock, OffsetClock, SharedClock};
use tenantlink_entra::{Endpoints, SigningCertificate, TokenClient, Transport, TransportConfig};
use tenantlink_sandbox::{SandboxConfig, SandboxInfo};
use tenantlink_store::{
    BackupPolicy, BackupScope, NewBackupPolicy, NewOrganization, Organization, RunStatus,
    RunTrigger, Store,
};

struct Member {
    organization: Organization,
    policy: BackupPolicy,
    signer: SigningCertificate,
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn resident_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let orgs = env_number("FLEET_ORGS", 10_000);
    let full_round_orgs = env_number("FLEET_FULL_ROUND_ORGS", orgs).min(orgs);
    let concurrency = env_number("FLEET_CONCURRENCY", 64).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(OffsetClock::system());
    let shared: SharedClock = clock.clone();

    // 1. The sandbox's own first start writes its state; the fleet's applications are added to
    //    it while it is stopped, then it starts again with them.
    let state_dir = dir.path().join("sandbox");
    let mut config = SandboxConfig::ephemeral(&state_dir);
    config.clock = clock.clone();
    let first = tenantlink_sandbox::start(config.clone())
        .await
        .expect("sandbox");
    first.shutdown().await;

    let setup = Instant::now();
    let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).expect("key");
    let pkcs8 = key.serialize_der();
    let now = clock.now().replace_nanosecond(0).expect("whole second");
    let mut certificates = Vec::with_capacity(orgs);
    for i in 0..orgs {
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, format!("tenantlink fleet org {i}"));
        params.distinguished_name = name;
        params.not_before = now - Duration::minutes(5);
        params.not_after = now + Duration::days(365);
        params.serial_number = Some(SerialNumber::from((i as u64) + 1));
        certificates.push(
            params
                .self_signed(&key)
                .expect("certificate")
                .der()
                .to_vec(),
        );
    }
    let app_ids = register_fleet(&state_dir, &certificates, now);
    let sandbox = tenantlink_sandbox::start(config)
        .await
        .expect("sandbox with the fleet");
    let info: SandboxInfo = sandbox.info().clone();

    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("fleet.sqlite").display()
    ))
    .await
    .expect("store");
    let mailbox_owner = format!("user@{}", info.tenant_domain);
    let mut members = Vec::with_capacity(orgs);
    for (i, (der, app_id)) in certificates.into_iter().zip(&app_ids).enumerate() {
        let organization = store
            .create_organization(
                NewOrganization {
                    tenant: info.tenant_id.clone(),
                    cloud: "sandbox".into(),
                    backup_app_id: app_id.clone(),
                    app_object_id: None,
                    display_name: format!("Fleet organization {i:05}"),
                },
                now,
            )
            .await
            .expect("organization");
        let policy = store
            .create_policy(
                NewBackupPolicy {
                    organization_id: organization.id,
                    name: "Mailboxes".into(),
                    schedule: "0 2 * * *".into(),
                    scope: BackupScope::Users(vec![mailbox_owner.clone()]),
                    enabled: true,
                    next_due_at: Some(now),
                },
                now,
            )
            .await
            .expect("policy");
        let signer = SigningCertificate::from_parts(
            der,
            Vec::new(),
            &pkcs8,
            now - Duration::minutes(5),
            now + Duration::days(365),
        )
        .expect("signer");
        members.push(Member {
            organization,
            policy,
            signer,
        });
    }
    let members = Arc::new(members);
    println!(
        "setup: {orgs} organizations, certificates, store rows and sandbox registrations in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let (rss, _) = resident_mb();
    println!("resident memory after setup: {rss:.0} MB");

    let transport = Transport::new(&TransportConfig {
        extra_ca_file: Some(info.ca_file.clone()),
        ..TransportConfig::default()
    })
    .expect("transport");
    let endpoints = Endpoints::explicit(&info.authority, &info.authority)
        .expect("endpoints")
        .with_extra_ca_file(&info.ca_file);
    let runner = Arc::new(BackupRunner::new(
        store.clone(),
        TokenClient::new(transport.clone(), endpoints.clone(), shared.clone()),
        GraphReader::new(transport, endpoints),
        shared,
        RunnerConfig::default(),
    ));
    let control = control_client(&info);

    let cold = authentication_round(&runner, &members, concurrency).await;
    println!(
        "authentication phase, cold: {orgs} app-only tokens in {:.2} s ({:.0}/s), {} failures",
        cold.seconds,
        orgs as f64 / cold.seconds,
        cold.failures
    );

    clear_request_log(&control, &info).await;
    let warm = authentication_round(&runner, &members, concurrency).await;
    let token_requests = token_requests_logged(&control, &info).await;
    println!(
        "authentication phase, second round within token lifetime: {:.3} s, {} failures, {} token requests (= signatures) seen by the sandbox",
        warm.seconds, warm.failures, token_requests
    );
    let (rss, hwm) = resident_mb();
    println!("resident memory after authentication: {rss:.0} MB (peak {hwm:.0} MB)");

    let full = Instant::now();
    let semaphore = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    for index in 0..full_round_orgs {
        let (runner, members, semaphore) = (runner.clone(), members.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire().await.expect("semaphore");
            let member = &members[index];
            runner
                .run(
                    &member.policy,
                    &member.organization,
                    Ok(&member.signer),
                    RunTrigger::Scheduled,
                )
                .await
        });
    }
    let (mut succeeded, mut other, mut items) = (0u64, 0u64, 0u64);
    while let Some(result) = tasks.join_next().await {
        match result.expect("task") {
            Ok(report) if report.status == RunStatus::Success => {
                succeeded += 1;
                items += report.items_new;
            }
            Ok(report) => {
                other += 1;
                if other <= 3 {
                    eprintln!("run ended {:?}: {:?}", report.status, report.failure);
                }
            }
            Err(e) => {
                other += 1;
                eprintln!("run not started: {e}");
            }
        }
    }
    let seconds = full.elapsed().as_secs_f64();
    println!(
        "full round: {full_round_orgs} policies (one sample mailbox each) in {seconds:.1} s; {succeeded} succeeded, {other} not; {items} messages indexed"
    );
    let (rss, hwm) = resident_mb();
    println!("resident memory after the full round: {rss:.0} MB (peak {hwm:.0} MB)");
    store.close().await;
    sandbox.shutdown().await;
}

struct Round {
    seconds: f64,
    failures: usize,
}

async fn authentication_round(
    runner: &Arc<BackupRunner>,
    members: &Arc<Vec<Member>>,
    concurrency: usize,
) -> Round {
    let started = Instant::now();
    let semaphore = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    for index in 0..members.len() {
        let (runner, members, semaphore) = (runner.clone(), members.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire().await.expect("semaphore");
            let member = &members[index];
            runner
                .authenticate(&member.organization, &member.signer)
                .await
                .is_ok()
        });
    }
    let mut failures = 0;
    while let Some(ok) = tasks.join_next().await {
        if !ok.expect("task") {
            failures += 1;
        }
    }
    Round {
        seconds: started.elapsed().as_secs_f64(),
        failures,
    }
}

/// Adds one backup application per certificate to the sandbox's first tenant, in the state file
/// the sandbox wrote on its first start. Returns their app ids.
fn register_fleet(
    state_dir: &std::path::Path,
    certificates: &[Vec<u8>],
    now: OffsetDateTime,
) -> Vec<String> {
    use base64::Engine as _;
    let path = state_dir.join("directory.json");
    let mut directory: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("sandbox state")).expect("JSON");
    let rfc3339 = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("format")
    };
    let applications = directory["tenants"][0]["applications"]
        .as_array_mut()
        .expect("applications");
    let mut app_ids = Vec::with_capacity(certificates.len());
    for (i, der) in certificates.iter().enumerate() {
        let app_id = uuid::Uuid::new_v4().to_string();
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
        applications.push(json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "app_id": app_id,
            "display_name": format!("tenantlink backup (fleet {i})"),
            "public_client": false,
            "key_credentials": [{
                "key_id": uuid::Uuid::new_v4().to_string(),
                "custom_key_identifier": base64::engine::general_purpose::STANDARD.encode(sha1.as_ref()),
                "display_name": "fleet",
                "start": rfc3339(now - Duration::minutes(5)),
                "end": rfc3339(now + Duration::days(365)),
                "key_type": "AsymmetricX509Cert",
                "usage": "Verify",
                "key": base64::engine::general_purpose::STANDARD.encode(der),
                "attached_at": rfc3339(now - Duration::hours(1)),
            }],
            "owners": [],
            "application_permissions": ["User.Read.All", "Mail.Read"],
            "delegated_permissions": [],
        }));
        app_ids.push(app_id);
    }
    std::fs::write(&path, serde_json::to_vec(&directory).expect("JSON")).expect("write state");
    app_ids
}

fn control_client(info: &SandboxInfo) -> reqwest::Client {
    let ca = std::fs::read(&info.ca_file).expect("CA file");
    reqwest::Client::builder()
        .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).expect("CA"))
        .build()
        .expect("client")
}

async fn clear_request_log(control: &reqwest::Client, info: &SandboxInfo) {
    control
        .delete(format!("{}/_sandbox/requests", info.authority))
        .send()
        .await
        .expect("clear the request log");
}

async fn token_requests_logged(control: &reqwest::Client, info: &SandboxInfo) -> usize {
    let log: Value = control
        .get(format!("{}/_sandbox/requests", info.authority))
        .send()
        .await
        .expect("request log")
        .json()
        .await
        .expect("JSON");
    log["requests"].as_array().map_or(0, |requests| {
        requests
            .iter()
            .filter(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/oauth2/v2.0/token"))
            })
            .count()
    })
}
