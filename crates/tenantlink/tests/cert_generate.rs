//! `tenantlink cert generate`: the PFX it writes is read by OpenSSL 3 (without `-legacy`) and by
//! Python `cryptography`, and the certificate has every property Entra ID expects.

mod cert_support;
mod openssl_support;

use cert_support::*;
use std::path::Path;

const PASSWORD: &str = "correct horse ✓ battery";

fn generate(dir: &Path, extra: &[&str]) -> (std::path::PathBuf, std::path::PathBuf, Run) {
    let pfx = dir.join("app.pfx");
    let password_file = write_password_file(dir, "password.txt", PASSWORD);
    let mut args = vec![
        "cert",
        "generate",
        "--out",
        path_str(&pfx),
        "--password-file",
        path_str(&password_file),
    ];
    args.extend_from_slice(extra);
    let run = tenantlink(&args);
    (pfx, password_file, run)
}

fn openssl_pkcs12(pfx: &Path, password_file: &Path, selection: &str) -> Run {
    // Deliberately no `-legacy`: OpenSSL 3 defaults must read what we write.
    openssl(&[
        "pkcs12",
        "-in",
        path_str(pfx),
        "-passin",
        &format!("file:{}", path_str(password_file)),
        selection,
        "-nodes",
    ])
}

#[test]
fn generated_pfx_is_read_by_openssl3_without_legacy_provider() {
    let dir = tempfile::tempdir().unwrap();
    let (pfx, password_file, run) = generate(dir.path(), &["--subject", "CN=backup-app"]);
    run.assert_success();

    let certs = openssl_pkcs12(&pfx, &password_file, "-nokeys");
    certs.assert_success();
    let certs_pem = certs.stdout_text();
    assert_eq!(
        certs_pem.matches("BEGIN CERTIFICATE").count(),
        1,
        "{certs_pem}"
    );

    let keys = openssl_pkcs12(&pfx, &password_file, "-nocerts");
    keys.assert_success();
    let key_pem = keys.stdout_text();
    assert!(key_pem.contains("BEGIN PRIVATE KEY"), "{key_pem}");

    // The key OpenSSL decrypted belongs to the certificate OpenSSL extracted.
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, &certs_pem).unwrap();
    std::fs::write(&key_file, &key_pem).unwrap();
    let cert_pub = openssl(&["x509", "-in", path_str(&cert_file), "-noout", "-pubkey"]);
    let key_pub = openssl(&["pkey", "-in", path_str(&key_file), "-pubout"]);
    assert_eq!(
        cert_pub.assert_success().stdout,
        key_pub.assert_success().stdout
    );

    // The summary names the same certificate.
    let summary = run.stdout_text();
    let sha1 = openssl_fingerprint(&cert_file, "PEM", "sha1");
    let sha256 = openssl_fingerprint(&cert_file, "PEM", "sha256");
    assert!(summary.contains(&sha1), "summary lacks {sha1}:\n{summary}");
    assert!(
        summary.contains(&sha256),
        "summary lacks {sha256}:\n{summary}"
    );
}

#[test]
fn generated_pfx_uses_aes256_pbkdf2_and_sha256_mac() {
    let dir = tempfile::tempdir().unwrap();
    let (pfx, password_file, run) = generate(dir.path(), &[]);
    run.assert_success();
    let info = openssl(&[
        "pkcs12",
        "-in",
        path_str(&pfx),
        "-passin",
        &format!("file:{}", path_str(&password_file)),
        "-info",
        "-noout",
    ]);
    info.assert_success();
    // `-info` writes its description to stderr.
    let description = info.stderr.clone();
    assert!(description.contains("MAC: sha256"), "{description}");
    assert!(
        description.contains("PBES2, PBKDF2, AES-256-CBC"),
        "{description}"
    );
    assert!(!description.contains("RC2"), "{description}");
    assert!(!description.contains("3DES"), "{description}");
}

