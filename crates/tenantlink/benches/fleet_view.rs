//! Issue #13's fleet view benchmark, at 1,000 and 10,000 organizations, on SQLite and — when
//! `TENANTLINK_TEST_POSTGRES_URL` is set — PostgreSQL:
//! - the first page of `GET /api/v1/organizations` (50 rows in risk order, with the counts per
//!   state of the whole fleet): timed is the call the handler makes, `Fleet::page` over the real
//!   `StoreRepository` through the `FleetCache` that `serve` shares with the scrape — the
//!   revisions read, the records read again where they moved, the classification of every
//!   organization with the service's rules, the sort and the page. Timed cold (nothing kept:
//!   the first request after start-up), then with 0, 10 and 100 organizations written (a backup
//!   run's proof each, not timed) before each request;
//! - a `/metrics` scrape: the real route served on a loopback port, scraped with one GET whose
//!   whole body is read, as Prometheus does, with 0 and 10 organizations written before each.
//!
//! Every SQL statement sqlx runs is counted (a tracing layer on `sqlx::query`), so the report
//! shows the queries per request staying the same from 1,000 to 10,000.
//!
//! Run: `scripts/bench-fleet` (release, prints the machine), or
//! `cargo bench -p tenantlink --bench fleet_view -- --orgs 1000,10000 --requests 30`.
//!
//! Set-up (not timed): organizations in every state — 10 % without a certificate, the others
//! with an active certificate (one RSA key, distinct serials) that is expired, not attached
//! (Entra's KeyNotRegistered at its last proof), renewing with retryable failures, refused for
//! good, expiring within 30 days or healthy; every second one with a backup run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration as StdDuration, Instant};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256, SerialNumber};
use time::{Duration, OffsetDateTime};
use tracing_subscriber::layer::SubscriberExt;

use tenantlink_certificate::{Certificate, Credential, PrivateKey};
use tenantlink_clock::{ManualClock, SharedClock};
use tenantlink_service::fleet::{Fleet, FleetCache, FleetQuery, FleetRepository, FleetState};
use tenantlink_service::renewal::{RenewalFailure, RenewalState};
use tenantlink_service::{
    BackupRepository, BackupScope, Caller, CallerVia, CertificateSource, Cloud, CredentialProof,
    NewBackupPolicy, NewOrganization, Operation, OperationId, OperationKind, OperationStep,
    ProofOutcome, ProofSource, Repository, Role, RunTrigger,
};
use tenantlink_store::{MasterKey, Store, StoreRepository};

/// Counts the statements sqlx runs (each is one `sqlx::query` event when it finishes).
static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

/// The server time of the last `/metrics` request, in nanoseconds.
static SERVER_NANOS: AtomicU64 = AtomicU64::new(0);

struct CountStatements;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountStatements {
    /// Only sqlx's statement events: nothing else is recorded, so counting costs next to nothing.
    fn enabled(
        &self,
        metadata: &tracing::Metadata<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        metadata.target() == "sqlx::query"
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Options {
    sizes: Vec<usize>,
    requests: usize,
}

fn options() -> Options {
    let mut options = Options {
        sizes: vec![1_000, 10_000],
        requests: 30,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--orgs" => {
                options.sizes = value()
                    .split(',')
                    .map(|n| n.trim().replace('_', "").parse().expect("--orgs N[,M…]"))
                    .collect();
            }
            "--requests" => options.requests = value().parse().expect("--requests N"),
            // cargo bench passes `--bench`; criterion-style filters are not used here.
            _ => {}
        }
    }
    options.sizes.sort_unstable();
    options
}

fn main() {
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(CountStatements))
        .expect("subscriber");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench(options()));
}

async fn bench(options: Options) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "fleet_view: first page ({} rows, risk order, counts) at {:?} organizations, {} requests each, {cores} cores; load average {}",
        tenantlink_service::fleet::DEFAULT_PER_PAGE,
        options.sizes,
        options.requests,
        load_average()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("fleet.sqlite").display()
    );
    run_backend("SQLite", &sqlite, &options).await;
    match std::env::var("TENANTLINK_TEST_POSTGRES_URL") {
        Ok(server) if !server.is_empty() => {
            let database = tenantlink_test_support::TestDatabase::create_on(&server);
            run_backend("PostgreSQL", database.url(), &options).await;
        }
        _ => println!("PostgreSQL: skipped (TENANTLINK_TEST_POSTGRES_URL is not set)"),
    }
}

