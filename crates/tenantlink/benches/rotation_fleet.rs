//! Issue #12's fleet benchmark: N organizations whose certificates are all due for renewal at
//! once, rotated through the real service stack — `Workflows` (rotation: key generation on the
//! heavy-work pool, addKey proven by the active certificate, read-back, app-only proof,
//! activation) on `StoreRepository` over SQLite in a temporary directory, the Entra directory
//! adapter, and the renewal scheduler's pass (`RenewalScheduler::tick`) with its in-flight limit
//! — against the in-process sandbox tenant signing its Graph access tokens with HS256 (so the
//! emulator's own RSA work, which Entra does on Microsoft's servers, is not charged to this
//! machine). Beside it, in the same run on the same cores, N bare RSA-2048 key generations on a
//! heavy-work pool of the same size with the same number of jobs offered at once. Prints both
//! times, their ratio (target ≤ 1.25), peak resident memory (VmHWM, target ≤ 250 MB; the sandbox
//! runs in this process and is included; malloc's arenas capped as `tenantlink` caps them), and
//! where the time goes: the directory calls (count, summed latency, mean), the scheduler's
//! passes, process CPU time, the sandbox's counters.
//!
//! Run: `scripts/bench-rotation` (release), or
//! `cargo bench -p tenantlink --bench rotation_fleet -- --orgs 200`.
//! Options: `--orgs N` (default 10000), `--in-flight M` (the scheduler's `max_in_flight`,
//! default 4 × cores), `--pass-every-ms T` (pause between two scheduler passes, default 0: the
//! next pass starts when the previous one ends — the service's own minimum is one second).
//!
//! Set-up is cheap and not timed: one RSA key, N certificates with distinct serials and subjects
//! (distinct thumbprints), each issued 250 of its 365 days ago so every one is past its renewal
//! point; each organization is its own application in the sandbox (bulk registration), stored
//! with its object id and an active certificate (saved, then activated through an operation as
//! Generate would leave it).

// The binary's own arena cap, applied as `main` applies it (the bench measures the process).
#[path = "../src/allocator.rs"]
mod allocator;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256, SerialNumber};
use serde_json::{Value, json};
use time::Duration;

use tenantlink_certificate::{Certificate, Credential, PrivateKey};
use tenantlink_clock::{Clock, OffsetClock, SharedClock, TokioSleeper};
use tenantlink_directory::{CloudDirectories, CloudTarget, graph_resource};
use tenantlink_entra::Endpoints;
use tenantlink_sandbox::{SandboxConfig, SandboxInfo};
use tenantlink_service::renewal::{RenewalScheduler, RenewalSchedulerConfig};
use tenantlink_service::{
    Application, ApplicationKey, BoxFuture, CertificateSource, Cloud, DelegatedToken, DeviceCode,
    DeviceSignIn, Directory, DirectoryError, HeavyWork, NewOrganization, Operation, OperationId,
    OperationKind, OperationStep, Organization, Repository, SignInPoll, Workflows, WorkflowsConfig,
};
use tenantlink_store::{MasterKey, Store, StoreRepository};

struct Options {
    orgs: usize,
    in_flight: usize,
    pass_every: StdDuration,
}

fn options() -> Options {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut options = Options {
        orgs: 10_000,
        in_flight: 4 * cores,
        pass_every: StdDuration::ZERO,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{arg} needs a number"))
        };
        match arg.as_str() {
            "--orgs" => options.orgs = value() as usize,
            "--in-flight" => options.in_flight = value() as usize,
            "--pass-every-ms" => options.pass_every = StdDuration::from_millis(value()),
            // cargo bench passes `--bench`; criterion-style filters are not used here.
            _ => {}
        }
    }
    options
}

fn main() {
    let arenas = allocator::limit_arenas();
    println!("malloc arenas capped at {arenas:?} (None: MALLOC_ARENA_MAX set, or not glibc)");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench(options()));
}

