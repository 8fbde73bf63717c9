//! `/healthz` latency of the real `tenantlink serve` (SQLite in a temporary data directory, the
//! embedded sandbox tenant), idle and while rounds of 50 concurrent sign-ins run, first with the
//! service's heavy-work pool (Argon2 on blocking threads, at most one job per core), then with
//! a pool of one job (a core left to the async threads), then with the same binary told to run
//! Argon2 inline on the async threads (the behaviour the pool replaced). All from one run,
//! printed side by side.
//!
//! Run: `cargo bench -p tenantlink --bench healthz_under_sign_ins --features heavy-work-comparison`
//! (or `scripts/bench-healthz`, which also prints the machine). Timings are printed, never
//! asserted; the bench only refuses to print numbers when the sign-ins did not really run.

// The sign-in form as a browser fills it (login-CSRF cookie and field), shared with the tests.
#[path = "../tests/serve_support/sign_in_form.rs"]
mod sign_in_form;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "bench-admin-password-42";
/// Sign-ins in flight at once: one with the administrator's right password, the rest wrong
/// passwords for unknown names, one name each (they do the same Argon2 work, so timing reveals no
/// account). Parallel attempts for one name from one address are refused by the per-pair delay
/// before any Argon2, so only distinct names load the pool; the right password of each round
/// clears the administrator's pair for the next.
const CONCURRENT_SIGN_INS: usize = 50;
const ROUNDS: usize = 4;
const IDLE_PROBES: usize = 200;
/// Under load the probes are open-loop: one starts every interval whether or not the previous
/// one has answered, so a stall shows as latency instead of as fewer samples.
const PROBE_EVERY: Duration = Duration::from_millis(10);
/// The env var a binary built with `heavy-work-comparison` reads (serve/heavy_work.rs): `inline`
/// or the pool's size.
const HEAVY_WORK_ENV: &str = "TENANTLINK_BENCH_HEAVY_WORK";

/// How the server runs heavy work.
#[derive(Clone, Copy)]
enum Mode {
    /// `HeavyWork::sized_to_cores()`, as deployed.
    Service,
    Pool(usize),
    Inline,
}

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(mode: Mode) -> Server {
    let dir = tempfile::tempdir().expect("temporary data directory");
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantlink"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("TENANTLINK_ADMIN_PASSWORD", ADMIN_PASSWORD)
        // Every round's wrong passwords come from one address; keep them all counted as
        // sign-ins that run Argon2, not as refusals of the address throttle.
        .env("TENANTLINK_SIGN_IN_MAX_FAILURES", "1000")
        .env("TENANTLINK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match mode {
        Mode::Service => {}
        Mode::Pool(size) => {
            command.env(HEAVY_WORK_ENV, size.to_string());
        }
        Mode::Inline => {
            command.env(HEAVY_WORK_ENV, "inline");
        }
    }
    let mut child = command.spawn().expect("start tenantlink serve");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let base = loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).expect("read stdout") > 0,
            "tenantlink serve exited before serving"
        );
        if let Some(url) = line.trim().strip_prefix("tenantlink is serving at ") {
            break url.trim_end_matches('/').to_owned();
        }
    };
    std::thread::spawn(move || for _ in reader.lines().map_while(Result::ok) {});
    Server {
        child,
        base,
        _dir: dir,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

async fn probe(client: &reqwest::Client, base: &str) -> Duration {
    let started = Instant::now();
    let response = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert!(
        response.status().is_success(),
        "/healthz {}",
        response.status()
    );
    assert_eq!(response.text().await.expect("/healthz body"), "ok");
    started.elapsed()
}

#[derive(Debug, Default, Clone, Copy)]
struct Outcomes {
    signed_in: usize,
    refused: usize,
}

async fn sign_in(client: &reqwest::Client, base: &str, username: &str, password: &str) -> bool {
    let response = sign_in_form::sign_in(client, base, username, password).await;
    match response.status().as_u16() {
        303 => true,
        401 => false,
        // A throttled sign-in does no Argon2 work: the figures would not show what they claim.
        other => {
            panic!("sign-in of {username} answered {other}; the bench needs every sign-in to run")
        }
    }
}

async fn sign_in_rounds(base: &str) -> (Outcomes, Duration) {
    let client = client();
    let started = Instant::now();
    let mut outcomes = Outcomes::default();
    for round in 0..ROUNDS {
        let attempts = (0..CONCURRENT_SIGN_INS).map(|i| {
            let client = client.clone();
            let base = base.to_owned();
            async move {
                if i == 0 {
                    sign_in(&client, &base, "admin", ADMIN_PASSWORD).await
                } else {
                    let name = format!("guess-{round}-{i}");
                    sign_in(&client, &base, &name, "not-the-password").await
                }
            }
        });
        for signed_in in futures_join_all(attempts).await {
            if signed_in {
                outcomes.signed_in += 1;
            } else {
                outcomes.refused += 1;
            }
        }
    }
    (outcomes, started.elapsed())
}

/// Runs the futures concurrently on the current task's runtime and returns their outputs.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.expect("sign-in task"));
    }
    outputs
}

