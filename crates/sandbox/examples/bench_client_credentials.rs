//! Benchmark: client-credentials token requests per second that the sandbox serves, each one with
//! full assertion verification (thumbprint lookup, certificate parse, RSA signature check) and an
//! RS256-signed access token.
//!
//! Starts a sandbox in-process on an ephemeral port, attaches a certificate through Graph like a
//! client would, then runs `CONCURRENCY` HTTPS clients for `SECONDS` seconds. Client and server
//! share this process and the machine's cores, so the figure is a lower bound of the server alone.
//!
//! cargo run --release -p tenantlink-sandbox --example bench_client_credentials -- [SECONDS] [CONCURRENCY]

use rcgen::{CertificateParams, KeyPair, PKCS_RSA_SHA256, RsaKeySize};
use serde_json::{Map, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tenantlink_clock::Clock;
use tenantlink_jose::{Algorithm, RsaSigningKey, b64url};
use tenantlink_sandbox::SandboxConfig;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).map_or(Ok(10), |s| s.parse())?;
    let concurrency: usize = args.get(2).map_or(Ok(16), |s| s.parse())?;

    let dir = tempfile::tempdir()?;
    let sandbox =
        tenantlink_sandbox::start(SandboxConfig::ephemeral(dir.path().join("state"))).await?;
    let info = sandbox.info().clone();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(
            &info.ca_file,
        )?)?)
        .build()?;

    // A certificate for the backup app, attached with Graph PATCH under an admin's device-flow token.
    let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)?;
    let now = sandbox.clock().now();
    let mut params = CertificateParams::default();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(30);
    let der = params.self_signed(&key)?.der().to_vec();
    let base = &info.authority;
    let tenant = &info.tenant_id;
    let flow: serde_json::Value = http
        .post(format!("{base}/{tenant}/oauth2/v2.0/devicecode"))
        .form(&[
            ("client_id", info.public_client_id.as_str()),
            (
                "scope",
                "https://graph.microsoft.com/Application.ReadWrite.All",
            ),
        ])
        .send()
        .await?
        .json()
        .await?;
    let admin = info
        .users
        .iter()
        .find(|u| !u.roles.is_empty())
        .ok_or("no admin")?;
    http.post(format!("{base}/_sandbox/device/approve"))
        .json(&json!({"user_code": flow["user_code"], "username": admin.username}))
        .send()
        .await?
        .error_for_status()?;
    let tokens: serde_json::Value = http
        .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", info.public_client_id.as_str()),
            (
                "device_code",
                flow["device_code"].as_str().ok_or("no device_code")?,
            ),
        ])
        .send()
        .await?
        .json()
        .await?;
    use base64::Engine;
    http.patch(format!("{}/applications/{}", info.graph_base, info.backup_app.object_id))
        .bearer_auth(tokens["access_token"].as_str().ok_or("no token")?)
        .json(&json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64::engine::general_purpose::STANDARD.encode(&der)}]}))
        .send()
        .await?
        .error_for_status()?;

    // One assertion, reused as MSAL does; the server verifies it in full on every request.
    let signing_key = RsaSigningKey::from_pkcs8_der(&key.serialize_der())?;
    let mut header = Map::new();
    header.insert(
        "x5t".into(),
        json!(b64url(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref()
        )),
    );
    let token_url = format!("{base}/{tenant}/oauth2/v2.0/token");
    let app_id = info.backup_app.app_id.clone();
    let issued = now.unix_timestamp();
    let claims = json!({"aud": token_url, "iss": app_id, "sub": app_id, "jti": "bench", "nbf": issued, "exp": issued + 3600});
    let assertion = Arc::new(tenantlink_jose::sign(
        header,
        &claims,
        Algorithm::PS256,
        &signing_key,
    )?);

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (http, assertion, token_url, app_id) = (
            http.clone(),
            assertion.clone(),
            token_url.clone(),
            app_id.clone(),
        );
        let (ok, failed) = (ok.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let response = http
                    .post(&token_url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", app_id.as_str()),
                        ("scope", "https://graph.microsoft.com/.default"),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("client_assertion", assertion.as_str()),
                    ])
                    .send()
                    .await;
                let served = match response {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                if served {
                    ok.fetch_add(1, Ordering::Relaxed);
                    latencies.push(sent.elapsed());
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let served = ok.load(Ordering::Relaxed);
    println!(
        "client credentials (PS256 assertion verified, RS256 token signed): {served} ok, {} failed in {elapsed:.1} s = {:.0} req/s; concurrency {concurrency}; latency p50 {:.1} ms, p99 {:.1} ms",
        failed.load(Ordering::Relaxed),
        served as f64 / elapsed,
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
    );
    sandbox.shutdown().await;
    Ok(())
}