async fn run_backend(backend: &str, url: &str, options: &Options) {
    let store = Store::open(url).await.expect("open the store");
    let repository = Arc::new(StoreRepository::new(
        store.clone(),
        Arc::new(MasterKey::generate().expect("master key")),
    ));
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("now");
    let clock: SharedClock = Arc::new(ManualClock::at(now));
    let seeder = Seeder::new(now);
    let mut seeded = 0;
    for &size in &options.sizes {
        let started = Instant::now();
        seeder.seed(&store, &repository, seeded..size).await;
        println!(
            "{backend}: set-up {} → {size} organizations in {:.1} s (not timed below)",
            seeded,
            started.elapsed().as_secs_f64()
        );
        seeded = size;
        let bench = Bench::new(backend, size, repository.clone(), clock.clone(), now).await;
        bench.measure(options.requests).await;
    }
}

/// One backend at one size: the fleet view and `/metrics` sharing one kept snapshot, as
/// `tenantlink serve` has them.
struct Bench {
    backend: String,
    size: usize,
    repository: Arc<StoreRepository>,
    clock: SharedClock,
    cache: FleetCache,
    fleet: Fleet,
    metrics: String,
    /// The active certificates, written to between requests (a backup run's proof each).
    certificates: Vec<tenantlink_service::CertificateId>,
    proofs_at: std::sync::atomic::AtomicI64,
}

impl Bench {
    async fn new(
        backend: &str,
        size: usize,
        repository: Arc<StoreRepository>,
        clock: SharedClock,
        now: OffsetDateTime,
    ) -> Self {
        let cache = FleetCache::new(repository.clone());
        let certificates = repository
            .fleet_snapshot()
            .await
            .expect("snapshot")
            .iter()
            .filter_map(|record| record.active.as_ref().map(|c| c.id))
            .collect();
        Self {
            backend: backend.to_owned(),
            size,
            fleet: Fleet::new(cache.clone(), clock.clone(), 30),
            metrics: serve_metrics(cache.clone(), clock.clone()).await,
            cache,
            repository,
            clock,
            certificates,
            proofs_at: std::sync::atomic::AtomicI64::new(now.unix_timestamp()),
        }
    }

    fn caller() -> Caller {
        Caller {
            name: "bench".into(),
            role: Role::Viewer,
            via: CallerVia::ApiToken,
            csrf_token: None,
            account: None,
        }
    }

    /// What the writers of a busy fleet do between two requests: `count` backup runs each
    /// record the proof of their organization's certificate (not timed).
    async fn write(&self, count: usize) {
        for _ in 0..count {
            let at = self.proofs_at.fetch_add(1, Ordering::SeqCst) + 1;
            let certificate = self.certificates[at as usize % self.certificates.len()];
            let proof = CredentialProof {
                outcome: ProofOutcome::Accepted,
                source: ProofSource::BackupRun,
                checked_at: OffsetDateTime::from_unix_timestamp(at).expect("time"),
                detail: None,
            };
            self.repository
                .record_proof(certificate, &proof)
                .await
                .expect("proof");
        }
    }

