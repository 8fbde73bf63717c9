//! One scheduled round for a fleet of organizations against the in-process sandbox tenant:
//! the authentication phase cold (an app-only token per organization: one client-assertion
//! signature and one token request each), the same phase again within the tokens' lifetime
//! (served by the cache: no signature, no request), the cold phase once more with the sandbox
//! signing its access tokens with HS256 instead of RS256 (so that the emulator's own RSA work,
//! which real Entra does on Microsoft's servers, is not charged to this machine), and the full
//! round that backs up each organization's sample mailbox into SQLite. Prints wall times, CPU
//! time of the process, the sandbox's counters (token requests, verified assertions, RSA
//! signatures), the load average and the process's resident memory (sandbox included: it runs in
//! this process).
//!
//! Run: `cargo bench -p tenantlink-backup --bench fleet_round`
//! Knobs: `FLEET_ORGS` (default 10000), `FLEET_FULL_ROUND_ORGS` (default all), `FLEET_CONCURRENCY`
//! (default 64: that many workers take organizations one after another, so at most 64 runs and
//! their futures exist at a time).
//!
//! Modelling: every organization is its own backup application (own app id, own certificate,
//! own token-cache entry and token) inside one sandbox tenant, registered through the sandbox's
//! bulk-registration control API (`POST /_sandbox/applications`, in batches). The certificates
//! share one RSA key (generating 10,000 keys would take ~10 minutes); each is a distinct
//! certificate with its own thumbprint, and each organization's key is parsed separately, as in
//! production.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256, SerialNumber};
use serde_json::{Value, json};
use time::Duration;
use tokio::task::JoinSet;

use tenantlink_backup::{BackupRunner, GraphReader, RunnerConfig};
use tenantlink_clock::{Clock, OffsetClock, SharedClock};
use tenantlink_entra::{Endpoints, SigningCertificate, TokenClient, Transport, TransportConfig};
use tenantlink_sandbox::{SandboxConfig, SandboxInfo};
use tenantlink_service::NewOrganization;
use tenantlink_service::{
    BackupPolicy, BackupScope, NewBackupPolicy, Organization, Repository, RunStatus, RunTrigger,
};
use tenantlink_store::{MasterKey, Store, StoreRepository};

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