async fn bench(options: Options) {
    let Options {
        orgs,
        in_flight,
        pass_every,
    } = options;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "rotation_fleet: {orgs} organizations, {cores} cores, at most {in_flight} rotations in flight, {} ms between passes; load average {}",
        pass_every.as_millis(),
        load_average()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(OffsetClock::system());
    let shared_clock: SharedClock = clock.clone();
    let sandbox = tenantlink_sandbox::start({
        let mut config = SandboxConfig::ephemeral(dir.path().join("sandbox"));
        config.clock = clock.clone();
        config
    })
    .await
    .expect("sandbox");
    let info: SandboxInfo = sandbox.info().clone();
    let control = control_client(&info);
    control_post(
        &control,
        &info,
        "/settings",
        json!({"access_token_signing": "HS256"}),
    )
    .await;

    let setup = Instant::now();
    let fleet = make_fleet(&control, &info, &clock, orgs, dir.path()).await;
    println!(
        "set-up (not timed below): {orgs} certificates, sandbox applications and store rows in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    memory("after set-up");

    // The bare key generations first, then the fleet: the same pool size, the same jobs on offer.
    let keygen = bare_key_generations(orgs, in_flight).await;
    println!(
        "bare RSA-2048 key generations: {orgs} in {:.2} s ({:.1} ms each per core; pool of {cores}, {in_flight} offered at once)",
        keygen.as_secs_f64(),
        keygen.as_secs_f64() * 1000.0 * cores as f64 / orgs as f64
    );

    let timed = Arc::new(TimedDirectory::new(
        CloudDirectories::new([], &shared_clock)
            .expect("directories")
            .with_sandbox(
                &CloudTarget {
                    endpoints: Endpoints::explicit(&info.authority, &info.authority)
                        .expect("endpoints")
                        .with_extra_ca_file(&info.ca_file),
                    graph_resource: graph_resource(tenantlink_entra::Cloud::Global),
                    device_client_id: Some(info.public_client_id.clone()),
                },
                &shared_clock,
            )
            .expect("sandbox directory"),
    ));
    let workflows = Workflows::new(
        fleet.repository.clone(),
        timed.clone(),
        shared_clock.clone(),
        Arc::new(TokioSleeper),
        WorkflowsConfig::default(),
    )
    .with_instance_id("rotation-fleet-bench")
    .with_heavy_work(HeavyWork::sized_to_cores());
    let scheduler = RenewalScheduler::new(
        workflows.clone(),
        RenewalSchedulerConfig {
            // The service's default: one call of a pass keeps starting for this long, so a
            // shorter one would only add pauses at which the started ones finish first.
            check_every: tenantlink_service::renewal::DEFAULT_CHECK_EVERY,
            max_in_flight: in_flight,
            lease_for: StdDuration::from_secs(600),
        },
    );

    let before = sandbox_stats(&control, &info).await;
    let cpu = cpu_seconds();
    let started = Instant::now();
    let (mut passes, mut pass_time, mut started_total) = (0u32, StdDuration::ZERO, 0usize);
    let mut failed_to_start = 0usize;
    loop {
        let pass = Instant::now();
        let report = scheduler.tick().await;
        passes += 1;
        started_total += report.started;
        failed_to_start += report.failed_to_start;
        // As `RenewalScheduler::run` does between passes: the organizations the pass found no
        // slot for start as slots free.
        let mut waiting = report.waiting_for_slot;
        while waiting > 0 {
            let more = scheduler.start_waiting().await;
            started_total += more.started;
            failed_to_start += more.failed_to_start;
            if more.paused_until.is_some() {
                break;
            }
            waiting = more.waiting_for_slot;
        }
        pass_time += pass.elapsed();
        if report.due == 0 && report.in_flight == 0 {
            break;
        }
        assert!(
            started.elapsed() < StdDuration::from_secs(7200),
            "the fleet is not rotated after two hours: {report:?}"
        );
        if pass_every.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(pass_every).await;
        }
    }
    scheduler.idle().await;
    let rotation = started.elapsed();
    let cpu = cpu_seconds() - cpu;
    let after = sandbox_stats(&control, &info).await;
    memory("after the rotations");

    // Every organization has a new active certificate, and its old key is still attached.
    let mut rotated = 0;
    for (organization, old) in &fleet.members {
        let certificates = fleet
            .repository
            .certificates(*organization)
            .await
            .expect("certificates");
        let active = certificates
            .iter()
            .find(|c| c.state == tenantlink_service::CertificateState::Active)
            .expect("an active certificate");
        if &active.sha1_thumbprint != old {
            rotated += 1;
        }
    }

    let ratio = rotation.as_secs_f64() / keygen.as_secs_f64();
    let delta = |name: &str| after[name].as_u64().unwrap_or(0) - before[name].as_u64().unwrap_or(0);
    println!(
        "fleet rotation: {rotated} of {orgs} organizations rotated in {:.2} s ({:.1}/s); {started_total} rotations started in {passes} scheduler passes and the starts between them as slots freed ({:.2} s in all, {:.1} ms per pass), {failed_to_start} failed to start",
        rotation.as_secs_f64(),
        rotated as f64 / rotation.as_secs_f64(),
        pass_time.as_secs_f64(),
        pass_time.as_secs_f64() * 1000.0 / f64::from(passes.max(1))
    );
    println!(
        "ratio rotation / bare key generations: {ratio:.2} (target ≤ 1.25: {})",
        if ratio <= 1.25 { "met" } else { "NOT met" }
    );
    println!(
        "process CPU during the rotations: {cpu:.1} s of {:.1} s available ({} cores); bare key generation CPU estimate {:.1} s",
        rotation.as_secs_f64() * cores as f64,
        cores,
        keygen.as_secs_f64() * cores as f64
    );
    println!("directory calls (summed latency over concurrent calls):");
    for (call, (count, total)) in timed.totals() {
        println!(
            "  {call:22} {count:7} calls, {:9.2} s summed, {:7.2} ms mean",
            total.as_secs_f64(),
            total.as_secs_f64() * 1000.0 / count.max(1) as f64
        );
    }
    println!(
        "sandbox: {} token requests, {} client assertions verified, {} access tokens, {} RSA signatures, {} HS256 signatures, {} keys added, {} keys removed",
        delta("token_requests"),
        delta("client_assertions_verified"),
        delta("access_tokens_issued"),
        delta("rsa_signatures"),
        delta("mac_signatures"),
        delta("keys_added"),
        delta("keys_removed"),
    );
    let peak = peak_mb();
    println!(
        "peak resident memory (VmHWM): {peak:.0} MB (target ≤ 250 MB: {})",
        if peak <= 250.0 { "met" } else { "NOT met" }
    );
    println!("load average at the end: {}", load_average());
    assert_eq!(rotated, orgs, "every organization must be rotated");
    fleet.store.close().await;
    sandbox.shutdown().await;
}

