//! Certificate work timed beside OpenSSL in the same run: RSA key generation, certificate
//! generation, PFX import, and whole `tenantlink cert inspect` processes against whole
//! `openssl pkcs12` processes on the same OpenSSL 3 default PFX.
//!
//! Run: `cargo bench -p tenantlink --bench certificates` (or `scripts/bench-certificates`, which
//! also prints the ratios the issue sets as targets). Needs the `openssl` 3 CLI.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tenantlink_certificate::{GenerateOptions, RsaKeySize, generate, import_pkcs12};
use tenantlink_secret::SecretString;
use time::OffsetDateTime;

const PASSWORD: &str = "bench-password";

/// Runs a process to completion with its output discarded; panics if it fails, so a broken
/// command can never look fast.
fn run_process(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|err| panic!("cannot start {program}: {err}"));
    assert!(status.success(), "{program} {args:?} failed: {status}");
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary path")
}

/// An OpenSSL 3 default PFX (PBES2 AES-256-CBC, PBKDF2-HMAC-SHA256 2048 iterations, SHA-256 MAC).
struct OpensslPfx {
    _dir: tempfile::TempDir,
    pfx: PathBuf,
    password_file: PathBuf,
}

fn openssl_default_pfx() -> OpensslPfx {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.pem");
    let pfx = dir.path().join("openssl3-default.pfx");
    let password_file = dir.path().join("password.txt");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).expect("write password");
    run_process(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            path(&key),
            "-out",
            path(&cert),
            "-subj",
            "/CN=bench",
            "-days",
            "365",
        ],
    );
    run_process(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            path(&key),
            "-in",
            path(&cert),
            "-out",
            path(&pfx),
            "-passout",
            &format!("file:{}", path(&password_file)),
        ],
    );
    OpensslPfx {
        _dir: dir,
        pfx,
        password_file,
    }
}

fn key_generation(c: &mut Criterion) {
    for (bits, aws_size, samples) in [
        (2048, aws_lc_rs::rsa::KeySize::Rsa2048, 60),
        (3072, aws_lc_rs::rsa::KeySize::Rsa3072, 20),
    ] {
        let mut group = c.benchmark_group(format!("rsa{bits}_keygen"));
        // Prime search makes single runs vary by several times: many samples, median compared.
        group.sample_size(samples);
        group.measurement_time(Duration::from_secs(if bits == 2048 { 20 } else { 30 }));
        group.bench_function("tenantlink_aws_lc_rs", |b| {
            b.iter(|| black_box(aws_lc_rs::rsa::KeyPair::generate(aws_size).expect("keygen")))
        });
        let algorithm = format!("rsa_keygen_bits:{bits}");
        group.bench_function("openssl_genpkey_process", |b| {
            b.iter(|| {
                run_process(
                    "openssl",
                    &[
                        "genpkey",
                        "-algorithm",
                        "RSA",
                        "-pkeyopt",
                        &algorithm,
                        "-out",
                        "/dev/null",
                    ],
                )
            })
        });
        group.finish();
    }
}

fn certificate_generation(c: &mut Criterion) {
    let mut group = c.benchmark_group("certificate_generate_rsa2048");
    group.sample_size(40);
    group.measurement_time(Duration::from_secs(20));
    let now = OffsetDateTime::now_utc();
    let options = GenerateOptions {
        key_size: RsaKeySize::Rsa2048,
        ..GenerateOptions::default()
    };
    group.bench_function("tenantlink_generate", |b| {
        b.iter(|| black_box(generate(&options, now).expect("generate")))
    });
    group.bench_function("openssl_req_x509_newkey_process", |b| {
        b.iter(|| {
            run_process(
                "openssl",
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    "/dev/null",
                    "-out",
                    "/dev/null",
                    "-subj",
                    "/CN=bench",
                    "-days",
                    "365",
                ],
            )
        })
    });
    group.finish();
}

fn pfx_import(c: &mut Criterion) {
    let fixture = openssl_default_pfx();
    let bytes = std::fs::read(&fixture.pfx).expect("read PFX");
    let password = SecretString::from(PASSWORD);
    let now = OffsetDateTime::now_utc();
    let passin = format!("file:{}", path(&fixture.password_file));

    let mut group = c.benchmark_group("pfx_import_openssl3_default");
    group.bench_function("tenantlink_import_pkcs12_in_process", |b| {
        b.iter(|| black_box(import_pkcs12(&bytes, Some(&password), now).expect("import")))
    });
    group.finish();

    // Whole processes on both sides: what an administrator waits for.
    let mut group = c.benchmark_group("pfx_read_process_openssl3_default");
    group.sample_size(100);
    group.bench_function("tenantlink_cert_inspect_process", |b| {
        b.iter(|| {
            run_process(
                env!("CARGO_BIN_EXE_tenantlink"),
                &[
                    "cert",
                    "inspect",
                    path(&fixture.pfx),
                    "--password-file",
                    path(&fixture.password_file),
                ],
            )
        })
    });
    group.bench_function("openssl_pkcs12_process", |b| {
        b.iter(|| {
            run_process(
                "openssl",
                &[
                    "pkcs12",
                    "-in",
                    path(&fixture.pfx),
                    "-passin",
                    &passin,
                    "-nodes",
                    "-out",
                    "/dev/null",
                ],
            )
        })
    });
    group.finish();
}

criterion_group!(benches, key_generation, certificate_generation, pfx_import);
criterion_main!(benches);
