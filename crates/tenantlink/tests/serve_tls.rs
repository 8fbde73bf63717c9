//! The portal over HTTPS: with a certificate and key configured, sign-in works for a client that
//! trusts the CA and the session cookie carries `Secure`; without TLS it does not; a bad file
//! stops the start with its name.

mod config_support;
mod openssl_support;
mod sandbox_process;

use config_support::{Serve, log_in, portal_pki, serve_refuses};
use sandbox_process::trusting;

#[tokio::test(flavor = "multi_thread")]
async fn https_sign_in_sets_a_secure_session_cookie_and_plain_http_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = portal_pki(dir.path());
    let data = dir.path().join("tls-data");
    let tls = Serve::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--tls-cert",
            cert.to_str().unwrap(),
        ],
        &[("TENANTLINK_TLS_KEY", key.to_str().unwrap())],
    );
    assert!(tls.base.starts_with("https://127.0.0.1:"), "{}", tls.base);

    let (set_cookie, _, _) = log_in(&trusting(&ca), &tls.base).await;
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(
        set_cookie.starts_with("__Host-tenantlink_session="),
        "{set_cookie}"
    );
    assert!(attributes.contains(&"Path=/"), "{set_cookie}");
    assert!(attributes.contains(&"Secure"), "{set_cookie}");
    let page = trusting(&ca)
        .get(format!("{}/login", tls.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    assert!(attributes.contains(&"HttpOnly"), "{set_cookie}");
    assert!(attributes.contains(&"SameSite=Strict"), "{set_cookie}");

    // A client that does not trust the CA is refused by TLS itself, and plain HTTP on the
    // HTTPS port gets no page.
    let untrusting = reqwest::Client::new();
    assert!(
        untrusting
            .get(format!("{}/login", tls.base))
            .send()
            .await
            .is_err()
    );
    let plain = tls.base.replacen("https://", "http://", 1);
    let answered = untrusting.get(format!("{plain}/login")).send().await;
    assert!(
        answered.map_or(true, |r| !r.status().is_success()),
        "plain HTTP must not serve the portal"
    );

    let data = dir.path().join("plain-data");
    let plain = Serve::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    assert!(plain.base.starts_with("http://"), "{}", plain.base);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (set_cookie, _, _) = log_in(&no_redirects, &plain.base).await;
    let attributes: Vec<&str> = set_cookie.split(';').map(str::trim).collect();
    assert!(!attributes.contains(&"Secure"), "{set_cookie}");
    assert!(
        set_cookie.starts_with("tenantlink_session="),
        "{set_cookie}"
    );
    assert!(attributes.contains(&"HttpOnly"), "{set_cookie}");
}

#[test]
fn bad_certificate_or_key_files_are_named_and_nothing_listens() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = portal_pki(dir.path());
    let data = dir.path().join("data");
    let start = |cert: &std::path::Path, key: &std::path::Path| {
        serve_refuses(
            &[
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                data.to_str().unwrap(),
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
            ],
            &[],
        )
    };

    let missing = dir.path().join("missing.pem");
    let stderr = start(&missing, &key);
    assert!(
        stderr.starts_with(&format!(
            "error: config: cannot read the TLS certificate file {}",
            missing.display()
        )),
        "{stderr}"
    );
    // A key file others may read is refused before its content is looked at (the
    // certificate, mode 0644, given as the key).
    let stderr = start(&cert, &cert);
    assert!(
        stderr.starts_with(&format!(
            "error: config: the TLS private key file {path} is readable or writable by group or others (mode 644); run `chmod 600 {path}`",
            path = cert.display()
        )),
        "{stderr}"
    );
    let cert_as_key = dir.path().join("cert-as-key.pem");
    std::fs::copy(&cert, &cert_as_key).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&cert_as_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let stderr = start(&cert, &cert_as_key);
    assert!(
        stderr.contains(&format!(
            "the TLS private key file {} holds no usable private key",
            cert_as_key.display()
        )),
        "{stderr}"
    );
    let ca_key = dir.path().join("ca-key.pem");
    let stderr = start(&cert, &ca_key);
    assert!(
        stderr.contains(&format!(
            "the TLS private key {} does not fit the certificate {}",
            ca_key.display(),
            cert.display()
        )),
        "{stderr}"
    );
    let stderr = start(&key, &key);
    assert!(
        stderr.contains(&format!(
            "the TLS certificate file {} holds no certificate",
            key.display()
        )),
        "{stderr}"
    );
    assert!(!data.exists(), "a refused start creates nothing");
}