async fn idle_latencies(base: &str) -> Vec<Duration> {
    let client = client();
    for _ in 0..20 {
        probe(&client, base).await;
    }
    let mut latencies = Vec::with_capacity(IDLE_PROBES);
    for _ in 0..IDLE_PROBES {
        latencies.push(probe(&client, base).await);
    }
    latencies
}

async fn loaded_latencies(base: &str) -> (Vec<Duration>, Outcomes, Duration) {
    let done = Arc::new(AtomicBool::new(false));
    let prober = {
        let (base, done) = (base.to_owned(), done.clone());
        tokio::spawn(async move {
            let client = client();
            let mut ticks = tokio::time::interval(PROBE_EVERY);
            let mut probes = Vec::new();
            while !done.load(Ordering::SeqCst) {
                ticks.tick().await;
                let (client, base) = (client.clone(), base.clone());
                probes.push(tokio::spawn(async move { probe(&client, &base).await }));
            }
            let mut latencies = Vec::with_capacity(probes.len());
            for probe in probes {
                latencies.push(probe.await.expect("probe task"));
            }
            latencies
        })
    };
    let (outcomes, elapsed) = sign_in_rounds(base).await;
    done.store(true, Ordering::SeqCst);
    let latencies = prober.await.expect("prober");
    (latencies, outcomes, elapsed)
}

struct Summary {
    samples: usize,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    max: Duration,
}

fn summarize(mut latencies: Vec<Duration>) -> Summary {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Summary {
        samples: latencies.len(),
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: *latencies.last().expect("samples"),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

struct ModeResult {
    name: String,
    idle: Summary,
    loaded: Summary,
    outcomes: Outcomes,
    sign_ins_took: Duration,
}

fn measure(runtime: &tokio::runtime::Runtime, name: String, mode: Mode) -> ModeResult {
    let server = start_server(mode);
    let base = server.base.clone();
    runtime.block_on(async {
        // One sign-in first, so the first measured ones pay no start-up cost.
        sign_in(&client(), &base, "admin", ADMIN_PASSWORD).await;
        let idle = summarize(idle_latencies(&base).await);
        let (loaded, outcomes, sign_ins_took) = loaded_latencies(&base).await;
        ModeResult {
            name,
            idle,
            loaded: summarize(loaded),
            outcomes,
            sign_ins_took,
        }
    })
}

fn main() {
    // The load generator is light (HTTP only): one thread, so the server keeps the cores.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let results = [
        measure(
            &runtime,
            format!("pool of {cores} (service)"),
            Mode::Service,
        ),
        measure(&runtime, "pool of 1".to_owned(), Mode::Pool(1)),
        measure(&runtime, "inline (before)".to_owned(), Mode::Inline),
    ];
    println!(
        "/healthz latency, idle ({IDLE_PROBES} sequential requests) and while {ROUNDS} rounds of \
         {CONCURRENT_SIGN_INS} concurrent sign-ins run (a request every {} ms), in ms",
        PROBE_EVERY.as_millis()
    );
    println!(
        "{:20} {:>8} {:>7} {:>7} {:>7} {:>8} | {:>7} {:>7} {:>7} {:>7} {:>8} | {:>9} {:>12} {:>11}",
        "heavy work",
        "idle n",
        "p50",
        "p95",
        "p99",
        "max",
        "load n",
        "p50",
        "p95",
        "p99",
        "max",
        "p99 ratio",
        "sign-ins",
        "took (s)"
    );
    for r in &results {
        println!(
            "{:20} {:>8} {:>7} {:>7} {:>7} {:>8} | {:>7} {:>7} {:>7} {:>7} {:>8} | {:>9.1} {:>12} {:>11.2}",
            r.name,
            r.idle.samples,
            ms(r.idle.p50),
            ms(r.idle.p95),
            ms(r.idle.p99),
            ms(r.idle.max),
            r.loaded.samples,
            ms(r.loaded.p50),
            ms(r.loaded.p95),
            ms(r.loaded.p99),
            ms(r.loaded.max),
            r.loaded.p99.as_secs_f64() / r.idle.p99.as_secs_f64(),
            format!("{}+{}", r.outcomes.signed_in, r.outcomes.refused),
            r.sign_ins_took.as_secs_f64(),
        );
    }
    println!("sign-ins: right password + wrong password; p99 ratio = p99 under load / p99 idle");
}
