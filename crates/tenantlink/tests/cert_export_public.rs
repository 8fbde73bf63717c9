//! `tenantlink cert export-public`: the public certificate, byte for byte what OpenSSL extracts.

mod cert_support;
mod openssl_support;

use cert_support::*;
use std::path::Path;

const PASSWORD: &str = "export-secret";

/// A key and self-signed certificate made by OpenSSL 3, packed as a default (AES-256) PFX.
fn openssl_credential(dir: &Path) -> OpensslCredential {
    cert_support::openssl_credential(dir, "/CN=export-test", 2048, PASSWORD)
}

fn openssl_der(cert_pem: &Path, dir: &Path) -> Vec<u8> {
    let der = dir.join("expected.der");
    openssl(&[
        "x509",
        "-in",
        path_str(cert_pem),
        "-outform",
        "DER",
        "-out",
        path_str(&der),
    ])
    .assert_success();
    std::fs::read(der).unwrap()
}

#[test]
fn der_export_of_a_pfx_equals_the_der_openssl_extracts() {
    let dir = tempfile::tempdir().unwrap();
    let credential = openssl_credential(dir.path());
    let out = dir.path().join("app.cer");
    tenantlink(&[
        "cert",
        "export-public",
        path_str(&credential.pfx),
        "--password-file",
        path_str(&credential.password_file),
        "--out",
        path_str(&out),
    ])
    .assert_success();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        openssl_der(&credential.cert_pem, dir.path())
    );
}

#[test]
fn pem_export_of_a_pfx_equals_the_pem_openssl_writes() {
    let dir = tempfile::tempdir().unwrap();
    let credential = openssl_credential(dir.path());
    let out = dir.path().join("app.pem");
    tenantlink_with_stdin(
        &[
            "cert",
            "export-public",
            path_str(&credential.pfx),
            "--password-stdin",
            "--out",
            path_str(&out),
            "--pem",
        ],
        Some(format!("{PASSWORD}\n").as_bytes()),
    )
    .assert_success();
    let reformatted = openssl(&["x509", "-in", path_str(&credential.cert_pem)]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        reformatted.assert_success().stdout_text()
    );
    assert!(
        !std::fs::read_to_string(&out)
            .unwrap()
            .contains("PRIVATE KEY")
    );
}

#[test]
fn pem_and_der_certificates_export_without_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let credential = openssl_credential(dir.path());
    let expected_der = openssl_der(&credential.cert_pem, dir.path());
    let der_input = dir.path().join("input.der");
    std::fs::write(&der_input, &expected_der).unwrap();

    for input in [&credential.cert_pem, &der_input] {
        let out = dir.path().join("out.cer");
        tenantlink(&[
            "cert",
            "export-public",
            path_str(input),
            "--out",
            path_str(&out),
        ])
        .assert_success();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            expected_der,
            "{}",
            input.display()
        );
        std::fs::remove_file(&out).unwrap();
    }
}

#[test]
fn wrong_password_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let credential = openssl_credential(dir.path());
    let wrong = write_password_file(dir.path(), "wrong.txt", "not-it");
    let out = dir.path().join("app.cer");
    let run = tenantlink(&[
        "cert",
        "export-public",
        path_str(&credential.pfx),
        "--password-file",
        path_str(&wrong),
        "--out",
        path_str(&out),
    ]);
    run.assert_error_kind("wrong_password");
    assert!(!out.exists());
    assert!(run.stdout.is_empty());
}

#[test]
fn existing_output_is_not_replaced_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let credential = openssl_credential(dir.path());
    let out = dir.path().join("app.cer");
    std::fs::write(&out, b"keep me").unwrap();
    let args = [
        "cert",
        "export-public",
        path_str(&credential.pfx),
        "--password-file",
        path_str(&credential.password_file),
        "--out",
        path_str(&out),
    ];
    tenantlink(&args).assert_error_kind("output_exists");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");

    let mut forced = args.to_vec();
    forced.push("--force");
    tenantlink(&forced).assert_success();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        openssl_der(&credential.cert_pem, dir.path())
    );
}

#[test]
fn garbage_input_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("garbage.bin");
    std::fs::write(&input, b"this is not a certificate at all").unwrap();
    let out = dir.path().join("app.cer");
    let run = tenantlink(&[
        "cert",
        "export-public",
        path_str(&input),
        "--out",
        path_str(&out),
    ]);
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(!out.exists());
}
