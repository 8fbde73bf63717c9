//! An assertion made by tenantlink verifies with PyJWT and the certificate's public key, and has
//! the same header fields and claim names as the one MSAL Python builds for the same
//! certificate. Needs the project's Python environment (scripts/test creates it).

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::{Value, json};
use tenantlink_entra::{AssertionOptions, AssertionProfile, client_assertion};
use time::{Duration, OffsetDateTime};

use support::TestCert;

fn python() -> PathBuf {
    let path = std::env::var_os("TENANTLINK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
        });
    assert!(
        path.exists(),
        "no Python test environment at {}: run scripts/test (or set TENANTLINK_PYTHON)",
        path.display()
    );
    path
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let body: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        body.join("\n")
    )
}

#[test]
fn assertions_verify_with_pyjwt_and_match_msal_python_shape() {
    let now = OffsetDateTime::now_utc();
    let cert = TestCert::generate(
        "python-interop",
        now - Duration::hours(1),
        Duration::days(30),
    );
    let signer = cert.signer();
    let aud = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
    let client_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    let make = |profile| {
        client_assertion(
            &signer,
            client_id,
            aud,
            AssertionOptions {
                profile,
                include_x5c: false,
            },
            now,
        )
        .unwrap()
        .expose()
        .to_owned()
    };
    let spec = json!({
        "cert_pem": cert.pem(),
        "key_pem": pem("PRIVATE KEY", &cert.pkcs8),
        "aud": aud,
        "client_id": client_id,
        "assertions": {"RS256": make(AssertionProfile::Rs256X5t), "PS256": make(AssertionProfile::Ps256X5tS256)},
    });
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/compare_assertion.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();

    for (alg, thumb) in [("RS256", "x5t"), ("PS256", "x5t#S256")] {
        let r = &report[alg];
        assert_eq!(r["verified_by_pyjwt"], true);
        let names = |v: &Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            names(&r["ours_header"]),
            names(&r["msal_header"]),
            "{alg} header fields"
        );
        assert_eq!(r["ours_header"]["alg"], r["msal_header"]["alg"]);
        assert_eq!(r["ours_header"]["typ"], r["msal_header"]["typ"]);
        // MSAL pads the thumbprint with '='; the digest is the same.
        let strip = |v: &Value| v.as_str().unwrap().trim_end_matches('=').to_owned();
        assert_eq!(
            strip(&r["ours_header"][thumb]),
            strip(&r["msal_header"][thumb]),
            "{alg} {thumb}"
        );
        // MSAL Python sends no nbf by default; tenantlink adds it as MSAL.NET does. Otherwise
        // the claim names are identical.
        let ours: Vec<String> = serde_json::from_value(r["ours_claims"].clone()).unwrap();
        let msal: Vec<String> = serde_json::from_value(r["msal_claims"].clone()).unwrap();
        let ours_without_nbf: Vec<String> = ours.iter().filter(|c| *c != "nbf").cloned().collect();
        assert_eq!(ours_without_nbf, msal, "{alg} claim names");
        assert!(ours.contains(&"nbf".to_owned()));
        assert_eq!(r["ours_lifetime"].as_f64(), Some(600.0));
        assert!((r["msal_lifetime"].as_f64().unwrap() - 600.0).abs() < 1.0);
    }
}
