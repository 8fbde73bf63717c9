//! `tenantlink cert inspect` on files made by OpenSSL at test time: the output contract (fields,
//! JSON shape, exit codes, error lines) and the password sources.

mod cert_support;
mod openssl_support;

use cert_support::*;
use std::path::{Path, PathBuf};

const PASSWORD: &str = "inspect-me";

struct Made {
    pfx: PathBuf,
    password_file: PathBuf,
    cert_pem: PathBuf,
    cert_der: PathBuf,
}

fn make_openssl_files(dir: &Path) -> Made {
    let credential = openssl_credential(dir, "/CN=inspect-test", 3072, PASSWORD);
    let cert_der = dir.join("cert.der");
    openssl(&[
        "x509",
        "-in",
        path_str(&credential.cert_pem),
        "-outform",
        "DER",
        "-out",
        path_str(&cert_der),
    ])
    .assert_success();
    Made {
        pfx: credential.pfx,
        password_file: credential.password_file,
        cert_pem: credential.cert_pem,
        cert_der,
    }
}

fn assert_exact_fields(json: &serde_json::Value) {
    let object = json.as_object().expect("one JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = INSPECT_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
}

#[test]
fn json_of_an_openssl3_pfx_has_exactly_the_documented_fields_and_openssl_thumbprints() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_openssl_files(dir.path());
    let run = tenantlink(&[
        "cert",
        "inspect",
        path_str(&made.pfx),
        "--password-file",
        path_str(&made.password_file),
        "--json",
    ]);
    run.assert_success();
    let json = run.json();
    assert_exact_fields(&json);
    assert_eq!(json["subject"], "CN=inspect-test");
    assert_eq!(json["issuer"], "CN=inspect-test");
    assert_eq!(json["key_type"], "rsa");
    assert_eq!(json["key_bits"], 3072);
    assert_eq!(json["has_private_key"], true);
    assert_eq!(json["chain_len"], 1);
    assert_eq!(json["problems"], serde_json::json!([]));
    assert_eq!(
        json["sha1_thumbprint"],
        openssl_fingerprint(&made.cert_pem, "PEM", "sha1")
    );
    assert_eq!(
        json["sha256_thumbprint"],
        openssl_fingerprint(&made.cert_pem, "PEM", "sha256")
    );
    let serial = openssl(&["x509", "-in", path_str(&made.cert_pem), "-noout", "-serial"]);
    let serial = serial.assert_success().stdout_text();
    assert_eq!(
        json["serial"].as_str().unwrap().to_uppercase(),
        serial.trim().trim_start_matches("serial=")
    );
    for field in ["not_before", "not_after"] {
        let text = json[field].as_str().unwrap();
        assert!(
            text.len() >= 20 && text.as_bytes()[10] == b'T' && text.ends_with('Z'),
            "{field} is not RFC 3339 UTC: {text}"
        );
    }
    let x5t = json["x5t"].as_str().unwrap();
    assert_eq!(
        x5t.len(),
        27,
        "base64url of 20 bytes without padding: {x5t}"
    );
    assert!(!x5t.contains('=') && !x5t.contains('+') && !x5t.contains('/'));
    assert_eq!(json["x5t_s256"].as_str().unwrap().len(), 43);
}

#[test]
fn text_output_names_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_openssl_files(dir.path());
    let run = tenantlink(&[
        "cert",
        "inspect",
        path_str(&made.pfx),
        "--password-file",
        path_str(&made.password_file),
    ]);
    let text = run.assert_success().stdout_text();
    for field in INSPECT_FIELDS {
        assert!(
            text.lines()
                .any(|line| line.starts_with(&format!("{field}:"))),
            "no {field}: line in\n{text}"
        );
    }
    assert!(text.contains(&openssl_fingerprint(&made.cert_pem, "PEM", "sha1")));
}

#[test]
fn password_from_stdin_and_from_file_give_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_openssl_files(dir.path());
    let from_file = tenantlink(&[
        "cert",
        "inspect",
        path_str(&made.pfx),
        "--password-file",
        path_str(&made.password_file),
        "--json",
    ]);
    let from_stdin = tenantlink_with_stdin(
        &[
            "cert",
            "inspect",
            path_str(&made.pfx),
            "--password-stdin",
            "--json",
        ],
        Some(format!("{PASSWORD}\n").as_bytes()),
    );
    from_stdin.assert_success();
    assert_eq!(from_file.assert_success().json(), from_stdin.json());
}