/// Prints the process's resident memory: total, peak, and its anonymous / file / shared parts.
fn memory(label: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mb = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    println!(
        "resident memory {label}: {:.0} MB (peak {:.0} MB; anonymous {:.0}, file {:.0}, shared {:.0})",
        mb("VmRSS:"),
        mb("VmHWM:"),
        mb("RssAnon:"),
        mb("RssFile:"),
        mb("RssShmem:")
    );
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

    let sandbox = tenantlink_sandbox::start({
        let mut config = SandboxConfig::ephemeral(dir.path().join("sandbox"));
        config.clock = clock.clone();
        config
    })
    .await
    .expect("sandbox");
    let info: SandboxInfo = sandbox.info().clone();
    let control = control_client(&info);
    memory("with the sandbox started");

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
    memory("with the fleet's certificates made");
    let app_ids = register_fleet(&control, &info, &certificates).await;
    memory("with the fleet registered in the sandbox");

    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("fleet.sqlite").display()
    ))
    .await
    .expect("store");
    let repository = Arc::new(StoreRepository::new(
        store.clone(),
        Arc::new(MasterKey::generate().unwrap()),
    ));
    let mailbox_owner = format!("user@{}", info.tenant_domain);
    let mut members = Vec::with_capacity(orgs);
    for (i, (der, app_id)) in certificates.into_iter().zip(&app_ids).enumerate() {
        let created = store
            .create_organization(
                NewOrganization {
                    tenant: info.tenant_id.clone(),
                    cloud: tenantlink_service::Cloud::Sandbox,
                    app_id: app_id.clone(),
                    name: format!("Fleet organization {i:05}"),
                },
                now,
            )
            .await
            .expect("organization");
        let organization = repository
            .organization(created.id)
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
    memory("after setup");

    let runner = fresh_runner(&store, &repository, &info, &clock);

    let load = load_average();
    println!("load average before the authentication phase: {load}");
    let before = sandbox_stats(&control, &info).await;
    let cold = authentication_round(&runner, &members, concurrency).await;
    let after_cold = sandbox_stats(&control, &info).await;
    report_round(
        "cold (sandbox signs RS256, as Entra)",
        orgs,
        &cold,
        &before,
        &after_cold,
    );

    let warm = authentication_round(&runner, &members, concurrency).await;
    let after_warm = sandbox_stats(&control, &info).await;
    report_round(
        "second round within the tokens' lifetime",
        orgs,
        &warm,
        &after_cold,
        &after_warm,
    );
    memory("after authentication");

    // The same cold phase with a fresh token cache, the sandbox's access tokens HS256: what is
    // left is tenantlink's own work (one assertion signature per organization) plus the
    // emulator's request handling and assertion verification.
    set_access_token_signing(&control, &info, "HS256").await;
    let fresh = fresh_runner(&store, &repository, &info, &clock);
    let before = sandbox_stats(&control, &info).await;
    let cold_mac = authentication_round(&fresh, &members, concurrency).await;
    let after = sandbox_stats(&control, &info).await;
    report_round(
        "cold again, fresh cache (sandbox signs HS256)",
        orgs,
        &cold_mac,
        &before,
        &after,
    );
    set_access_token_signing(&control, &info, "RS256").await;
    drop(fresh);
    println!(
        "load average after the authentication phases: {}",
        load_average()
    );

    let full = Instant::now();
    let full_cpu = cpu_seconds();
    let outcomes = {
        let (runner, members) = (runner.clone(), members.clone());
        for_each_bounded(full_round_orgs, concurrency, move |index| {
            let (runner, members) = (runner.clone(), members.clone());
            async move {
                let member = &members[index];
                match runner
                    .run(
                        &member.policy,
                        &member.organization,
                        Ok(&member.signer),
                        RunTrigger::Scheduled,
                    )
                    .await
                {
                    Ok(report) if report.status == RunStatus::Success => Ok(report.items_new),
                    Ok(report) => Err(format!(
                        "run ended {:?}: {:?}",
                        report.status, report.failure
                    )),
                    Err(e) => Err(format!("run not started: {e}")),
                }
            }
        })
        .await
    };
    let (mut succeeded, mut other, mut items) = (0u64, 0u64, 0u64);
    for outcome in outcomes {
        match outcome {
            Ok(new) => {
                succeeded += 1;
                items += new;
            }
            Err(why) => {
                other += 1;
                if other <= 3 {
                    eprintln!("{why}");
                }
            }
        }
    }
    let seconds = full.elapsed().as_secs_f64();
    println!(
        "full round: {full_round_orgs} policies (one sample mailbox each) in {seconds:.1} s (process CPU {:.1} s); {succeeded} succeeded, {other} not; {items} messages indexed",
        cpu_seconds() - full_cpu
    );
    memory("after the full round");
    println!("load average at the end: {}", load_average());
    store.close().await;
    sandbox.shutdown().await;
}

struct Round {
    seconds: f64,
    cpu_seconds: f64,
    failures: usize,
}

async fn authentication_round(
    runner: &Arc<BackupRunner>,
    members: &Arc<Vec<Member>>,
    concurrency: usize,
) -> Round {
    let started = Instant::now();
    let cpu = cpu_seconds();
    let outcomes = {
        let (runner, members) = (runner.clone(), members.clone());
        for_each_bounded(members.len(), concurrency, move |index| {
            let (runner, members) = (runner.clone(), members.clone());
            async move {
                let member = &members[index];
                runner
                    .authenticate(&member.organization, &member.signer)
                    .await
                    .is_ok()
            }
        })
        .await
    };
    let failures = outcomes.iter().filter(|ok| !**ok).count();
    Round {
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds() - cpu,
        failures,
    }
}

/// Runs `job(index)` for every index in `0..count` on `concurrency` workers, each taking the
/// next index when it finishes one: at most `concurrency` jobs (and their futures) exist at a
/// time, as in a scheduler with a concurrency limit. Results come back in no particular order.
async fn for_each_bounded<T, F, Fut>(count: usize, concurrency: usize, job: F) -> Vec<T>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (next, job) = (next.clone(), job.clone());
        workers.spawn(async move {
            let mut results = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break results;
                }
                results.push(job(index).await);
            }
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(results) = workers.join_next().await {
        all.extend(results.expect("worker"));
    }
    all
}

