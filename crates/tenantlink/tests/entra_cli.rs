//! `tenantlink entra …` from the outside: bad targets are refused before any network call, and
//! failures print the kind, the cause, what it means and what to do, with exit status 1.

mod openssl_support;

use openssl_support::openssl;
use std::process::Command;

fn tenantlink(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenantlink"))
        .args(args)
        .output()
        .expect("run tenantlink");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plain_http_to_a_remote_authority_is_refused() {
    let (code, stdout, stderr) = tenantlink(&[
        "entra",
        "device-login",
        "--tenant",
        "contoso.onmicrosoft.com",
        "--client-id",
        "c",
        "--authority",
        "http://login.example.com",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("error: invalid_argument:"), "{stderr}");
    assert!(stderr.contains("plain http"), "{stderr}");
}

#[test]
fn unknown_cloud_is_refused_with_the_valid_names() {
    let (code, _, stderr) = tenantlink(&[
        "entra",
        "device-login",
        "--tenant",
        "t",
        "--client-id",
        "c",
        "--cloud",
        "mars",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("global, usgov or china"), "{stderr}");
}

#[test]
fn an_unreachable_authority_is_explained() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, stderr) = tenantlink(&[
        "entra",
        "device-login",
        "--tenant",
        "t",
        "--client-id",
        "c",
        "--authority",
        &format!("http://127.0.0.1:{port}"),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("error: network:"), "{stderr}");
    assert!(
        stderr.contains("what it means:") && stderr.contains("what to do:"),
        "{stderr}"
    );
}

#[test]
fn token_reports_a_missing_certificate_file() {
    let (code, _, stderr) = tenantlink(&[
        "entra",
        "token",
        "--tenant",
        "t",
        "--client-id",
        "c",
        "--cert",
        "/nonexistent/app.pfx",
        "--authority",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/nonexistent/app.pfx"), "{stderr}");
}

/// `openssl req -x509` in `dir`: (certificate PEM, PKCS#8 key PEM) paths.
fn openssl_cert(dir: &std::path::Path, name: &str, key_args: &[&str]) -> (String, String) {
    let cert = dir.join(format!("{name}.pem")).to_str().unwrap().to_owned();
    let key = dir
        .join(format!("{name}-key.pem"))
        .to_str()
        .unwrap()
        .to_owned();
    let mut args = vec![
        "req", "-x509", "-days", "2", "-subj", "/CN=t", "-keyout", &key, "-out", &cert,
    ];
    args.extend_from_slice(key_args);
    openssl(&args);
    (cert, key)
}

fn token_pem(cert: &str, key: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "entra",
        "token",
        "--tenant",
        "t",
        "--client-id",
        "c",
        "--authority",
        // Nothing listens on port 9: every case must be refused before any request.
        "http://127.0.0.1:9",
        "--cert-pem",
        cert,
        "--key-pem",
        key,
    ];
    args.extend_from_slice(extra);
    tenantlink(&args)
}

#[test]
fn token_refuses_a_pem_key_that_belongs_to_another_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = openssl_cert(dir.path(), "a", &["-newkey", "rsa:2048", "-nodes"]);
    let (_, other_key) = openssl_cert(dir.path(), "b", &["-newkey", "rsa:2048", "-nodes"]);
    let (code, stdout, stderr) = token_pem(&cert, &other_key, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.starts_with("error: key_mismatch: "), "{stderr}");
    assert!(
        stderr.contains(&other_key) && stderr.contains(&cert),
        "{stderr}"
    );
}

#[test]
fn token_refuses_an_encrypted_pem_key_and_says_to_use_a_pfx() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_cert(
        dir.path(),
        "enc",
        &["-newkey", "rsa:2048", "-passout", "pass:secret"],
    );
    let (code, _, stderr) = token_pem(&cert, &key, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("error: encrypted_key: "), "{stderr}");
    assert!(stderr.contains("openssl pkcs12 -export"), "{stderr}");
}

#[test]
fn token_refuses_a_pem_certificate_that_is_not_rsa() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_cert(
        dir.path(),
        "ec",
        &[
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ],
    );
    let (code, _, stderr) = token_pem(&cert, &key, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("error: not_rsa: "), "{stderr}");
    assert!(stderr.contains("only RSA keys"), "{stderr}");
}

#[test]
fn token_pem_flags_go_together_and_take_no_password() {
    let (code, _, stderr) = tenantlink(&[
        "entra",
        "token",
        "--tenant",
        "t",
        "--client-id",
        "c",
        "--cert-pem",
        "c.pem",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--key-pem"), "{stderr}");
    let (code, _, stderr) = token_pem("c.pem", "k.pem", &["--password-stdin"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