    async fn measure(&self, requests: usize) {
        let query = FleetQuery::default();
        let caller = Self::caller();

        // Cold: a fresh kept snapshot each time (the first request after start-up).
        let mut cold = Vec::new();
        for _ in 0..3 {
            let fleet = Fleet::new(
                FleetCache::new(self.repository.clone()),
                self.clock.clone(),
                30,
            );
            STATEMENTS.store(0, Ordering::SeqCst);
            let started = Instant::now();
            std::hint::black_box(fleet.page(&caller, &query).await.expect("page"));
            cold.push((started.elapsed(), STATEMENTS.load(Ordering::SeqCst)));
        }
        cold.sort_unstable();
        self.report("first page, cold (nothing kept)", &cold);

        let page = self.fleet.page(&caller, &query).await.expect("page");
        assert_eq!(page.counts.fleet(), self.size, "every organization counted");
        assert_eq!(page.rows.len(), 50.min(self.size));
        assert_eq!(
            page.rows.first().map(|r| r.state),
            Some(FleetState::Expired),
            "risk order"
        );
        for changed in [0, 10, 100] {
            let mut samples = Vec::with_capacity(requests);
            for _ in 0..requests {
                self.write(changed).await;
                STATEMENTS.store(0, Ordering::SeqCst);
                let started = Instant::now();
                std::hint::black_box(self.fleet.page(&caller, &query).await.expect("page"));
                samples.push((started.elapsed(), STATEMENTS.load(Ordering::SeqCst)));
            }
            samples.sort_unstable();
            self.report(
                &format!("first page, {changed} organizations written before each"),
                &samples,
            );
        }
        self.scrape_metrics(requests).await;

        // Where the time goes: the full read (what keeping the snapshot saves), the revisions
        // read (what every request pays), the classification and page of a kept snapshot.
        let started = Instant::now();
        let records = self.repository.fleet_snapshot().await.expect("snapshot");
        let full = started.elapsed();
        let mut revisions = Vec::new();
        let mut pages = Vec::new();
        let kept = self.cache.snapshot().await.expect("kept");
        for _ in 0..5 {
            let started = Instant::now();
            std::hint::black_box(self.repository.fleet_revisions().await.expect("revisions"));
            revisions.push(started.elapsed());
            let started = Instant::now();
            std::hint::black_box(tenantlink_service::fleet::fleet_page(
                &kept,
                &query,
                self.clock.now(),
                Duration::days(30),
            ));
            pages.push(started.elapsed());
        }
        revisions.sort_unstable();
        pages.sort_unstable();
        println!(
            "{} {:>6} orgs: alone: full snapshot read {}; revisions read median {}; classification and page of the kept snapshot median {}",
            self.backend,
            self.size,
            ms(full),
            ms(revisions[2]),
            ms(pages[2]),
        );
        assert_eq!(records.len(), self.size);
        let counts: Vec<String> = page
            .counts
            .iter()
            .map(|(state, n)| format!("{} {n}", state.as_str()))
            .collect();
        println!("  counts: {}", counts.join(", "));
        // The kept snapshot equals a fresh full read.
        let kept = self.cache.snapshot().await.expect("kept");
        let fresh = FleetCache::new(self.repository.clone())
            .snapshot()
            .await
            .expect("fresh");
        assert_eq!(format!("{kept:?}"), format!("{fresh:?}"), "kept = read");
    }

    /// `samples` sorted: (time, statements).
    fn report(&self, what: &str, samples: &[(StdDuration, usize)]) {
        let times: Vec<StdDuration> = samples.iter().map(|(t, _)| *t).collect();
        let mut statements: Vec<usize> = samples.iter().map(|(_, n)| *n).collect();
        statements.sort_unstable();
        println!(
            "{} {:>6} orgs: {what}: {}; statements {} to {}",
            self.backend,
            self.size,
            spread(&times),
            statements[0],
            statements[statements.len() - 1],
        );
    }

    /// Scrapes `/metrics` as Prometheus does (one GET, the whole body read), `requests` times
    /// after one warm-up, with nothing and then 10 organizations written before each: the time
    /// is the server's work plus loopback transfer of the body.
    async fn scrape_metrics(&self, requests: usize) {
        let client = reqwest::Client::new();
        let scrape = || async {
            let response = client.get(&self.metrics).send().await.expect("scrape");
            assert!(response.status().is_success(), "{}", response.status());
            response.text().await.expect("body")
        };
        let body = scrape().await;
        let expiration_series = body
            .lines()
            .filter(|line| line.starts_with("tenantlink_certificate_expiration_timestamp_seconds{"))
            .count();
        // 10 % of the set-up's organizations have no certificate.
        assert_eq!(
            expiration_series,
            self.size - self.size.div_ceil(10),
            "one series per certificate"
        );
        println!(
            "{} {:>6} orgs: /metrics body {:.1} MB, {} lines",
            self.backend,
            self.size,
            body.len() as f64 / 1e6,
            body.lines().count()
        );
        for changed in [0, 10] {
            let mut samples = Vec::with_capacity(requests);
            let mut server = Vec::with_capacity(requests);
            for _ in 0..requests {
                self.write(changed).await;
                STATEMENTS.store(0, Ordering::SeqCst);
                let started = Instant::now();
                std::hint::black_box(scrape().await);
                samples.push((started.elapsed(), STATEMENTS.load(Ordering::SeqCst)));
                server.push((
                    StdDuration::from_nanos(SERVER_NANOS.load(Ordering::SeqCst)),
                    STATEMENTS.load(Ordering::SeqCst),
                ));
            }
            samples.sort_unstable();
            server.sort_unstable();
            self.report(
                &format!("/metrics server time, {changed} organizations written before each"),
                &server,
            );
            self.report(
                &format!("/metrics scrape round trip (body read), {changed} organizations written before each"),
                &samples,
            );
        }
    }
}