#[test]
fn generated_pfx_is_read_by_python_cryptography() {
    let dir = tempfile::tempdir().unwrap();
    let (pfx, password_file, run) = generate(dir.path(), &["--subject", "CN=py-reader"]);
    run.assert_success();
    let script = r#"
import sys
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
data = open(sys.argv[1], "rb").read()
password = open(sys.argv[2], "rb").read()[:-1]
key, cert, extra = pkcs12.load_key_and_certificates(data, password)
assert isinstance(key, rsa.RSAPrivateKey), type(key)
assert key.public_key().public_numbers() == cert.public_key().public_numbers()
print(cert.fingerprint(hashes.SHA1()).hex().upper())
print(cert.subject.rfc4514_string())
print(len(extra))
"#;
    let read = python_script(script, &[path_str(&pfx), path_str(&password_file)]);
    read.assert_success();
    let lines: Vec<String> = read.stdout_text().lines().map(str::to_owned).collect();
    assert!(
        run.stdout_text().contains(&lines[0]),
        "summary thumbprint differs from cryptography's {}",
        lines[0]
    );
    assert_eq!(lines[1], "CN=py-reader");
    assert_eq!(lines[2], "0");
}

#[test]
fn generated_certificate_has_the_properties_entra_expects() {
    let dir = tempfile::tempdir().unwrap();
    let (pfx, password_file, run) = generate(
        dir.path(),
        &["--subject", "CN=contoso-backup", "--days", "90"],
    );
    run.assert_success();
    let certs = openssl_pkcs12(&pfx, &password_file, "-nokeys");
    let cert_file = dir.path().join("cert.pem");
    std::fs::write(&cert_file, certs.assert_success().stdout.clone()).unwrap();
    let text = openssl(&["x509", "-in", path_str(&cert_file), "-noout", "-text"]);
    let text = text.assert_success().stdout_text();

    assert!(text.contains("Version: 3 (0x2)"), "{text}");
    assert!(
        text.contains("Signature Algorithm: sha256WithRSAEncryption"),
        "{text}"
    );
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    assert!(text.contains("Subject: CN = contoso-backup"), "{text}");
    assert!(text.contains("Issuer: CN = contoso-backup"), "{text}");
    assert!(
        text.contains("X509v3 Key Usage: critical\n                Digital Signature\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "X509v3 Extended Key Usage: \n                TLS Web Client Authentication\n"
        ),
        "{text}"
    );
    assert!(text.contains("X509v3 Subject Key Identifier:"), "{text}");

    // Serial: 16 bytes, positive (no leading bit set, so no sign byte is needed).
    let serial = openssl(&["x509", "-in", path_str(&cert_file), "-noout", "-serial"]);
    let serial = serial.assert_success().stdout_text();
    let hex = serial.trim().strip_prefix("serial=").expect("serial= line");
    assert_eq!(hex.len(), 32, "16-byte serial expected, got {hex}");
    let first = u8::from_str_radix(&hex[..2], 16).unwrap();
    assert!(first < 0x80, "serial must be positive: {hex}");

    // Validity: starts a few minutes in the past, lasts the requested 90 days.
    let dates = python_script(
        r#"
import sys, datetime
from cryptography import x509
cert = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
now = datetime.datetime.now(datetime.timezone.utc)
print((now - cert.not_valid_before_utc).total_seconds())
print((cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds())
"#,
        &[path_str(&cert_file)],
    );
    let dates = dates.assert_success().stdout_text();
    let mut numbers = dates.lines().map(|l| l.parse::<f64>().unwrap());
    let started_ago = numbers.next().unwrap();
    let lifetime = numbers.next().unwrap();
    assert!(
        (60.0..=30.0 * 60.0).contains(&started_ago),
        "not_before should be minutes in the past, is {started_ago}s ago"
    );
    let ninety_days = 90.0 * 86_400.0;
    assert!(
        lifetime >= ninety_days && lifetime <= ninety_days + 3_600.0,
        "lifetime {lifetime}s for --days 90"
    );
}

#[test]
fn key_size_option_selects_the_modulus() {
    let dir = tempfile::tempdir().unwrap();
    let (pfx, password_file, run) = generate(dir.path(), &["--key-size", "3072"]);
    run.assert_success();
    let keys = openssl_pkcs12(&pfx, &password_file, "-nocerts");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&key_file, keys.assert_success().stdout.clone()).unwrap();
    let text = openssl(&["pkey", "-in", path_str(&key_file), "-noout", "-text"]);
    assert!(
        text.assert_success()
            .stdout_text()
            .contains("Private-Key: (3072 bit")
    );
}