struct Fleet {
    store: Store,
    repository: Arc<StoreRepository>,
    /// Each organization with its active thumbprint before the rotations.
    members: Vec<(tenantlink_service::OrganizationId, String)>,
}

async fn make_fleet(
    control: &reqwest::Client,
    info: &SandboxInfo,
    clock: &Arc<OffsetClock>,
    orgs: usize,
    dir: &std::path::Path,
) -> Fleet {
    let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).expect("key");
    let pkcs8 = key.serialize_der();
    let now = clock.now().replace_nanosecond(0).expect("whole second");
    // 250 of 365 days gone: past two thirds (and the default jitter of a day) for every one.
    let not_before = now - Duration::days(250);
    let mut certificates = Vec::with_capacity(orgs);
    for i in 0..orgs {
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, format!("tenantlink rotation fleet {i}"));
        params.distinguished_name = name;
        params.not_before = not_before;
        params.not_after = not_before + Duration::days(365);
        params.serial_number = Some(SerialNumber::from((i as u64) + 1));
        certificates.push(
            params
                .self_signed(&key)
                .expect("certificate")
                .der()
                .to_vec(),
        );
    }
    let applications = register_fleet(control, info, &certificates).await;

    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("fleet.sqlite").display()
    ))
    .await
    .expect("store");
    let repository = Arc::new(StoreRepository::new(
        store.clone(),
        Arc::new(MasterKey::generate().expect("master key")),
    ));
    let mut members = Vec::with_capacity(orgs);
    for (i, (der, (app_id, object_id))) in certificates.into_iter().zip(applications).enumerate() {
        let organization = store
            .create_organization(
                NewOrganization {
                    tenant: info.tenant_id.clone(),
                    cloud: Cloud::Sandbox,
                    app_id,
                    name: format!("Fleet organization {i:05}"),
                },
                now,
            )
            .await
            .expect("organization");
        repository
            .set_app_object_id(organization.id, &object_id, now)
            .await
            .expect("object id");
        let credential = Credential::new(
            Certificate::from_der(der).expect("certificate"),
            PrivateKey::from_pkcs8_der(&pkcs8).expect("key"),
            Vec::new(),
        )
        .expect("credential");
        let stored = repository
            .save_certificate(
                organization.id,
                &credential,
                CertificateSource::Generated,
                now,
            )
            .await
            .expect("certificate saved");
        let operation = repository
            .create_operation(&Operation {
                id: OperationId::new(),
                organization: organization.id,
                kind: OperationKind::Generate,
                step: OperationStep::Attached,
                started_by: "rotation-fleet-bench".into(),
                started_at: now,
                updated_at: now,
                version: 1,
                sign_in: None,
                signed_in_as: None,
                certificate: Some(stored.id),
                sha1_thumbprint: Some(stored.sha1_thumbprint.clone()),
                replaces: None,
                failure: None,
                sign_in_holder: None,
                heartbeat_at: None,
            })
            .await
            .expect("operation");
        repository
            .activate(&operation, now)
            .await
            .expect("activated");
        members.push((organization.id, stored.sha1_thumbprint));
    }
    Fleet {
        store,
        repository,
        members,
    }
}