/// The real `/metrics` route (the one `tenantlink serve` mounts) on a loopback port of its own;
/// returns its URL.
async fn serve_metrics(fleet: FleetCache, clock: SharedClock) -> String {
    let router = tenantlink_web::metrics::router(tenantlink_web::metrics::MetricsState {
        fleet,
        clock,
        counters: Arc::new(tenantlink_web::metrics::Counters::default()),
        bearer_token: None,
        expiring_soon: Duration::days(30),
    })
    // Server time: from the request's arrival at the router to the response, whose body is
    // already encoded then (the route builds the whole text before answering).
    .layer(axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            let started = Instant::now();
            let response = next.run(request).await;
            SERVER_NANOS.store(
                u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
                Ordering::SeqCst,
            );
            response
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}/metrics")
}

/// Median, p95, max and min of sorted `times`.
fn spread(times: &[StdDuration]) -> String {
    format!(
        "median {} p95 {} max {} (min {})",
        ms(times[times.len() / 2]),
        ms(times[(times.len() * 95).div_ceil(100).saturating_sub(1)]),
        ms(times[times.len() - 1]),
        ms(times[0]),
    )
}

fn ms(d: StdDuration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Makes organization `i` the same way at every size, so 1,000 are the first 1,000 of 10,000.
struct Seeder {
    now: OffsetDateTime,
    key: KeyPair,
    pkcs8: Vec<u8>,
}

impl Seeder {
    fn new(now: OffsetDateTime) -> Self {
        let key =
            KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).expect("RSA key");
        let pkcs8 = key.serialize_der();
        Self { now, key, pkcs8 }
    }

    async fn seed(
        &self,
        store: &Store,
        repository: &StoreRepository,
        range: std::ops::Range<usize>,
    ) {
        for i in range {
            self.organization(store, repository, i).await;
        }
    }

    /// (days since issued, days left) of organization `i`'s certificate, and what else it has.
    async fn organization(&self, store: &Store, repository: &StoreRepository, i: usize) {
        let now = self.now;
        let organization = store
            .create_organization(
                NewOrganization {
                    tenant: format!("fleet{i:05}.onmicrosoft.com"),
                    cloud: Cloud::Sandbox,
                    app_id: uuid::Uuid::new_v4().to_string(),
                    name: format!("Fleet organization {i:05}"),
                },
                now - Duration::days(400),
            )
            .await
            .expect("organization");
        if i.is_multiple_of(2) {
            let policy = store
                .create_policy(
                    NewBackupPolicy {
                        organization_id: organization.id,
                        name: "Mailboxes".into(),
                        schedule: String::new(),
                        scope: BackupScope::AllUsers,
                        enabled: false,
                        next_due_at: None,
                    },
                    now,
                )
                .await
                .expect("policy");
            // The trait's (the store also has an inherent `start_run` without a holder).
            BackupRepository::start_run(
                store,
                policy.id,
                RunTrigger::Manual,
                None,
                now - Duration::hours(1),
            )
            .await
            .expect("run");
        }
        let kind = i % 10;
        if kind == 0 {
            return; // no certificate: needs an administrator
        }
        let minutes = Duration::minutes(i as i64);
        let (age, left) = match kind {
            1 => (370, -5),
            3 | 4 => (300, 65),
            5 | 6 => (350, 15),
            _ => (30, 335),
        };
        let not_before = now - Duration::days(age) + minutes;
        let not_after = now + Duration::days(left) + minutes;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, format!("tenantlink fleet {i}"));
        params.distinguished_name = name;
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(SerialNumber::from((i as u64) + 1));
        let der = params
            .self_signed(&self.key)
            .expect("certificate")
            .der()
            .to_vec();
        let credential = Credential::new(
            Certificate::from_der(der).expect("certificate"),
            PrivateKey::from_pkcs8_der(&self.pkcs8).expect("key"),
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
                started_by: "fleet-bench".into(),
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
        let outcome = if kind == 2 {
            ProofOutcome::KeyNotRegistered
        } else {
            ProofOutcome::Accepted
        };
        let proof = CredentialProof {
            outcome,
            source: ProofSource::ConnectionCheck,
            checked_at: now - Duration::hours(2),
            detail: None,
        };
        repository
            .record_proof(stored.id, &proof)
            .await
            .expect("proof");
        if kind == 3 || kind == 4 {
            let at = now - Duration::minutes(10);
            let state = RenewalState {
                failed_attempts: 2,
                last_attempt_at: Some(at),
                last_failure: Some(RenewalFailure {
                    at,
                    code: if kind == 3 {
                        "ServiceUnavailable"
                    } else {
                        "CredentialInvalidLifetimeAsPerAppPolicy"
                    }
                    .into(),
                    message: "from the fleet benchmark".into(),
                    retryable: kind == 3,
                }),
                ..RenewalState::default()
            };
            repository
                .set_renewal_state(organization.id, &state, now)
                .await
                .expect("renewal state");
        }
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