fn report_round(label: &str, orgs: usize, round: &Round, before: &Value, after: &Value) {
    let delta = |name: &str| after[name].as_u64().unwrap_or(0) - before[name].as_u64().unwrap_or(0);
    println!(
        "authentication phase, {label}: {orgs} organizations in {:.2} s ({:.0}/s), process CPU {:.2} s, {} failures; sandbox: {} token requests, {} assertions verified, {} access tokens, {} RSA signatures, {} HS256 signatures",
        round.seconds,
        orgs as f64 / round.seconds,
        round.cpu_seconds,
        round.failures,
        delta("token_requests"),
        delta("client_assertions_verified"),
        delta("access_tokens_issued"),
        delta("rsa_signatures"),
        delta("mac_signatures"),
    );
}

fn fresh_runner(
    store: &Store,
    repository: &Arc<StoreRepository>,
    info: &SandboxInfo,
    clock: &Arc<OffsetClock>,
) -> Arc<BackupRunner> {
    let shared: SharedClock = clock.clone();
    let transport = Transport::new(&TransportConfig {
        extra_ca_file: Some(info.ca_file.clone()),
        ..TransportConfig::default()
    })
    .expect("transport");
    let endpoints = Endpoints::explicit(&info.authority, &info.authority)
        .expect("endpoints")
        .with_extra_ca_file(&info.ca_file);
    Arc::new(BackupRunner::new(
        Arc::new(store.clone()),
        repository.clone(),
        TokenClient::new(transport.clone(), endpoints.clone(), shared.clone()),
        GraphReader::new(transport, endpoints),
        shared,
        RunnerConfig::default(),
    ))
}

/// User + system CPU time of this process (client and sandbox together), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Linux reports in clock ticks of 1/100 s (USER_HZ) on every architecture we run on.
    (ticks(11) + ticks(12)) / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Registers one backup application per certificate through the sandbox's bulk-registration
/// control API, in batches. Returns their app ids, in the certificates' order.
async fn register_fleet(
    control: &reqwest::Client,
    info: &SandboxInfo,
    certificates: &[Vec<u8>],
) -> Vec<String> {
    use base64::Engine as _;
    let mut app_ids = Vec::with_capacity(certificates.len());
    for (batch_index, batch) in certificates.chunks(1000).enumerate() {
        let applications: Vec<Value> = batch
            .iter()
            .enumerate()
            .map(|(i, der)| {
                json!({
                    "display_name": format!("tenantlink backup (fleet {})", batch_index * 1000 + i),
                    "application_permissions": ["User.Read.All", "Mail.Read"],
                    "certificates": [base64::engine::general_purpose::STANDARD.encode(der)],
                })
            })
            .collect();
        let response = control
            .post(format!("{}/_sandbox/applications", info.authority))
            .json(&json!({"applications": applications}))
            .send()
            .await
            .expect("bulk registration");
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        let body: Value = response.json().await.expect("JSON");
        app_ids.extend(
            body["applications"]
                .as_array()
                .expect("applications")
                .iter()
                .map(|a| a["app_id"].as_str().expect("app_id").to_owned()),
        );
    }
    app_ids
}

fn control_client(info: &SandboxInfo) -> reqwest::Client {
    let ca = std::fs::read(&info.ca_file).expect("CA file");
    reqwest::Client::builder()
        .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).expect("CA"))
        .build()
        .expect("client")
}

async fn sandbox_stats(control: &reqwest::Client, info: &SandboxInfo) -> Value {
    control
        .get(format!("{}/_sandbox/stats", info.authority))
        .send()
        .await
        .expect("sandbox stats")
        .json()
        .await
        .expect("JSON")
}

async fn set_access_token_signing(control: &reqwest::Client, info: &SandboxInfo, alg: &str) {
    let response = control
        .post(format!("{}/_sandbox/settings", info.authority))
        .json(&json!({"access_token_signing": alg}))
        .send()
        .await
        .expect("sandbox settings");
    assert!(response.status().is_success(), "settings refused");
}