/// N RSA-2048 key generations (what rotation's key generation does: rcgen on aws-lc-rs) on a
/// heavy-work pool sized to the cores, with `offered` jobs waiting at a time.
async fn bare_key_generations(n: usize, offered: usize) -> StdDuration {
    let pool = HeavyWork::sized_to_cores();
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..offered.clamp(1, n.max(1)) {
        let (pool, next) = (pool.clone(), next.clone());
        workers.spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                pool.run(|| {
                    KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                        .expect("key")
                        .serialize_der()
                        .len()
                })
                .await
                .expect("pool");
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.expect("worker");
    }
    started.elapsed()
}

/// The directory adapter with the wall time of each call summed per call.
#[derive(Debug)]
struct TimedDirectory {
    inner: CloudDirectories,
    totals: Mutex<BTreeMap<&'static str, (u64, StdDuration)>>,
}

impl TimedDirectory {
    fn new(inner: CloudDirectories) -> Self {
        Self {
            inner,
            totals: Mutex::default(),
        }
    }

    fn totals(&self) -> BTreeMap<&'static str, (u64, StdDuration)> {
        self.totals.lock().expect("totals").clone()
    }

    fn timed<'a, T: Send + 'a>(
        &'a self,
        call: &'static str,
        future: BoxFuture<'a, Result<T, DirectoryError>>,
    ) -> BoxFuture<'a, Result<T, DirectoryError>> {
        Box::pin(async move {
            let started = Instant::now();
            let outcome = future.await;
            let mut totals = self.totals.lock().expect("totals");
            let entry = totals.entry(call).or_default();
            entry.0 += 1;
            entry.1 += started.elapsed();
            outcome
        })
    }
}

