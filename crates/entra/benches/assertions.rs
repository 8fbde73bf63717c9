//! Client assertions signed per second (both profiles, RSA 2048/3072/4096) beside OpenSSL's own
//! RSA signing speed measured in the same run, and token-cache hits per second.
//!
//! `cargo bench -p tenantlink-entra --bench assertions` (OpenSSL's figures are printed first).

use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use rcgen::{CertificateParams, KeyPair, PKCS_RSA_SHA256, RsaKeySize};
use tenantlink_entra::{
    AppToken, AssertionOptions, AssertionProfile, CacheKey, SigningCertificate, TokenCache,
    client_assertion,
};
use tenantlink_secret::SecretString;
use time::OffsetDateTime;

fn signer(size: RsaKeySize) -> SigningCertificate {
    let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, size).expect("keygen");
    let mut params = CertificateParams::new(vec!["bench".into()]).expect("params");
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(30);
    let cert = params.self_signed(&key).expect("cert");
    SigningCertificate::from_parts(
        cert.der().to_vec(),
        vec![],
        &key.serialize_der(),
        params.not_before,
        params.not_after,
    )
    .expect("signer")
}

fn openssl_baseline() {
    eprintln!("== openssl speed -seconds 3 rsa2048 rsa3072 rsa4096 (sign/s, one core)");
    match Command::new("openssl")
        .args(["speed", "-seconds", "3", "rsa2048", "rsa3072", "rsa4096"])
        .output()
    {
        Ok(out) => {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if line.trim_start().starts_with("rsa ") || line.contains("sign/s") {
                    eprintln!("   {line}");
                }
            }
        }
        Err(e) => eprintln!("   openssl not available: {e}"),
    }
}

fn assertions(c: &mut Criterion) {
    let aud = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
    let client_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    let now = OffsetDateTime::now_utc();
    let mut group = c.benchmark_group("client_assertion");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    for (bits, size) in [
        (2048, RsaKeySize::_2048),
        (3072, RsaKeySize::_3072),
        (4096, RsaKeySize::_4096),
    ] {
        let signer = signer(size);
        for profile in [AssertionProfile::Rs256X5t, AssertionProfile::Ps256X5tS256] {
            let options = AssertionOptions {
                profile,
                include_x5c: false,
            };
            group.bench_function(format!("{}/{bits}", profile.name()), |b| {
                b.iter(|| client_assertion(&signer, client_id, aud, options, now).expect("sign"))
            });
        }
    }
    group.finish();
}

fn cache_hits(c: &mut Criterion) {
    let cache = TokenCache::default();
    let now = OffsetDateTime::now_utc();
    // A realistic fleet: many organizations cached, one looked up.
    let keys: Vec<CacheKey> = (0..1000)
        .map(|i| {
            CacheKey::new(
                &format!("tenant-{i}.onmicrosoft.com"),
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "https://graph.microsoft.com/.default",
                [i as u8; 20],
            )
        })
        .collect();
    for key in &keys {
        cache.store(
            key,
            AppToken {
                access_token: SecretString::new("x".repeat(1500)),
                expires_at: now + time::Duration::hours(1),
                refresh_at: now + time::Duration::minutes(55),
            },
        );
    }
    let mut group = c.benchmark_group("token_cache");
    group.throughput(Throughput::Elements(1));
    let key = &keys[500];
    group.bench_function("hit", |b| {
        b.iter(|| cache.get_fresh(key, now).expect("hit"))
    });
    group.finish();
}

fn main() {
    openssl_baseline();
    let mut criterion = Criterion::default().configure_from_args();
    assertions(&mut criterion);
    cache_hits(&mut criterion);
    criterion.final_summary();
}