#[test]
fn rejected_key_size_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (pfx, _, run) = generate(dir.path(), &["--key-size", "1024"]);
    let message = run.assert_error_kind("invalid_key_size");
    assert!(message.contains("1024"), "{message}");
    assert!(!pfx.exists());
}

#[test]
fn password_from_stdin_protects_the_pfx() {
    let dir = tempfile::tempdir().unwrap();
    let pfx = dir.path().join("stdin.pfx");
    let run = tenantlink_with_stdin(
        &[
            "cert",
            "generate",
            "--out",
            path_str(&pfx),
            "--password-stdin",
        ],
        Some(format!("{PASSWORD}\n").as_bytes()),
    );
    run.assert_success();
    let password_file = write_password_file(dir.path(), "pw", PASSWORD);
    openssl_pkcs12(&pfx, &password_file, "-nokeys").assert_success();
    let wrong = write_password_file(dir.path(), "wrong", "not the password");
    assert_ne!(openssl_pkcs12(&pfx, &wrong, "-nokeys").code, Some(0));
}

#[test]
fn refuses_to_overwrite_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let pfx = dir.path().join("app.pfx");
    std::fs::write(&pfx, b"precious").unwrap();
    let (_, _, run) = generate(dir.path(), &[]);
    let message = run.assert_error_kind("output_exists");
    assert!(message.contains("--force"), "{message}");
    assert_eq!(std::fs::read(&pfx).unwrap(), b"precious");
    assert!(run.stdout.is_empty());

    let (_, password_file, forced) = generate(dir.path(), &["--force"]);
    forced.assert_success();
    openssl_pkcs12(&pfx, &password_file, "-nokeys").assert_success();
}

#[cfg(unix)]
#[test]
fn pfx_is_private_to_its_owner_and_no_temporary_file_remains() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (pfx, password_file, run) = generate(dir.path(), &[]);
    run.assert_success();
    let mode = std::fs::metadata(&pfx).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert_eq!(names, {
        let mut expected = vec![pfx.clone(), password_file.clone()];
        expected.sort();
        expected
    });
}

#[test]
fn bad_subject_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for subject in ["O=Contoso", "CN=app,O=Contoso", "CN="] {
        let (pfx, _, run) = generate(dir.path(), &["--subject", subject]);
        let message = run.assert_error_kind("invalid_subject");
        assert!(message.contains("CN="), "{message}");
        assert!(!pfx.exists());
    }
}

#[test]
fn missing_password_file_is_an_error_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let pfx = dir.path().join("app.pfx");
    let missing = dir.path().join("no-such-password");
    let run = tenantlink(&[
        "cert",
        "generate",
        "--out",
        path_str(&pfx),
        "--password-file",
        path_str(&missing),
    ]);
    run.assert_error_kind("password_unreadable");
    assert!(!pfx.exists());
}

#[test]
fn password_is_never_accepted_as_an_argument() {
    let dir = tempfile::tempdir().unwrap();
    let pfx = dir.path().join("app.pfx");
    let run = tenantlink(&[
        "cert",
        "generate",
        "--out",
        path_str(&pfx),
        "--password",
        "hunter2",
    ]);
    assert_ne!(run.code, Some(0));
    assert!(!pfx.exists());
    let both = tenantlink(&[
        "cert",
        "generate",
        "--out",
        path_str(&pfx),
        "--password-file",
        "x",
        "--password-stdin",
    ]);
    assert_ne!(
        both.code,
        Some(0),
        "the two password sources exclude each other"
    );
    assert!(!pfx.exists());
}

#[test]
fn without_a_password_source_the_pfx_uses_the_empty_password_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let pfx = dir.path().join("open.pfx");
    let run = tenantlink(&["cert", "generate", "--out", path_str(&pfx)]);
    run.assert_success();
    assert!(
        run.stderr.starts_with("warning: ") && run.stderr.contains("empty password"),
        "{}",
        run.stderr
    );
    // Still encrypted (with the empty password), as Windows' "no password" exports are.
    let info = openssl(&[
        "pkcs12",
        "-in",
        path_str(&pfx),
        "-passin",
        "pass:",
        "-info",
        "-noout",
    ]);
    assert!(
        info.assert_success()
            .stderr
            .contains("PBES2, PBKDF2, AES-256-CBC"),
        "{}",
        info.stderr
    );
}