impl Directory for TimedDirectory {
    fn start_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        self.inner.start_device_sign_in(organization)
    }

    fn poll_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
        device_code: &'a DeviceCode,
    ) -> BoxFuture<'a, Result<SignInPoll, DirectoryError>> {
        self.inner.poll_device_sign_in(organization, device_code)
    }

    fn application<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        self.inner.application(organization, token)
    }

    fn attach_certificate<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        certificate: &'a tenantlink_certificate::Certificate,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        self.inner
            .attach_certificate(organization, token, certificate)
    }

    fn prove_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<tenantlink_service::ProvenToken, DirectoryError>> {
        self.timed(
            "prove_app_only",
            self.inner.prove_app_only(organization, credential),
        )
    }

    fn application_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        self.timed(
            "application_app_only",
            self.inner.application_app_only(organization, credential),
        )
    }

    fn add_key<'a>(
        &'a self,
        organization: &'a Organization,
        signer: &'a Credential,
        certificate: &'a tenantlink_certificate::Certificate,
    ) -> BoxFuture<'a, Result<ApplicationKey, DirectoryError>> {
        self.timed(
            "add_key",
            self.inner.add_key(organization, signer, certificate),
        )
    }

    fn remove_key<'a>(
        &'a self,
        organization: &'a Organization,
        signer: &'a Credential,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        self.timed(
            "remove_key",
            self.inner.remove_key(organization, signer, key_id),
        )
    }

    fn browser_sign_in_url(
        &self,
        organization: &Organization,
        request: &tenantlink_service::browser_sign_in::AuthorizeParameters,
    ) -> Result<String, DirectoryError> {
        self.inner.browser_sign_in_url(organization, request)
    }

    fn redeem_browser_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
        redemption: &'a tenantlink_service::browser_sign_in::CodeRedemption,
    ) -> BoxFuture<'a, Result<tenantlink_service::browser_sign_in::BrowserSignedIn, DirectoryError>>
    {
        self.inner.redeem_browser_sign_in(organization, redemption)
    }
}

async fn register_fleet(
    control: &reqwest::Client,
    info: &SandboxInfo,
    certificates: &[Vec<u8>],
) -> Vec<(String, String)> {
    use base64::Engine as _;
    let mut registered = Vec::with_capacity(certificates.len());
    for (batch_index, batch) in certificates.chunks(1000).enumerate() {
        let applications: Vec<Value> = batch
            .iter()
            .enumerate()
            .map(|(i, der)| {
                json!({
                    "display_name": format!("tenantlink backup (rotation fleet {})", batch_index * 1000 + i),
                    // Reading its own keys back (the verify) needs a read permission; addKey and
                    // removeKey of its own keys need none.
                    "application_permissions": ["Application.Read.All"],
                    "certificates": [base64::engine::general_purpose::STANDARD.encode(der)],
                })
            })
            .collect();
        let body = control_post(
            control,
            info,
            "/applications",
            json!({"applications": applications}),
        )
        .await;
        registered.extend(
            body["applications"]
                .as_array()
                .expect("applications")
                .iter()
                .map(|a| {
                    (
                        a["app_id"].as_str().expect("app_id").to_owned(),
                        a["object_id"].as_str().expect("object_id").to_owned(),
                    )
                }),
        );
    }
    registered
}

fn control_client(info: &SandboxInfo) -> reqwest::Client {
    let ca = std::fs::read(&info.ca_file).expect("CA file");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA"))
        .build()
        .expect("client")
}

async fn control_post(
    control: &reqwest::Client,
    info: &SandboxInfo,
    path: &str,
    body: Value,
) -> Value {
    let response = control
        .post(format!("{}/_sandbox{path}", info.authority))
        .json(&body)
        .send()
        .await
        .expect("control API");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "control {path}: {status} {body}");
    body
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

fn status_mb(name: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn peak_mb() -> f64 {
    status_mb("VmHWM:")
}

fn memory(label: &str) {
    println!(
        "resident memory {label}: {:.0} MB (peak {:.0} MB)",
        status_mb("VmRSS:"),
        peak_mb()
    );
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
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
    (ticks(11) + ticks(12)) / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
