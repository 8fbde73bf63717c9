//! `tenantlink entra …` from the outside: bad targets are refused before any network call, and
//! failures print the kind, the cause, what it means and what to do, with exit status 1.

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