#[test]
fn password_file_loses_only_one_trailing_newline() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_openssl_files(dir.path());
    let two_newlines = dir.path().join("two-newlines.txt");
    std::fs::write(&two_newlines, format!("{PASSWORD}\n\n")).unwrap();
    let run = tenantlink(&[
        "cert",
        "inspect",
        path_str(&made.pfx),
        "--password-file",
        path_str(&two_newlines),
    ]);
    run.assert_error_kind("wrong_password");
}

#[test]
fn wrong_password_and_not_pkcs12_are_different_errors() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_openssl_files(dir.path());
    let wrong = write_password_file(dir.path(), "wrong.txt", "guess");
    let wrong_run = tenantlink(&[
        "cert",
        "inspect",
        path_str(&made.pfx),
        "--password-file",
        path_str(&wrong),
        "--json",
    ]);
    let wrong_message = wrong_run.assert_error_kind("wrong_password");
    assert!(wrong_message.contains("password"), "{wrong_message}");
    let wrong_json = wrong_run.json();
    assert_exact_fields(&wrong_json);
    assert_eq!(wrong_json["problems"][0]["kind"], "wrong_password");

    let garbage = dir.path().join("garbage.pfx");
    std::fs::write(
        &garbage,
        vec![0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef],
    )
    .unwrap();
    let garbage_run = tenantlink(&[
        "cert",
        "inspect",
        path_str(&garbage),
        "--password-file",
        path_str(&wrong),
    ]);
    let garbage_message = garbage_run.assert_error_kind("not_pkcs12");
    assert_ne!(wrong_message, garbage_message);
    assert!(
        !garbage_message.contains("wrong password"),
        "{garbage_message}"
    );
}

#[test]
fn pem_and_der_certificates_are_acceptable_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_openssl_files(dir.path());
    let mut outputs = Vec::new();
    for input in [&made.cert_pem, &made.cert_der] {
        let run = tenantlink(&["cert", "inspect", path_str(input), "--json"]);
        run.assert_success();
        let json = run.json();
        assert_exact_fields(&json);
        assert_eq!(json["has_private_key"], false);
        assert_eq!(json["problems"], serde_json::json!([]));
        assert_eq!(
            json["sha256_thumbprint"],
            openssl_fingerprint(&made.cert_der, "DER", "sha256")
        );
        outputs.push(json);
    }
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn a_pem_certificate_below_2048_bits_exits_non_zero_with_its_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("small.pem");
    let key = dir.path().join("small.key");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:1024",
        "-nodes",
        "-keyout",
        path_str(&key),
        "-out",
        path_str(&cert),
        "-subj",
        "/CN=small",
        "-days",
        "30",
    ])
    .assert_success();
    let run = tenantlink(&["cert", "inspect", path_str(&cert), "--json"]);
    run.assert_error_kind("rsa_too_small");
    let json = run.json();
    assert_eq!(json["key_bits"], 1024);
    assert_eq!(json["problems"][0]["kind"], "rsa_too_small");
    assert!(
        json["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2048")
    );
}

#[test]
fn input_over_one_mebibyte_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pfx");
    std::fs::write(&big, vec![0x30u8; 1024 * 1024 + 1]).unwrap();
    tenantlink(&["cert", "inspect", path_str(&big)]).assert_error_kind("too_large");
}

#[test]
fn missing_input_file_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = tenantlink(&["cert", "inspect", path_str(&dir.path().join("absent.pfx"))]);
    let message = run.assert_error_kind("input_unreadable");
    assert!(message.contains("absent.pfx"), "{message}");
    assert!(run.stdout.is_empty());
}

#[test]
fn every_cert_command_has_useful_help() {
    for (args, needle) in [
        (vec!["cert", "--help"], "inspect"),
        (vec!["cert", "generate", "--help"], "--key-size"),
        (vec!["cert", "inspect", "--help"], "--json"),
        (vec!["cert", "export-public", "--help"], "--pem"),
    ] {
        let run = tenantlink(&args);
        let text = run.assert_success().stdout_text();
        assert!(
            text.contains(needle),
            "{args:?} help lacks {needle}:\n{text}"
        );
        assert!(text.contains("--password") || args.len() == 2, "{text}");
    }
}
